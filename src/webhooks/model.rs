//! Rows of the webhook tables.

use chrono::{DateTime, FixedOffset};
use sea_orm::FromQueryResult;
use uuid::Uuid;

#[derive(Clone, Debug, FromQueryResult)]
pub struct EndpointRow {
    pub organization_id: Uuid,
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub event_kinds: Vec<String>,
    pub subject_types: Vec<String>,
    pub signing_secret: String,
    pub is_active: bool,
    pub health: String,
    pub consecutive_failures: i32,
    pub event_cursor: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Clone, Debug, FromQueryResult)]
pub struct DeliveryRow {
    pub organization_id: Uuid,
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_position: i64,
    pub event_kind: String,
    pub subject_type: String,
    pub subject_id: Uuid,
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: DateTime<FixedOffset>,
    pub lease_until: Option<DateTime<FixedOffset>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Clone, Debug, FromQueryResult)]
pub struct AttemptRow {
    pub organization_id: Uuid,
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub created_at: DateTime<FixedOffset>,
}

crate::tenant_rows!(
    EndpointRow => "webhook_endpoints",
    DeliveryRow => "webhook_deliveries",
    AttemptRow => "webhook_attempts",
);
