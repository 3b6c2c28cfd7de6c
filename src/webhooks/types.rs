//! GraphQL types of webhooks. The signing secret is never a field: it is returned once, by
//! `createWebhookEndpoint`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::model::{AttemptRow, DeliveryRow, EndpointRow};
use crate::{
    events::{EventCursor, LeadEventKind},
    graphql::{ChildRelation, ChildTable, ContextExt, NodeKind, Page, child_page},
    leads::LeadId,
};

crate::text_enum! {
    WebhookEndpointHealth {
        Healthy => "healthy",
        /// The last deliveries failed in a row; it recovers with the next success.
        Failing => "failing",
    }
}

crate::text_enum! {
    WebhookDeliveryStatus {
        /// Waiting for its first attempt or a retry.
        Pending => "pending",
        Delivered => "delivered",
        /// Given up after the retry horizon.
        Failed => "failed",
    }
}

pub struct WebhookEndpoint(pub EndpointRow);

#[Object]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        NodeKind::WebhookEndpoint.id(self.0.id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The kinds delivered; empty means all.
    async fn event_kinds(&self) -> async_graphql::Result<Vec<LeadEventKind>> {
        Ok(self
            .0
            .event_kinds
            .iter()
            .map(|k| LeadEventKind::from_db(k))
            .collect::<Result<_, _>>()?)
    }
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    async fn health(&self) -> async_graphql::Result<WebhookEndpointHealth> {
        Ok(WebhookEndpointHealth::from_db(&self.0.health)?)
    }
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
}

pub struct WebhookDelivery(pub DeliveryRow);

/// A delivery's attempts, newest first.
pub struct DeliveryAttempts;

impl ChildRelation for DeliveryAttempts {
    type Row = AttemptRow;
    const CHILDREN: ChildTable = ChildTable {
        table: "webhook_attempts",
        parent_column: "delivery_id",
        condition: "",
    };
}

#[Object]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        NodeKind::WebhookDelivery.id(self.0.id)
    }
    async fn endpoint_id(&self) -> ID {
        NodeKind::WebhookEndpoint.id(self.0.endpoint_id)
    }
    /// The event's cursor, as `leadEvents` gives it.
    async fn event_cursor(&self) -> String {
        EventCursor {
            position: self.0.event_position,
        }
        .encode(self.0.organization_id)
    }
    async fn event_kind(&self) -> async_graphql::Result<LeadEventKind> {
        Ok(LeadEventKind::from_db(&self.0.event_kind)?)
    }
    async fn lead_id(&self) -> ID {
        NodeKind::Lead.id(self.0.lead_id)
    }
    /// The lead as it is now.
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<crate::leads::Lead>> {
        Ok(ctx
            .loader()?
            .load_one(LeadId(self.0.lead_id))
            .await?
            .map(crate::leads::Lead))
    }
    async fn status(&self) -> async_graphql::Result<WebhookDeliveryStatus> {
        Ok(WebhookDeliveryStatus::from_db(&self.0.status)?)
    }
    async fn attempt_count(&self) -> i32 {
        self.0.attempt_count
    }
    /// When the next attempt is due (pending deliveries).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == "pending").then(|| self.0.next_attempt_at.into())
    }
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at.map(Into::into)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    /// Every HTTP attempt, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn attempts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Page<WebhookAttempt>> {
        child_page::<DeliveryAttempts, _>(ctx, self.0.id, first, after, WebhookAttempt).await
    }
}

pub struct WebhookAttempt(pub AttemptRow);

#[Object]
impl WebhookAttempt {
    /// The receiver's HTTP status; null when no response came (refused, timed out).
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }
    async fn attempted_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
}
