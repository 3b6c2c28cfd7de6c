use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_keys;

use super::service;
use crate::{
    error::ApiResult,
    graphql::{ContextExt, NodeKind, Page, PageArgs, decode_id, list_by_created},
    numbers::BigInt,
    tenancy::Scope,
    users::User,
    users::via,
};

pub struct ApiKey(pub api_keys::Model);

#[Object]
impl ApiKey {
    pub async fn id(&self) -> ID {
        NodeKind::ApiKey.id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The public part of the key (`lg_<prefix>_...`), to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn scopes(&self) -> async_graphql::Result<Vec<Scope>> {
        Ok(self
            .0
            .scopes
            .iter()
            .map(|s| Scope::from_db(s))
            .collect::<ApiResult<Vec<_>>>()?)
    }
    /// The key acts on behalf of this user.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        crate::users::load::<{ via::KEY_CREATOR }>(ctx, Some(self.0.created_by)).await
    }
    /// Requests the key may make per hour; past it, RATE_LIMITED (HTTP 429) with Retry-After.
    async fn rate_limit_per_hour(&self) -> i32 {
        self.0.rate_limit_per_hour
    }
    /// Requests made with the key, ever (a BigInt: it outgrows 32 bits). Written every
    /// `API_KEY_USAGE_FLUSH_MS` (5 s by default): it trails by up to that.
    async fn usage_count(&self) -> BigInt {
        BigInt(self.0.usage_count)
    }
    /// When the key was last used, as of its last write (see `usageCount`).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at.map(Into::into)
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at.map(Into::into)
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at.map(Into::into)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// The organization's API keys, newest first. OWNER and ADMIN only.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<ApiKey>> {
        ctx.admin()?;
        list_by_created::<api_keys::Model, _>(
            ctx,
            true,
            PageArgs::new(first, after, last, before),
            ApiKey,
        )
        .await
    }
}

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

#[derive(SimpleObject)]
pub struct ApiKeyPayload {
    pub api_key: ApiKey,
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key acting on behalf of the caller. OWNER and ADMIN only.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreateApiKeyPayload> {
        let (key, secret) = service::create(&ctx.acting_admin()?, input).await?;
        Ok(CreateApiKeyPayload {
            api_key: ApiKey(key),
            secret,
        })
    }

    /// Renames a key or changes its rate limit (applies from its next request). OWNER and
    /// ADMIN only.
    async fn update_api_key(
        &self,
        ctx: &Context<'_>,
        input: UpdateApiKeyInput,
    ) -> async_graphql::Result<ApiKeyPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.id, NodeKind::ApiKey, "id")?;
        let key = service::update(&acting, id, input).await?;
        Ok(ApiKeyPayload {
            api_key: ApiKey(key),
        })
    }

    /// Revokes a key; requests with it fail from now on. OWNER and ADMIN only.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> async_graphql::Result<ApiKeyPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.id, NodeKind::ApiKey, "id")?;
        let key = service::revoke(&acting, id).await?;
        Ok(ApiKeyPayload {
            api_key: ApiKey(key),
        })
    }
}

crate::tenant_rows!(api_keys::Model => "api_keys");
