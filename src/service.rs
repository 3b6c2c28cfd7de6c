//! What domain services act with. A service (`leads::service`, ...) holds a resource's
//! logic: validation, the write, its audit record; a resource with no rules beyond its
//! fields' (companies) uses the generic ones here: `insert`, `update`, `delete`. GraphQL
//! resolvers, background workers and tests call them alike, with the tenant's transaction, who
//! acts, and the request it serves.

use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::{
    audit::{self, Actor},
    error::ApiResult,
    graphql::{RequestMeta, TenantRow},
    sql::{Changes, one_or_not_found, returning_row},
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

    /// Inserts a row of `R` with `changes` (the columns left out take their defaults) and
    /// audits it as `<resource>.create`.
    pub async fn insert<R: TenantRow>(&self, changes: Changes) -> ApiResult<R> {
        let insert = changes.insert(R::TABLE, self.organization_id());
        let row: R = one_or_not_found(self.db, insert, R::RESOURCE).await?;
        let action = format!("{}.create", R::RESOURCE);
        self.audit(&action, R::RESOURCE, Some(row.id()), changes.audit())
            .await?;
        Ok(row)
    }

    /// Applies `changes` to row `id` of `R` when it also meets `condition` (`AND ...`, or
    /// empty), and audits it as `<resource>.<verb>`. NOT_FOUND when there is no such row.
    pub async fn update<R: TenantRow>(
        &self,
        verb: &str,
        id: Uuid,
        changes: Changes,
        condition: &str,
    ) -> ApiResult<R> {
        let update = changes.update(R::TABLE, self.organization_id(), id, condition);
        let row = one_or_not_found(self.db, update, R::RESOURCE).await?;
        let action = format!("{}.{verb}", R::RESOURCE);
        self.audit(&action, R::RESOURCE, Some(id), changes.audit())
            .await?;
        Ok(row)
    }

    /// Deletes row `id` of `R` and audits it as `<resource>.delete`; what references it goes
    /// as its foreign keys say. NOT_FOUND when there is no such row.
    pub async fn delete<R: TenantRow>(&self, id: Uuid) -> ApiResult<Uuid> {
        let delete = returning_row(
            &format!("DELETE FROM {}", R::TABLE),
            self.organization_id(),
            id,
        );
        one_or_not_found::<R>(self.db, delete, R::RESOURCE).await?;
        let action = format!("{}.delete", R::RESOURCE);
        self.audit(&action, R::RESOURCE, Some(id), serde_json::json!({}))
            .await?;
        Ok(id)
    }

    pub fn organization_id(&self) -> uuid::Uuid {
        self.actor.tenant.organization_id
    }

    pub fn user_id(&self) -> uuid::Uuid {
        self.actor.tenant.user_id
    }
}
