//! `webhookEndpoints` and `webhookDeliveries` (OWNER and ADMIN), and the mutations that manage
//! endpoints and redeliver one delivery.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{
    WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint,
    model::{DeliveryRow, EndpointRow},
    service,
};
use crate::{
    events::{EventKind, EventSubjectType},
    graphql::{
        ContextExt, Creation, NodeKind, Page, PageArgs, Sorted, decode_id, list, list_by_created,
    },
    sql::SqlBuilder,
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

#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    pub endpoint: WebhookEndpoint,
}

#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    pub deleted_id: ID,
}

#[derive(SimpleObject)]
pub struct WebhookDeliveryPayload {
    pub delivery: WebhookDelivery,
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The organization's webhook endpoints, newest first. OWNER and ADMIN only.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<WebhookEndpoint>> {
        ctx.admin()?;
        let args = PageArgs::new(first, after, last, before);
        list_by_created::<EndpointRow, _>(ctx, true, args, WebhookEndpoint).await
    }

    /// Deliveries of one endpoint, newest first, optionally of one status. OWNER and ADMIN.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // the four paging arguments are Relay's
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<WebhookDelivery>> {
        ctx.admin()?;
        let endpoint = decode_id(&endpoint_id, NodeKind::WebhookEndpoint, "endpointId")?;
        let filter = move |sql: &mut SqlBuilder| {
            let endpoint = sql.bind(endpoint);
            sql.push(&format!(" AND t.endpoint_id = {endpoint}"));
            if let Some(status) = status {
                let status = sql.bind(status.as_db());
                sql.push(&format!(" AND t.status = {status}"));
            }
        };
        let args = PageArgs::new(first, after, last, before);
        let newest_first = Sorted {
            by: Creation::<DeliveryRow>::default(),
            descending: true,
        };
        list(ctx, args, newest_first, &filter, WebhookDelivery).await
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint for events from now on. OWNER and ADMIN only.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> async_graphql::Result<CreateWebhookEndpointPayload> {
        let allow_private = ctx.app().webhooks.allow_private_addresses;
        let (endpoint, secret) =
            service::create(&ctx.acting_admin()?, input, allow_private).await?;
        Ok(CreateWebhookEndpointPayload {
            endpoint: WebhookEndpoint(endpoint),
            signing_secret: secret,
        })
    }

    /// Changes an endpoint's URL, subject types, kinds, description or active flag. OWNER and
    /// ADMIN only.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.id, NodeKind::WebhookEndpoint, "id")?;
        let allow_private = ctx.app().webhooks.allow_private_addresses;
        let endpoint = service::update(&acting, id, input, allow_private).await?;
        Ok(WebhookEndpointPayload {
            endpoint: WebhookEndpoint(endpoint),
        })
    }

    /// Deletes an endpoint and its delivery history. OWNER and ADMIN only.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> async_graphql::Result<DeleteWebhookEndpointPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.id, NodeKind::WebhookEndpoint, "id")?;
        service::delete(&acting, id).await?;
        Ok(DeleteWebhookEndpointPayload {
            deleted_id: input.id,
        })
    }

    /// Queues one delivery again, at once, whatever its status. OWNER and ADMIN only.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookInput,
    ) -> async_graphql::Result<WebhookDeliveryPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.delivery_id, NodeKind::WebhookDelivery, "deliveryId")?;
        let delivery = service::redeliver(&acting, id).await?;
        Ok(WebhookDeliveryPayload {
            delivery: WebhookDelivery(delivery),
        })
    }
}
