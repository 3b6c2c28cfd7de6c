use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_keys;

use super::{ApiKey, service};
use crate::{
    graphql::{NodeKind, decode_id},
    tenancy::Scope,
};

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    /// At least one of READ, WRITE.
    pub scopes: Vec<Scope>,
    /// When the key stops working; never when null.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per hour, 1 to 1,000,000; 1,000 when absent.
    pub rate_limit_per_hour: Option<i32>,
}

#[derive(InputObject)]
pub struct UpdateApiKeyInput {
    pub id: ID,
    /// Unchanged when absent.
    pub name: Option<String>,
    /// Requests per hour, 1 to 1,000,000; unchanged when absent.
    pub rate_limit_per_hour: Option<i32>,
}

#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: ApiKey,
    /// The key itself. Shown this once; store it safely.
    pub secret: String,
}

impl From<(api_keys::Model, String)> for CreateApiKeyPayload {
    fn from((key, secret): (api_keys::Model, String)) -> Self {
        Self {
            api_key: ApiKey(key),
            secret,
        }
    }
}

crate::payloads! {
    ApiKeyPayload { api_key: ApiKey }
}

crate::mutations! {
    ApiKeyMutation;
    /// Creates an API key acting on behalf of the caller. OWNER and ADMIN only.
    create_api_key(input: CreateApiKeyInput) -> CreateApiKeyPayload,
        admin |acting, ctx| service::create(&acting, input);
    /// Renames a key or changes its rate limit (applies within `API_KEY_CACHE_MS`, 5 s by
    /// default). OWNER and ADMIN only.
    update_api_key(input: UpdateApiKeyInput) -> ApiKeyPayload,
        admin |acting, ctx| {
            let id = decode_id(&input.id, NodeKind::ApiKey, "id")?;
            service::update(&acting, id, input)
        };
    /// Revokes a key; requests with it fail from now on. OWNER and ADMIN only.
    revoke_api_key(input: RevokeApiKeyInput) -> ApiKeyPayload,
        admin |acting, ctx| service::revoke(&acting, decode_id(&input.id, NodeKind::ApiKey, "id")?);
}
