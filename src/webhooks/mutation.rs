//! The mutations that manage endpoints and redeliver one delivery (OWNER and ADMIN).

use async_graphql::{ID, InputObject, SimpleObject};

use super::{WebhookDelivery, WebhookEndpoint, model::EndpointRow, service};
use crate::{
    events::{EventKind, EventSubjectType},
    graphql::{ContextExt, NodeKind, decode_id},
};

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where deliveries are POSTed: http(s), resolving to public addresses.
    pub url: String,
    pub description: Option<String>,
    /// The event kinds to deliver; all when empty or absent.
    pub event_kinds: Option<Vec<EventKind>>,
    /// The kinds of resource whose events to deliver; all when empty or absent.
    pub subject_types: Option<Vec<EventSubjectType>>,
}

#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub id: ID,
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_kinds: Option<Vec<EventKind>>,
    pub subject_types: Option<Vec<EventSubjectType>>,
    /// False disables deliveries (events meanwhile are skipped, not queued).
    pub is_active: Option<bool>,
}

#[derive(InputObject)]
pub struct WebhookEndpointIdInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    pub delivery_id: ID,
}

#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_...`). Shown this once; verify `webhook-signature` with it.
    pub signing_secret: String,
}

impl From<(EndpointRow, String)> for CreateWebhookEndpointPayload {
    fn from((endpoint, signing_secret): (EndpointRow, String)) -> Self {
        Self {
            endpoint: WebhookEndpoint(endpoint),
            signing_secret,
        }
    }
}

crate::payloads! {
    WebhookEndpointPayload { endpoint: WebhookEndpoint }
    DeleteWebhookEndpointPayload { deleted_id: id of WebhookEndpoint }
    WebhookDeliveryPayload { delivery: WebhookDelivery }
}

crate::mutations! {
    WebhookMutation;
    /// Registers an endpoint for events from now on. OWNER and ADMIN only.
    create_webhook_endpoint(input: CreateWebhookEndpointInput) -> CreateWebhookEndpointPayload,
        admin |acting, ctx| {
            service::create(&acting, input, ctx.app().webhooks.allow_private_addresses)
        };
    /// Changes an endpoint's URL, subject types, kinds, description or active flag. OWNER and
    /// ADMIN only.
    update_webhook_endpoint(input: UpdateWebhookEndpointInput) -> WebhookEndpointPayload,
        admin |acting, ctx| {
            let id = decode_id(&input.id, NodeKind::WebhookEndpoint, "id")?;
            let allow_private = ctx.app().webhooks.allow_private_addresses;
            service::update(&acting, id, input, allow_private)
        };
    /// Deletes an endpoint and its delivery history. OWNER and ADMIN only.
    delete_webhook_endpoint(input: WebhookEndpointIdInput) -> DeleteWebhookEndpointPayload,
        admin |acting, ctx| {
            acting.delete::<EndpointRow>(decode_id(&input.id, NodeKind::WebhookEndpoint, "id")?)
        };
    /// Queues one delivery again, at once, whatever its status. OWNER and ADMIN only.
    redeliver_webhook(input: RedeliverWebhookInput) -> WebhookDeliveryPayload,
        admin |acting, ctx| {
            let id = decode_id(&input.delivery_id, NodeKind::WebhookDelivery, "deliveryId")?;
            service::redeliver(&acting, id)
        };
}
