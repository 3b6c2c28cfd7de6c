use async_graphql::{ID, InputObject, Json};
use chrono::{DateTime, Utc};
use entity::activities;

use super::service;
use crate::{leads::Lead, users::User};

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

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    Activity(activities::Model) as Activity {
        kind: Stored<ActivityKind>,
        direction: Stored<Direction>,
        subject: Option<&str>,
        content: Option<&str>,
        status: Stored<ActivityStatus>,
        scheduled_at: Option<DateTime<Utc>>,
        completed_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
    belongs_to {
        lead: Lead by lead_id,
        /// Who logged it.
        user: User by user_id via ACTIVITY_USER,
    }
    extra {
        /// E-mail headers, call duration, attendees...: a JSON object.
        async fn metadata(&self) -> Json<&serde_json::Value> {
            Json(&self.0.metadata)
        }
    }
}

crate::tenant_rows!(activities::Model => "activities" as "activity");

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

crate::payloads! {
    ActivityPayload { activity: Activity }
}

crate::mutations! {
    ActivityMutation;
    /// Records a communication with a live lead. A completed one also updates the lead's
    /// `lastContactedAt`.
    log_activity(input: LogActivityInput) -> ActivityPayload,
        member |acting, ctx| service::log(&acting, input);
}
