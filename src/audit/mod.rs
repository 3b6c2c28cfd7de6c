//! The audit log: every mutation writes one row in its own transaction (so it commits or rolls
//! back with the change), and OWNER/ADMIN can page through them.

mod query;
mod types;

pub use query::AuditQuery;
pub use types::AuditLog;

use async_graphql::Context;
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::{
    error::ApiResult,
    graphql::{ContextExt, RequestMeta},
    tenancy::TenantSettings,
};

/// Who did it, when there is no principal yet (sign-up, login).
pub struct Actor {
    pub tenant: TenantSettings,
    pub api_key_id: Option<Uuid>,
}

impl From<&crate::tenancy::Principal> for Actor {
    fn from(principal: &crate::tenancy::Principal) -> Self {
        Self {
            tenant: TenantSettings {
                organization_id: principal.organization_id,
                user_id: principal.user_id,
            },
            api_key_id: principal.api_key_id(),
        }
    }
}

/// Records `action` on a resource by the request's principal.
pub async fn record(
    ctx: &Context<'_>,
    action: &str,
    resource_type: &str,
    resource_id: Option<Uuid>,
    changes: serde_json::Value,
) -> ApiResult<()> {
    record_as(
        ctx.db()?,
        &ctx.request().meta,
        &Actor::from(ctx.principal()?),
        action,
        resource_type,
        resource_id,
        changes,
    )
    .await
}

pub async fn record_as(
    conn: &impl ConnectionTrait,
    meta: &RequestMeta,
    actor: &Actor,
    action: &str,
    resource_type: &str,
    resource_id: Option<Uuid>,
    changes: serde_json::Value,
) -> ApiResult<()> {
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO audit_logs (organization_id, actor_user_id, actor_api_key_id, action,
                                 resource_type, resource_id, ip_address, user_agent, request_id,
                                 changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::inet, left($8, 500), left($9, 100), $10)",
        [
            actor.tenant.organization_id.into(),
            actor.tenant.user_id.into(),
            actor.api_key_id.into(),
            action.into(),
            resource_type.into(),
            resource_id.into(),
            meta.client_ip.map(|ip| ip.to_string()).into(),
            meta.user_agent.clone().into(),
            Some(meta.request_id.clone()).into(),
            changes.into(),
        ],
    ))
    .await?;
    Ok(())
}
