//! Webhook endpoints' logic (OWNER and ADMIN): create, update, delete, and redelivering one
//! delivery, over the tenant's transaction, with the audit record of each. Every URL passes
//! the SSRF guard; the signing secret is made here and returned once.

use entity::webhook_endpoints::Column;
use serde_json::json;
use uuid::Uuid;

use super::{
    model::{DeliveryRow, EndpointRow},
    mutation::{CreateWebhookEndpointInput, UpdateWebhookEndpointInput},
    signing, ssrf,
};
use crate::{
    error::{ApiError, ApiResult},
    events::{EventKind, EventSubjectType, store},
    service::Acting,
    sql::{Changes, one_or_not_found, returning_row},
    validation,
};

/// An http(s) URL that resolves only to public addresses (unless `allow_private`).
async fn checked_url(url: &str, allow_private: bool) -> ApiResult<String> {
    let parsed = ssrf::parse(url.trim()).map_err(|e| ApiError::bad_input("url", e.to_string()))?;
    ssrf::resolve(&parsed, allow_private)
        .await
        .map_err(|e| ApiError::bad_input("url", e.to_string()))?;
    Ok(parsed.to_string())
}

/// A chosen set of enum values as stored: sorted, each once; empty means all.
fn db_values<T>(values: Vec<T>, as_db: fn(T) -> &'static str) -> ApiResult<Vec<String>> {
    let mut values: Vec<String> = values.into_iter().map(|v| as_db(v).to_owned()).collect();
    values.sort();
    values.dedup();
    Ok(values)
}

/// The fields of an endpoint that create and update share, as changes.
fn endpoint_changes(
    changes: &mut Changes,
    description: Option<String>,
    kinds: Option<Vec<EventKind>>,
    subject_types: Option<Vec<EventSubjectType>>,
) -> ApiResult<()> {
    changes.field(Column::Description, "description", description, |d| {
        validation::text("description", &d, 500)
    })?;
    changes.field(Column::EventKinds, "eventKinds", kinds, |k| {
        db_values(k, EventKind::as_db)
    })?;
    changes.field(Column::SubjectTypes, "subjectTypes", subject_types, |t| {
        db_values(t, EventSubjectType::as_db)
    })
}

/// Deliveries of an endpoint start after the log's newest event now.
async fn deliver_from_now(acting: &Acting<'_>, changes: &mut Changes) -> ApiResult<()> {
    let head = store::bounds(acting.db, acting.organization_id())
        .await?
        .head;
    changes.set(Column::EventCursor, head, "eventCursor", json!(head));
    Ok(())
}

/// A new endpoint and its signing secret (to be shown once).
pub async fn create(
    acting: &Acting<'_>,
    input: CreateWebhookEndpointInput,
    allow_private: bool,
) -> ApiResult<(EndpointRow, String)> {
    let mut changes = Changes::default();
    let url = checked_url(&input.url, allow_private).await?;
    changes.set(Column::Url, url.clone(), "url", json!(url));
    endpoint_changes(
        &mut changes,
        input.description,
        input.event_kinds.or(Some(Vec::new())),
        input.subject_types.or(Some(Vec::new())),
    )?;
    deliver_from_now(acting, &mut changes).await?;
    changes.set(
        Column::CreatedBy,
        acting.user_id(),
        "createdBy",
        json!(acting.user_id()),
    );
    let secret = signing::generate_secret();
    changes.set_unaudited(Column::SigningSecret, secret.clone());
    let insert = changes.insert("webhook_endpoints", acting.organization_id());
    let endpoint: EndpointRow = one_or_not_found(acting.db, insert, "webhook endpoint").await?;
    acting
        .audit(
            "webhook_endpoint.create",
            "webhook_endpoint",
            Some(endpoint.id),
            changes.audit(),
        )
        .await?;
    Ok((endpoint, secret))
}

/// Changes an endpoint's URL, kinds, subject types, description or active flag.
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateWebhookEndpointInput,
    allow_private: bool,
) -> ApiResult<EndpointRow> {
    let mut changes = Changes::default();
    if let Some(url) = &input.url {
        let url = checked_url(url, allow_private).await?;
        changes.set(Column::Url, url.clone(), "url", json!(url));
    }
    endpoint_changes(
        &mut changes,
        input.description,
        input.event_kinds,
        input.subject_types,
    )?;
    if let Some(active) = input.is_active {
        changes.set(Column::IsActive, active, "isActive", json!(active));
        if active {
            // Re-enabled: deliver from now on, not the events missed while disabled.
            deliver_from_now(acting, &mut changes).await?;
        }
    }
    if changes.is_empty() {
        return Err(ApiError::bad_input("input", "nothing to change"));
    }
    let update = changes.update("webhook_endpoints", acting.organization_id(), id, "");
    let endpoint = one_or_not_found(acting.db, update, "webhook endpoint").await?;
    acting
        .audit(
            "webhook_endpoint.update",
            "webhook_endpoint",
            Some(id),
            changes.audit(),
        )
        .await?;
    Ok(endpoint)
}

/// Queues one delivery again, at once, whatever its status.
pub async fn redeliver(acting: &Acting<'_>, id: Uuid) -> ApiResult<DeliveryRow> {
    let statement = returning_row(
        "UPDATE webhook_deliveries
         SET status = 'pending', next_attempt_at = now(), lease_until = NULL",
        acting.organization_id(),
        id,
    );
    let delivery = one_or_not_found(acting.db, statement, "webhook delivery").await?;
    acting
        .audit(
            "webhook_delivery.redeliver",
            "webhook_delivery",
            Some(id),
            json!({}),
        )
        .await?;
    Ok(delivery)
}
