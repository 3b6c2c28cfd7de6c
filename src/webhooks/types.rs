//! GraphQL types of webhooks. The signing secret is never a field: it is returned once, by
//! `createWebhookEndpoint`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::model::{AttemptRow, DeliveryRow, EndpointRow};
use crate::{
    events::{EventCursor, EventKind, EventSubjectType},
    graphql::{ContextExt, Node, NodeKind, Page, child_page},
    leads::{Lead, LeadId},
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
    async fn event_kinds(&self) -> async_graphql::Result<Vec<EventKind>> {
        Ok(self
            .0
            .event_kinds
            .iter()
            .map(|k| EventKind::from_db(k))
            .collect::<Result<_, _>>()?)
    }
    /// The kinds of resource whose events are delivered; empty means all.
    async fn subject_types(&self) -> async_graphql::Result<Vec<EventSubjectType>> {
        Ok(self
            .0
            .subject_types
            .iter()
            .map(|t| EventSubjectType::from_db(t))
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

impl WebhookDelivery {
    fn stored_subject_type(&self) -> crate::error::ApiResult<EventSubjectType> {
        EventSubjectType::from_db(&self.0.subject_type)
    }

    fn lead_uuid(&self) -> crate::error::ApiResult<Option<uuid::Uuid>> {
        Ok((self.stored_subject_type()? == EventSubjectType::Lead).then_some(self.0.subject_id))
    }
}

crate::children!(
    /// A delivery's attempts, newest first.
    DeliveryAttempts: AttemptRow, by "delivery_id"
);

#[Object]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        NodeKind::WebhookDelivery.id(self.0.id)
    }
    async fn endpoint_id(&self) -> ID {
        NodeKind::WebhookEndpoint.id(self.0.endpoint_id)
    }
    /// The event's cursor, as `events` gives it.
    async fn event_cursor(&self) -> String {
        EventCursor {
            position: self.0.event_position,
        }
        .encode(self.0.organization_id)
    }
    async fn event_kind(&self) -> async_graphql::Result<EventKind> {
        Ok(EventKind::from_db(&self.0.event_kind)?)
    }
    async fn subject_type(&self) -> async_graphql::Result<EventSubjectType> {
        Ok(self.stored_subject_type()?)
    }
    async fn subject_id(&self) -> async_graphql::Result<ID> {
        Ok(self
            .stored_subject_type()?
            .node_kind()
            .id(self.0.subject_id))
    }
    /// The event's subject as it is now; null once it no longer exists.
    async fn subject(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Node>> {
        let kind = self.stored_subject_type()?.node_kind();
        Node::find(ctx, kind, self.0.subject_id).await
    }
    /// The lead, for a lead's event.
    #[graphql(deprecation = "use subjectId")]
    async fn lead_id(&self) -> async_graphql::Result<Option<ID>> {
        Ok(self.lead_uuid()?.map(|id| NodeKind::Lead.id(id)))
    }
    /// The lead as it is now, for a lead's event.
    #[graphql(deprecation = "use subject")]
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        let Some(id) = self.lead_uuid()? else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(LeadId::new(id)).await?.map(Lead))
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
