//! API keys' logic (OWNER and ADMIN): create, update, revoke over the tenant's transaction,
//! with the audit record of each. A key acts on behalf of its creator; only its SHA-256 and
//! a public prefix are stored.

use chrono::Utc;
use entity::api_keys::{self, Column};
use serde_json::json;
use uuid::Uuid;

use super::mutation::{CreateApiKeyInput, UpdateApiKeyInput};
use crate::{
    auth::{ApiKeySecret, sha256},
    error::{ApiError, ApiResult},
    service::Acting,
    sql::{Changes, one_or_not_found, returning_row},
    validation,
};

/// The one rule for a key's rate limit, shared by create and update.
fn rate_limit(field: &'static str, value: i32) -> ApiResult<i32> {
    validation::range(field, value, 1, 1_000_000)
}

/// A new key and its secret (to be shown once).
pub async fn create(
    acting: &Acting<'_>,
    input: CreateApiKeyInput,
) -> ApiResult<(api_keys::Model, String)> {
    if input.scopes.is_empty() {
        return Err(ApiError::bad_input("scopes", "give at least one scope"));
    }
    let expires_at = input
        .expires_at
        .map(|at| validation::calendar("expiresAt", at))
        .transpose()?;
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::bad_input(
            "expiresAt",
            "`expiresAt` must be in the future",
        ));
    }
    let mut scopes: Vec<String> = input.scopes.iter().map(|s| s.as_db().to_owned()).collect();
    scopes.sort();
    scopes.dedup();
    let secret = ApiKeySecret::generate();
    let mut changes = Changes::default();
    changes.field(Column::Name, "name", Some(input.name), |v| {
        validation::text("name", &v, 100)
    })?;
    changes.set(Column::Scopes, scopes.clone(), "scopes", json!(scopes));
    changes.set(
        Column::Prefix,
        secret.prefix.clone(),
        "prefix",
        json!(secret.prefix),
    );
    changes.field(
        Column::RateLimitPerHour,
        "rateLimitPerHour",
        Some(input.rate_limit_per_hour.unwrap_or(1_000)),
        |v| rate_limit("rateLimitPerHour", v),
    )?;
    let expires_at: Option<chrono::DateTime<chrono::FixedOffset>> = expires_at.map(Into::into);
    changes.set(
        Column::ExpiresAt,
        expires_at,
        "expiresAt",
        json!(expires_at),
    );
    changes.set(
        Column::CreatedBy,
        acting.user_id(),
        "createdBy",
        json!(acting.user_id()),
    );
    changes.set_unaudited(Column::KeyHash, sha256(&secret.key));
    let insert = changes.insert("api_keys", acting.organization_id());
    let key: api_keys::Model = one_or_not_found(acting.db, insert, "API key").await?;
    acting
        .audit("api_key.create", "api_key", Some(key.id), changes.audit())
        .await?;
    Ok((key, secret.key))
}

/// Renames a key or changes its rate limit (applies within `API_KEY_CACHE_MS`).
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateApiKeyInput,
) -> ApiResult<api_keys::Model> {
    let mut changes = Changes::default();
    changes.field(Column::Name, "name", input.name, |v| {
        validation::text("name", &v, 100)
    })?;
    changes.field(
        Column::RateLimitPerHour,
        "rateLimitPerHour",
        input.rate_limit_per_hour,
        |v| rate_limit("rateLimitPerHour", v),
    )?;
    if changes.is_empty() {
        return Err(ApiError::bad_input("input", "nothing to update"));
    }
    let update = changes.update("api_keys", acting.organization_id(), id, "");
    let key = one_or_not_found(acting.db, update, "API key").await?;
    acting
        .audit("api_key.update", "api_key", Some(id), changes.audit())
        .await?;
    Ok(key)
}

/// Revokes a key; requests with it fail from now on.
pub async fn revoke(acting: &Acting<'_>, id: Uuid) -> ApiResult<api_keys::Model> {
    let statement = returning_row(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())",
        acting.organization_id(),
        id,
    );
    let key = one_or_not_found(acting.db, statement, "API key").await?;
    acting
        .audit("api_key.revoke", "api_key", Some(id), json!({}))
        .await?;
    Ok(key)
}
