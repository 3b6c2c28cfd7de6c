//! GraphQL types of webhooks. The signing secret is never a field: it is returned once, by
//! `createWebhookEndpoint`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::model::{AttemptRow, DeliveryRow, EndpointRow};
use crate::{
    events::{EventCursor, EventKind, EventSubjectType},
    graphql::{Node, NodeKind, related, via},
    leads::Lead,
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

crate::object! {
    WebhookEndpoint(EndpointRow) as WebhookEndpoint {
        url: &str,
        description: Option<&str>,
        /// The kinds delivered; empty means all.
        event_kinds: async_graphql::Result<Vec<EventKind>>,
        /// The kinds of resource whose events are delivered; empty means all.
        subject_types: async_graphql::Result<Vec<EventSubjectType>>,
        is_active: bool,
        health: async_graphql::Result<WebhookEndpointHealth>,
        consecutive_failures: i32,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

fn stored_subject_type(row: &DeliveryRow) -> crate::error::ApiResult<EventSubjectType> {
    EventSubjectType::from_db(&row.subject_type)
}

/// The lead, for a lead's event.
fn lead_uuid(row: &DeliveryRow) -> crate::error::ApiResult<Option<uuid::Uuid>> {
    Ok((stored_subject_type(row)? == EventSubjectType::Lead).then_some(row.subject_id))
}

crate::children!(
    /// A delivery's attempts, newest first.
    DeliveryAttempts: AttemptRow, by "delivery_id"
);

crate::object! {
    WebhookDelivery(DeliveryRow) as WebhookDelivery {
        event_kind: async_graphql::Result<EventKind>,
        status: async_graphql::Result<WebhookDeliveryStatus>,
        attempt_count: i32,
        last_status_code: Option<i32>,
        last_error: Option<&str>,
        delivered_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
    children {
        /// Every HTTP attempt, newest first.
        attempts: WebhookAttempt by DeliveryAttempts,
    }
    extra {
        async fn endpoint_id(&self) -> ID {
            NodeKind::WebhookEndpoint.id(self.0.endpoint_id)
        }
        /// The event's cursor, as `events` gives it.
        async fn event_cursor(&self) -> String {
            let cursor = EventCursor {
                position: self.0.event_position,
            };
            cursor.encode(self.0.organization_id)
        }
        async fn subject_type(&self) -> async_graphql::Result<EventSubjectType> {
            Ok(stored_subject_type(self.0)?)
        }
        async fn subject_id(&self) -> async_graphql::Result<ID> {
            let kind = stored_subject_type(self.0)?.node_kind();
            Ok(kind.id(self.0.subject_id))
        }
        /// The event's subject as it is now; null once it no longer exists.
        async fn subject(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Node>> {
            let kind = stored_subject_type(self.0)?.node_kind();
            Node::find(ctx, kind, self.0.subject_id).await
        }
        /// The lead, for a lead's event.
        #[graphql(deprecation = "use subjectId")]
        async fn lead_id(&self) -> async_graphql::Result<Option<ID>> {
            Ok(lead_uuid(self.0)?.map(|id| NodeKind::Lead.id(id)))
        }
        /// The lead as it is now, for a lead's event.
        #[graphql(deprecation = "use subject")]
        async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
            related::<Lead, { via::ANY }>(ctx, lead_uuid(self.0)?).await
        }
        /// When the next attempt is due (pending deliveries).
        async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
            (self.0.status == "pending").then(|| self.0.next_attempt_at.into())
        }
    }
}

pub struct WebhookAttempt(pub AttemptRow);

/// Written by hand: its pages read every column.
impl crate::graphql::ReadsColumns for WebhookAttempt {}

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
