use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::activities;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit,
    error::ApiError,
    graphql::{ChildRelation, ChildTable, ContextExt, NodeKind, decode_id},
    leads::{Lead, LeadId},
    users::User,
    users::via,
    validation,
};

crate::text_enum! {
    ActivityKind {
        Email => "email",
        Call => "call",
        Meeting => "meeting",
        Linkedin => "linkedin",
        Sms => "sms",
    }
}

crate::text_enum! {
    Direction {
        Inbound => "inbound",
        Outbound => "outbound",
    }
}

crate::text_enum! {
    ActivityStatus {
        Scheduled => "scheduled",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

pub struct Activity(pub activities::Model);

#[Object]
impl Activity {
    pub async fn id(&self) -> ID {
        NodeKind::Activity.id(self.0.id)
    }
    async fn kind(&self) -> async_graphql::Result<ActivityKind> {
        Ok(ActivityKind::from_db(&self.0.kind)?)
    }
    async fn direction(&self) -> async_graphql::Result<Direction> {
        Ok(Direction::from_db(&self.0.direction)?)
    }
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    async fn content(&self) -> Option<&str> {
        self.0.content.as_deref()
    }
    async fn status(&self) -> async_graphql::Result<ActivityStatus> {
        Ok(ActivityStatus::from_db(&self.0.status)?)
    }
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at.map(Into::into)
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at.map(Into::into)
    }
    /// E-mail headers, call duration, attendees...: a JSON object.
    async fn metadata(&self) -> Json<&serde_json::Value> {
        Json(&self.0.metadata)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        Ok(ctx
            .loader()?
            .load_one(LeadId(self.0.lead_id))
            .await?
            .map(Lead))
    }
    /// Who logged it.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        crate::users::load::<{ via::ACTIVITY_USER }>(ctx, self.0.user_id).await
    }
}

crate::timestamped!(activities::Model);

/// `lead.activities`.
pub struct LeadActivities;

impl ChildRelation for LeadActivities {
    type Row = activities::Model;
    const CHILDREN: ChildTable = ChildTable {
        table: "activities",
        parent_column: "lead_id",
        condition: "",
    };
}

#[derive(InputObject)]
pub struct LogActivityInput {
    pub lead_id: ID,
    pub kind: ActivityKind,
    pub direction: Direction,
    pub subject: Option<String>,
    pub content: Option<String>,
    /// Default COMPLETED.
    pub status: Option<ActivityStatus>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Defaults to now for completed activities.
    pub completed_at: Option<DateTime<Utc>>,
    pub metadata: Option<Json<serde_json::Value>>,
}

#[derive(SimpleObject)]
pub struct ActivityPayload {
    pub activity: Activity,
}

#[derive(Default)]
pub struct ActivityMutation;

#[Object]
impl ActivityMutation {
    /// Records a communication with a live lead. A completed one also updates the lead's
    /// `lastContactedAt`.
    async fn log_activity(
        &self,
        ctx: &Context<'_>,
        input: LogActivityInput,
    ) -> async_graphql::Result<ActivityPayload> {
        let principal = ctx.writer()?;
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
            )
            .into());
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
        crate::leads::find_live(ctx, lead_id).await?;
        let db = ctx.db()?;
        let activity = activities::ActiveModel {
            organization_id: Set(principal.organization_id),
            id: Set(Uuid::new_v4()),
            lead_id: Set(lead_id),
            user_id: Set(Some(principal.user_id)),
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
        .await
        .map_err(ApiError::from)?;
        if let Some(at) = completed_at {
            db.execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "UPDATE leads SET last_contacted_at = greatest(last_contacted_at, $3)
                 WHERE organization_id = $1 AND id = $2",
                [principal.organization_id.into(), lead_id.into(), at.into()],
            ))
            .await
            .map_err(ApiError::from)?;
        }
        audit::record(
            ctx,
            "activity.log",
            "activity",
            Some(activity.id),
            json!({
                "leadId": lead_id, "kind": activity.kind, "status": activity.status,
            }),
        )
        .await?;
        Ok(ActivityPayload {
            activity: Activity(activity),
        })
    }
}
