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
    organizations::LeadAutoAssignment,
    scoring::Rescore,
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

/// What a write of a live lead's e-mail is told when another live lead has it.
const EMAIL_TAKEN: &str = "a live lead with this e-mail already exists";

/// An AGENT changes only the leads assigned to them; MANAGER and above, any lead.
async fn may_change(acting: &Acting<'_>, id: Uuid) -> ApiResult<()> {
    let refusal = "an agent may change only the leads assigned to them";
    acting
        .may_change::<leads::Model>(id, "assigned_to_id", refusal)
        .await
}

/// Creates a lead; one created without an assignee is assigned as the organization's
/// auto-assignment says.
pub async fn create(acting: &Acting<'_>, mut input: CreateLeadInput) -> ApiResult<leads::Model> {
    if input.score.is_some() {
        scores_set_by_hand(acting).await?;
    }
    let mut changes = input.changes()?;
    let (assignee, reason) = match &input.assigned_to_id {
        Some(user) => (
            Some(assignable_user(acting, user, "assignedToId").await?),
            "",
        ),
        None => auto_assignee(acting).await?,
    };
    if let Some(user_id) = assignee {
        changes.set(
            Column::AssignedToId,
            user_id,
            "assignedToId",
            json!(user_id),
        );
    }
    let lead = with_assignment_reason(acting, reason, async {
        acting.insert(changes).await.map_err(|err| match err {
            // The only reference the insert can miss: the company.
            ApiError::NotFound(_) => ApiError::NotFound("company"),
            other => other.taken(EMAIL_TAKEN),
        })
    })
    .await?;
    scored(acting, lead, "lead created").await
}

/// A lead's score is set by hand only while its organization has no active scoring rule.
async fn scores_set_by_hand(acting: &Acting<'_>) -> ApiResult<()> {
    if crate::scoring::service::scores_are_computed(acting).await? {
        return Err(ApiError::bad_input(
            "score",
            "scores are computed by the organization's scoring rules",
        ));
    }
    Ok(())
}

/// `lead` as it is once scored again after `reason`.
async fn scored(
    acting: &Acting<'_>,
    lead: leads::Model,
    reason: &'static str,
) -> ApiResult<leads::Model> {
    let rescored = crate::scoring::rescore(acting, Rescore::Leads(vec![lead.id], reason)).await?;
    Ok(rescored.into_iter().next().unwrap_or(lead))
}

/// Who a new unassigned lead goes to under the organization's auto-assignment (none when it
/// is off or nobody is eligible), and the reason its history gives.
async fn auto_assignee(acting: &Acting<'_>) -> ApiResult<(Option<Uuid>, &'static str)> {
    let mode = acting
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT lead_auto_assignment FROM organizations WHERE id = $1",
            [acting.organization_id().into()],
        ))
        .await?
        .ok_or(ApiError::NotFound("organization"))?
        .try_get_by_index::<String>(0)?;
    let (sql, reason) = match LeadAutoAssignment::from_db(&mode)? {
        LeadAutoAssignment::None => return Ok((None, "")),
        LeadAutoAssignment::RoundRobin => (ROUND_ROBIN, "auto-assigned: round robin"),
        LeadAutoAssignment::LeastLoaded => (LEAST_LOADED, "auto-assigned: fewest open leads"),
    };
    let user = acting
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [acting.organization_id().into()],
        ))
        .await?
        .map(|row| row.try_get_by_index::<Uuid>(0))
        .transpose()?;
    Ok((user, reason))
}

/// The next turn among the eligible users, by id. Taking the turn updates the organization's
/// counter row, which concurrent creations queue for: no two share a turn.
const ROUND_ROBIN: &str = "
    WITH eligible AS (
        SELECT id, row_number() OVER (ORDER BY id) - 1 AS place, count(*) OVER () AS total
        FROM users
        WHERE organization_id = $1 AND is_active AND role IN ('agent', 'manager')
    ), taken AS (
        INSERT INTO lead_assignment_turns AS t (organization_id, turn) VALUES ($1, 1)
        ON CONFLICT (organization_id) DO UPDATE SET turn = t.turn + 1
        RETURNING t.turn
    )
    SELECT e.id FROM eligible e, taken WHERE e.place = (taken.turn - 1) % e.total";

/// The eligible user with the fewest open leads (then by id).
const LEAST_LOADED: &str = "
    SELECT u.id FROM users u
    WHERE u.organization_id = $1 AND u.is_active AND u.role IN ('agent', 'manager')
    ORDER BY (SELECT count(*) FROM leads l
              WHERE l.organization_id = $1 AND l.assigned_to_id = u.id
                AND l.deleted_at IS NULL AND l.status NOT IN ('closed_won', 'closed_lost')),
             u.id
    LIMIT 1";

/// Applies the fields `input` gives (`id` aside) to live lead `id`.
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateLeadInput,
) -> ApiResult<leads::Model> {
    if input.score.is_some() {
        scores_set_by_hand(acting).await?;
    }
    let changes = input.changes()?;
    may_change(acting, id).await?;
    let lead = acting.update("update", id, changes, LIVE).await;
    scored(
        acting,
        lead.map_err(|err| err.taken(EMAIL_TAKEN))?,
        "lead updated",
    )
    .await
}

/// Soft-deletes a lead: it leaves lists and can be restored.
pub async fn delete(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    may_change(acting, id).await?;
    acting.soft_delete(id).await
}

/// Brings back a soft-deleted lead.
pub async fn restore(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    may_change(acting, id).await?;
    let lead = acting.restore(id).await;
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
    may_change(acting, id).await?;
    let user_id = match user {
        Some(user) => Some(assignable_user(acting, user, "userId").await?),
        None => None,
    };
    let reason = match reason {
        Some(reason) => validation::text("reason", &reason, 500)?,
        None => String::new(),
    };
    let mut changes = Changes::default();
    changes.set(
        Column::AssignedToId,
        user_id,
        "assignedToId",
        json!(user_id),
    );
    with_assignment_reason(acting, &reason, acting.update("assign", id, changes, LIVE)).await
}

/// Runs `write` with `reason` as the reason of the assignment it makes (if any, and if the
/// reason is not empty). The history row is the database's (a trigger on leads), which reads
/// it from the transaction: set for this one write, then cleared.
async fn with_assignment_reason<T>(
    acting: &Acting<'_>,
    reason: &str,
    write: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    if reason.is_empty() {
        return write.await;
    }
    let set = |reason: &str| {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.assignment_reason', $1, true)",
            [reason.into()],
        )
    };
    acting.db.execute_raw(set(reason)).await?;
    let written = write.await?;
    acting.db.execute_raw(set("")).await?;
    Ok(written)
}
