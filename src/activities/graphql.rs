use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::activities;

use super::service;
use crate::{
    graphql::{ContextExt, NodeKind},
    leads::{Lead, LeadId},
    users::User,
    users::via,
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
            .load_one(LeadId::new(self.0.lead_id))
            .await?
            .map(Lead))
    }
    /// Who logged it.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        crate::users::load::<{ via::ACTIVITY_USER }>(ctx, self.0.user_id).await
    }
}

crate::tenant_rows!(activities::Model => "activities");

crate::children!(
    /// `lead.activities`.
    LeadActivities: activities::Model, by "lead_id"
);

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
        let activity = service::log(&ctx.acting()?, input).await?;
        Ok(ActivityPayload {
            activity: Activity(activity),
        })
    }
}
