//! Leads' logic: create, update, soft-delete, restore and assign over the tenant's transaction,
//! with the audit record of each. Each field is validated once, here, matching its CHECK
//! constraint.

use async_graphql::ID;
use entity::{
    leads::{self, Column},
    users,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

use super::mutation::{CreateLeadInput, UpdateLeadInput};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    service::Acting,
    sql::Changes,
    validation,
};

/// An active user of the organization, to assign leads to.
async fn assignable_user(acting: &Acting<'_>, id: &ID, field: &'static str) -> ApiResult<Uuid> {
    let user_id = decode_id(id, NodeKind::User, field)?;
    let user = crate::sql::find_by_id::<users::Model>(
        acting.db,
        "users",
        acting.organization_id(),
        user_id,
    )
    .await?
    .ok_or(ApiError::NotFound("user"))?;
    if !user.is_active {
        return Err(ApiError::bad_input(
            field,
            "cannot assign to a deactivated user",
        ));
    }
    Ok(user_id)
}

const LIVE: &str = "AND deleted_at IS NULL";
const DELETED: &str = "AND deleted_at IS NOT NULL";

/// The error a write of a live lead's e-mail gets when another live lead has it.
fn email_taken(err: ApiError) -> ApiError {
    match err {
        ApiError::Conflict(_) => {
            ApiError::Conflict("a live lead with this e-mail already exists".into())
        }
        other => other,
    }
}

pub async fn create(acting: &Acting<'_>, mut input: CreateLeadInput) -> ApiResult<leads::Model> {
    let mut changes = input.changes()?;
    if let Some(user) = &input.assigned_to_id {
        let user_id = assignable_user(acting, user, "assignedToId").await?;
        changes.set(
            Column::AssignedToId,
            user_id,
            "assignedToId",
            json!(user_id),
        );
    }
    acting.insert(changes).await.map_err(|err| match err {
        // The only reference the insert can miss: the company.
        ApiError::NotFound(_) => ApiError::NotFound("company"),
        other => email_taken(other),
    })
}

/// Applies the fields `input` gives (`id` aside) to live lead `id`.
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateLeadInput,
) -> ApiResult<leads::Model> {
    let changes = input.changes()?;
    let lead = acting.update("update", id, changes, LIVE).await;
    lead.map_err(email_taken)
}

/// Soft-deletes a lead: it leaves lists and can be restored.
pub async fn delete(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    let mut changes = Changes::default();
    let now: chrono::DateTime<chrono::FixedOffset> = chrono::Utc::now().into();
    changes.set(Column::DeletedAt, now, "deletedAt", json!(now));
    acting.update("delete", id, changes, LIVE).await
}

/// Brings back a soft-deleted lead.
pub async fn restore(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    let mut changes = Changes::default();
    changes.set(
        Column::DeletedAt,
        Option::<chrono::DateTime<chrono::FixedOffset>>::None,
        "deletedAt",
        json!(null),
    );
    let lead = acting.update("restore", id, changes, DELETED).await;
    lead.map_err(|err| match err {
        ApiError::Conflict(_) => {
            ApiError::Conflict("a live lead with this e-mail exists; it cannot be restored".into())
        }
        other => other,
    })
}

/// Assigns a lead to an active user of the organization, or unassigns it; `reason` goes
/// into the lead's assignment history.
pub async fn assign(
    acting: &Acting<'_>,
    id: Uuid,
    user: Option<&ID>,
    reason: Option<String>,
) -> ApiResult<leads::Model> {
    let user_id = match user {
        Some(user) => Some(assignable_user(acting, user, "userId").await?),
        None => None,
    };
    let reason = match reason {
        Some(reason) => validation::text("reason", &reason, 500)?,
        None => String::new(),
    };
    // The history row is the database's (a trigger on leads); it reads the reason from
    // the transaction, for this one change.
    assignment_reason(acting, &reason).await?;
    let mut changes = Changes::default();
    changes.set(
        Column::AssignedToId,
        user_id,
        "assignedToId",
        json!(user_id),
    );
    let lead = acting.update("assign", id, changes, LIVE).await?;
    assignment_reason(acting, "").await?;
    Ok(lead)
}

async fn assignment_reason(acting: &Acting<'_>, reason: &str) -> ApiResult<()> {
    acting
        .db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.assignment_reason', $1, true)",
            [reason.into()],
        ))
        .await?;
    Ok(())
}
