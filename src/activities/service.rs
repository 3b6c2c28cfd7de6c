//! Activities' logic: logging one against a live lead, which also moves the lead's
//! `lastContactedAt` when completed, with its audit record.

use async_graphql::Json;
use chrono::Utc;
use entity::activities;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use super::{mutation::LogActivityInput, types::ActivityStatus};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    service::Acting,
    validation,
};

/// Records a communication with a live lead.
pub async fn log(acting: &Acting<'_>, input: LogActivityInput) -> ApiResult<activities::Model> {
    let lead_id = decode_id(&input.lead_id, NodeKind::Lead, "leadId")?;
    let status = input.status.unwrap_or(ActivityStatus::Completed);
    let scheduled_at = input
        .scheduled_at
        .map(|t| validation::calendar("scheduledAt", t))
        .transpose()?;
    let completed_at = input
        .completed_at
        .map(|t| validation::calendar("completedAt", t))
        .transpose()?;
    if status == ActivityStatus::Scheduled && scheduled_at.is_none() {
        return Err(ApiError::bad_input(
            "scheduledAt",
            "a scheduled activity needs `scheduledAt`",
        ));
    }
    let completed_at = match status {
        ActivityStatus::Completed => Some(completed_at.unwrap_or_else(Utc::now)),
        _ => completed_at,
    };
    let subject = validation::optional_text("subject", input.subject.as_deref(), 500)?;
    let content = validation::optional_text("content", input.content.as_deref(), 20_000)?;
    let metadata = input
        .metadata
        .map(|Json(m)| validation::json_object("metadata", m, 16 * 1024))
        .transpose()?
        .unwrap_or_else(|| json!({}));
    crate::leads::find_live(acting, lead_id).await?;
    let db = acting.db;
    let activity = activities::ActiveModel {
        organization_id: Set(acting.organization_id()),
        id: Set(Uuid::new_v4()),
        lead_id: Set(lead_id),
        user_id: Set(Some(acting.actor.tenant.user_id)),
        kind: Set(input.kind.as_db().to_owned()),
        direction: Set(input.direction.as_db().to_owned()),
        subject: Set(subject),
        content: Set(content),
        status: Set(status.as_db().to_owned()),
        scheduled_at: Set(scheduled_at.map(Into::into)),
        completed_at: Set(completed_at.map(Into::into)),
        metadata: Set(metadata),
        ..Default::default()
    }
    .insert(db)
    .await?;
    if let Some(at) = completed_at {
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE leads SET last_contacted_at = greatest(last_contacted_at, $3)
             WHERE organization_id = $1 AND id = $2",
            [acting.organization_id().into(), lead_id.into(), at.into()],
        ))
        .await?;
    }
    let scoring = crate::scoring::Rescore::Leads(vec![lead_id], "activity logged");
    crate::scoring::rescore(acting, scoring).await?;
    acting
        .audit(
            "activity.log",
            "activity",
            Some(activity.id),
            json!({
                "leadId": lead_id, "kind": activity.kind, "status": activity.status,
            }),
        )
        .await?;
    Ok(activity)
}
