//! `webhookEndpoints` and `webhookDeliveries` (OWNER and ADMIN), and the mutations that manage
//! endpoints and redeliver one delivery.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use sea_orm::FromQueryResult;
use serde_json::json;

use super::{
    WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint,
    model::{DeliveryRow, EndpointRow},
    signing, ssrf,
};
use crate::{
    audit,
    error::{ApiError, ApiResult},
    events::{EventKind, EventSubjectType, store},
    graphql::{
        ContextExt, Creation, NodeKind, Page, PageArgs, Sorted, decode_id, list, list_by_created,
    },
    sql::{Changes, SqlBuilder, one_or_not_found, returning_row},
    validation,
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

async fn checked_url(ctx: &Context<'_>, url: &str) -> ApiResult<String> {
    let parsed = ssrf::parse(url.trim()).map_err(|e| ApiError::bad_input("url", e.to_string()))?;
    ssrf::resolve(&parsed, ctx.app().webhooks.allow_private_addresses)
        .await
        .map_err(|e| ApiError::bad_input("url", e.to_string()))?;
    Ok(parsed.to_string())
}

/// A chosen set of enum values as stored: sorted, each once; empty means all.
fn db_values<T>(values: Option<Vec<T>>, as_db: fn(T) -> &'static str) -> Vec<String> {
    let mut values: Vec<String> = values
        .unwrap_or_default()
        .into_iter()
        .map(|v| as_db(v).to_owned())
        .collect();
    values.sort();
    values.dedup();
    values
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
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_by_created::<EndpointRow, _>(ctx, "webhook_endpoints", true, args, WebhookEndpoint)
            .await
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
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let newest_first = Sorted {
            by: Creation::<DeliveryRow>::default(),
            descending: true,
        };
        list(
            ctx,
            "webhook_deliveries",
            args,
            newest_first,
            &filter,
            WebhookDelivery,
        )
        .await
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
        let principal = ctx.admin()?;
        let url = checked_url(ctx, &input.url).await?;
        let description = input
            .description
            .map(|d| validation::text("description", &d, 500))
            .transpose()?;
        let kinds = db_values(input.event_kinds, EventKind::as_db);
        let subject_types = db_values(input.subject_types, EventSubjectType::as_db);
        let secret = signing::generate_secret();
        let db = ctx.db()?;
        // Deliveries start after the newest event at creation.
        let head = store::bounds(db, principal.organization_id).await?.head;
        let mut sql = SqlBuilder::new("");
        let values = [
            sql.bind(principal.organization_id),
            sql.bind(url.clone()),
            sql.bind(description),
            sql.bind(kinds.clone()),
            sql.bind(subject_types.clone()),
            sql.bind(secret.clone()),
            sql.bind(head),
            sql.bind(principal.user_id),
        ];
        sql.push(&format!(
            "INSERT INTO webhook_endpoints
                 (organization_id, url, description, event_kinds, subject_types, signing_secret,
                  event_cursor, created_by)
             VALUES ({}) RETURNING *",
            values.join(", ")
        ));
        let endpoint = EndpointRow::find_by_statement(sql.build())
            .one(db)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("INSERT returned no row")))?;
        audit::record(
            ctx,
            "webhook_endpoint.create",
            "webhook_endpoint",
            Some(endpoint.id),
            json!({ "url": url, "eventKinds": kinds, "subjectTypes": subject_types }),
        )
        .await?;
        Ok(CreateWebhookEndpointPayload {
            endpoint: WebhookEndpoint(endpoint),
            signing_secret: secret,
        })
    }

    /// Changes an endpoint's URL, kinds, description or active flag. OWNER and ADMIN only.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let principal = ctx.admin()?;
        let id = decode_id(&input.id, NodeKind::WebhookEndpoint, "id")?;
        let mut changes = Changes::default();
        if let Some(url) = &input.url {
            let url = checked_url(ctx, url).await?;
            changes.set("url", url.clone(), "url", json!(url));
        }
        if let Some(description) = &input.description {
            let description = validation::text("description", description, 500)?;
            changes.set(
                "description",
                description.clone(),
                "description",
                json!(description),
            );
        }
        if input.event_kinds.is_some() {
            let kinds = db_values(input.event_kinds, EventKind::as_db);
            changes.set("event_kinds", kinds.clone(), "eventKinds", json!(kinds));
        }
        if input.subject_types.is_some() {
            let types = db_values(input.subject_types, EventSubjectType::as_db);
            changes.set("subject_types", types.clone(), "subjectTypes", json!(types));
        }
        if let Some(active) = input.is_active {
            changes.set("is_active", active, "isActive", json!(active));
            if active {
                // Re-enabled: deliver from now on, not the events missed while disabled.
                let head = store::bounds(ctx.db()?, principal.organization_id)
                    .await?
                    .head;
                changes.set("event_cursor", head, "eventCursor", json!(head));
            }
        }
        if changes.is_empty() {
            return Err(ApiError::bad_input("input", "nothing to change").into());
        }
        let statement = changes.update("webhook_endpoints", principal.organization_id, id, "");
        let endpoint = one_or_not_found(ctx.db()?, statement, "webhook endpoint").await?;
        audit::record(
            ctx,
            "webhook_endpoint.update",
            "webhook_endpoint",
            Some(id),
            changes.audit(),
        )
        .await?;
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
        let principal = ctx.admin()?;
        let id = decode_id(&input.id, NodeKind::WebhookEndpoint, "id")?;
        let statement = returning_row(
            "DELETE FROM webhook_endpoints",
            principal.organization_id,
            id,
        );
        one_or_not_found::<EndpointRow>(ctx.db()?, statement, "webhook endpoint").await?;
        audit::record(
            ctx,
            "webhook_endpoint.delete",
            "webhook_endpoint",
            Some(id),
            json!({}),
        )
        .await?;
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
        let principal = ctx.admin()?;
        let id = decode_id(&input.delivery_id, NodeKind::WebhookDelivery, "deliveryId")?;
        let statement = returning_row(
            "UPDATE webhook_deliveries
             SET status = 'pending', next_attempt_at = now(), lease_until = NULL",
            principal.organization_id,
            id,
        );
        let delivery = one_or_not_found(ctx.db()?, statement, "webhook delivery").await?;
        audit::record(
            ctx,
            "webhook_delivery.redeliver",
            "webhook_delivery",
            Some(id),
            json!({}),
        )
        .await?;
        Ok(WebhookDeliveryPayload {
            delivery: WebhookDelivery(delivery),
        })
    }
}
