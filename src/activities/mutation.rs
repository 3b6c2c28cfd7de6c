use async_graphql::{ID, InputObject, Json};
use chrono::{DateTime, Utc};

use super::{
    Activity, service,
    types::{ActivityKind, ActivityStatus, Direction},
};

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
