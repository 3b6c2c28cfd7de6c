//! What domain services act with. A service (`leads::service`, ...) holds a resource's
//! logic: validation, the write, its audit record; a resource with no rules beyond its
//! fields' (companies) uses the generic ones here: `insert`, `update`, `delete`. GraphQL
//! resolvers, background workers and tests call them alike, with the tenant's transaction, who
//! acts, and the request it serves.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::{
    audit::{self, Actor},
    error::{ApiError, ApiResult},
    graphql::{RequestMeta, TenantRow},
    sql::{Changes, one_or_not_found, returning_row},
    tenancy::{Role, TenantConnection},
};

pub struct Acting<'a> {
    /// A transaction with the tenant set (`TenantTx`): policies bound every statement.
    pub db: &'a TenantConnection,
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

    /// Soft-deletes live row `id` of `R` (sets `deleted_at`), audited as `<resource>.delete`.
    pub async fn soft_delete<R: TenantRow>(&self, id: Uuid) -> ApiResult<R> {
        let mut changes = Changes::default();
        changes.set_deleted_at(Some(chrono::Utc::now().into()));
        self.update("delete", id, changes, "AND deleted_at IS NULL")
            .await
    }

    /// Brings back soft-deleted row `id` of `R`, audited as `<resource>.restore`.
    pub async fn restore<R: TenantRow>(&self, id: Uuid) -> ApiResult<R> {
        let mut changes = Changes::default();
        changes.set_deleted_at(None);
        self.update("restore", id, changes, "AND deleted_at IS NOT NULL")
            .await
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

    /// An AGENT changes only the rows of `R` whose `owner_column` names them (the leads assigned
    /// to them, the deals they own), `refusal` saying so otherwise; MANAGER and above, any row
    /// of their organization. The row is locked until the change commits, so its owner cannot
    /// change between this check and the write. A row that does not exist is left to the
    /// write to report (NOT_FOUND).
    pub async fn may_change<R: TenantRow>(
        &self,
        id: Uuid,
        owner_column: &str,
        refusal: &'static str,
    ) -> ApiResult<()> {
        if self.role != Role::Agent {
            return Ok(());
        }
        let owner = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT {owner_column} FROM {} WHERE organization_id = $1 AND id = $2 \
                     FOR UPDATE",
                    R::TABLE
                ),
                [self.organization_id().into(), id.into()],
            ))
            .await?;
        match owner {
            Some(row) if row.try_get_by_index::<Option<Uuid>>(0)? != Some(self.user_id()) => {
                Err(ApiError::Forbidden(refusal))
            }
            _ => Ok(()),
        }
    }

    pub fn organization_id(&self) -> uuid::Uuid {
        self.actor.tenant.organization_id
    }

    pub fn user_id(&self) -> uuid::Uuid {
        self.actor.tenant.user_id
    }
}
