//! What domain services act with. A service (`companies::service`, ...) holds a resource's
//! logic: validation, the write, its audit record. GraphQL resolvers, background workers and
//! tests call it alike, with the tenant's transaction, who acts, and the request it serves.

use sea_orm::DatabaseTransaction;

use crate::{
    audit::{self, Actor},
    error::ApiResult,
    graphql::RequestMeta,
    tenancy::Role,
};

pub struct Acting<'a> {
    /// A transaction with the tenant set (`TenantTx`): policies bound every statement.
    pub db: &'a DatabaseTransaction,
    pub actor: Actor,
    /// The acting user's role, for the rules that depend on it (who may grant ownership).
    pub role: Role,
    pub meta: &'a RequestMeta,
}

impl Acting<'_> {
    /// Records `action` on a resource in the audit log, in the same transaction.
    pub async fn audit(
        &self,
        action: &str,
        resource_type: &str,
        resource_id: Option<uuid::Uuid>,
        changes: serde_json::Value,
    ) -> ApiResult<()> {
        audit::record_as(
            self.db,
            self.meta,
            &self.actor,
            action,
            resource_type,
            resource_id,
            changes,
        )
        .await
    }

    pub fn organization_id(&self) -> uuid::Uuid {
        self.actor.tenant.organization_id
    }

    pub fn user_id(&self) -> uuid::Uuid {
        self.actor.tenant.user_id
    }
}
