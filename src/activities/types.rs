use async_graphql::Json;
use chrono::{DateTime, Utc};
use entity::activities;

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

crate::tenant_rows!(
    // Read on every dashboard: decoded by place.
    activities::Model => "activities" as "activity" in columns (
        organization_id, id, lead_id, user_id, kind, direction, subject, content, status,
        scheduled_at, completed_at, metadata, created_at, updated_at
    )
);

crate::children!(
    /// `lead.activities`.
    LeadActivities: activities::Model, by "lead_id"
);
