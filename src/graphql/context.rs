//! What resolvers reach through the async-graphql context: the request's principal, its one
//! tenant transaction, its loaders and its metadata.

use std::{
    net::IpAddr,
    sync::{Arc, OnceLock},
};

use async_graphql::{Context, dataloader::DataLoader};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};

use super::loader::TenantLoader;
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    tenancy::{LazyTenantTx, Principal, TenantConnection, TenantTx},
};

/// Facts about the HTTP request, for the audit log and error reports.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// An HTTP request's one transaction. Begun before execution for a signed-in caller; for a
/// sign-in (`login`, `signUp`, `refreshSession`) begun by the resolver only once the caller is
/// proven, so no connection is held across argon2 or a second connection's lookup.
pub type RequestTransaction = OnceLock<TenantTx>;

/// Where a request's statements run.
#[derive(Clone)]
pub enum RequestTx {
    /// An HTTP request's one transaction.
    Request(Arc<RequestTransaction>),
    /// A subscription's: a short transaction per delivered batch, for its loaders only.
    PerBatch(Arc<LazyTenantTx>),
}

impl RequestTx {
    pub async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Request(tx) => match tx.get() {
                Some(tx) => tx.conn().query_all_raw(statement).await,
                None => Err(DbErr::Custom("the request transaction is not open".into())),
            },
            Self::PerBatch(tx) => tx.query_all(statement).await,
        }
    }
}

/// Created per request (or subscription) and dropped with it: loaders must never outlive
/// their tenant.
pub struct RequestContext {
    pub principal: Option<Principal>,
    pub tx: RequestTx,
    pub loader: Option<DataLoader<TenantLoader>>,
    pub meta: RequestMeta,
}

pub trait ContextExt {
    fn request(&self) -> &RequestContext;
    fn app(&self) -> &AppState;

    /// The request's transaction: the tenant is already set on it. Subscriptions have none
    /// (their fields resolve through loaders).
    fn db(&self) -> ApiResult<&TenantConnection> {
        self.tenant_tx().map(TenantTx::conn)
    }

    fn tenant_tx(&self) -> ApiResult<&TenantTx> {
        match &self.request().tx {
            RequestTx::Request(tx) => tx.get().ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("the request transaction is not open"))
            }),
            RequestTx::PerBatch(_) => Err(ApiError::internal(anyhow::anyhow!(
                "a subscription field asked for the request transaction"
            ))),
        }
    }

    /// The authenticated principal, or UNAUTHENTICATED.
    fn principal(&self) -> ApiResult<&Principal> {
        self.request()
            .principal
            .as_ref()
            .ok_or(ApiError::Unauthenticated)
    }

    /// A principal allowed to change CRM data.
    fn writer(&self) -> ApiResult<&Principal> {
        let principal = self.principal()?;
        principal.require_write()?;
        Ok(principal)
    }

    /// The request's principal, if it may write, acting through a service in the request's
    /// transaction.
    fn acting(&self) -> ApiResult<crate::service::Acting<'_>> {
        self.acting_as(self.writer()?)
    }

    /// The request's principal, if it is a MANAGER or above, acting through a service in the
    /// request's transaction.
    fn acting_manager(&self) -> ApiResult<crate::service::Acting<'_>> {
        let principal = self.principal()?;
        principal.require_manager()?;
        self.acting_as(principal)
    }

    /// The request's principal, if it may manage users, keys, webhooks and the organization,
    /// acting through a service in the request's transaction.
    fn acting_admin(&self) -> ApiResult<crate::service::Acting<'_>> {
        self.acting_as(self.admin()?)
    }

    fn acting_as<'a>(&'a self, principal: &Principal) -> ApiResult<crate::service::Acting<'a>> {
        Ok(crate::service::Acting {
            actor: principal.into(),
            role: principal.role,
            db: self.db()?,
            meta: &self.request().meta,
        })
    }

    /// A principal allowed to manage users, keys and the organization.
    fn admin(&self) -> ApiResult<&Principal> {
        let principal = self.principal()?;
        principal.require_admin()?;
        Ok(principal)
    }

    fn loader(&self) -> ApiResult<&DataLoader<TenantLoader>> {
        self.request()
            .loader
            .as_ref()
            .ok_or(ApiError::Unauthenticated)
    }
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        self.data_unchecked::<RequestContext>()
    }

    fn app(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }
}
