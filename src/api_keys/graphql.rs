use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_keys;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use uuid::Uuid;

use crate::{
    audit,
    auth::{ApiKeySecret, sha256},
    error::{ApiError, ApiResult},
    graphql::{ContextExt, NodeKind, Page, PageArgs, decode_id, list_by_created},
    numbers::BigInt,
    sql::{one_or_not_found, returning_row},
    tenancy::Scope,
    users::User,
    users::via,
    validation,
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
    /// Requests made with the key, ever (a BigInt: it outgrows 32 bits).
    async fn usage_count(&self) -> BigInt {
        BigInt(self.0.usage_count)
    }
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
            "api_keys",
            true,
            PageArgs {
                first,
                after,
                last,
                before,
            },
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

/// The one rule for a key's rate limit, shared by create and update.
fn rate_limit(value: i32) -> Result<i32, ApiError> {
    if (1..=1_000_000).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_input(
            "rateLimitPerHour",
            "`rateLimitPerHour` must be between 1 and 1,000,000",
        ))
    }
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
        let principal = ctx.admin()?;
        let name = validation::text("name", &input.name, 100)?;
        if input.scopes.is_empty() {
            return Err(ApiError::bad_input("scopes", "give at least one scope").into());
        }
        let expires_at = input
            .expires_at
            .map(|at| validation::calendar("expiresAt", at))
            .transpose()?;
        if expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(
                ApiError::bad_input("expiresAt", "`expiresAt` must be in the future").into(),
            );
        }
        let per_hour = rate_limit(input.rate_limit_per_hour.unwrap_or(1_000))?;
        let mut scopes: Vec<String> = input.scopes.iter().map(|s| s.as_db().to_owned()).collect();
        scopes.sort();
        scopes.dedup();
        let secret = ApiKeySecret::generate();
        let key = api_keys::ActiveModel {
            organization_id: Set(principal.organization_id),
            id: Set(Uuid::new_v4()),
            name: Set(name.clone()),
            prefix: Set(secret.prefix.clone()),
            key_hash: Set(sha256(&secret.key)),
            scopes: Set(scopes.clone()),
            created_by: Set(principal.user_id),
            expires_at: Set(expires_at.map(Into::into)),
            rate_limit_per_hour: Set(per_hour),
            ..Default::default()
        }
        .insert(ctx.db()?)
        .await
        .map_err(ApiError::from)?;
        audit::record(
            ctx,
            "api_key.create",
            "api_key",
            Some(key.id),
            serde_json::json!({
                "name": name, "scopes": scopes, "prefix": secret.prefix,
                "rateLimitPerHour": per_hour,
            }),
        )
        .await?;
        Ok(CreateApiKeyPayload {
            api_key: ApiKey(key),
            secret: secret.key,
        })
    }

    /// Renames a key or changes its rate limit (applies from its next request). OWNER and
    /// ADMIN only.
    async fn update_api_key(
        &self,
        ctx: &Context<'_>,
        input: UpdateApiKeyInput,
    ) -> async_graphql::Result<ApiKeyPayload> {
        let principal = ctx.admin()?;
        let id = decode_id(&input.id, NodeKind::ApiKey, "id")?;
        let name = input
            .name
            .as_deref()
            .map(|name| validation::text("name", name, 100))
            .transpose()?;
        let per_hour = input.rate_limit_per_hour.map(rate_limit).transpose()?;
        let statement = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "UPDATE api_keys SET name = coalesce($3, name),
                    rate_limit_per_hour = coalesce($4, rate_limit_per_hour)
             WHERE organization_id = $1 AND id = $2 RETURNING *",
            [
                principal.organization_id.into(),
                id.into(),
                name.clone().into(),
                per_hour.into(),
            ],
        );
        let key: api_keys::Model = one_or_not_found(ctx.db()?, statement, "API key").await?;
        audit::record(
            ctx,
            "api_key.update",
            "api_key",
            Some(id),
            serde_json::json!({ "name": name, "rateLimitPerHour": per_hour }),
        )
        .await?;
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
        let principal = ctx.admin()?;
        let id = decode_id(&input.id, NodeKind::ApiKey, "id")?;
        let statement = returning_row(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())",
            principal.organization_id,
            id,
        );
        let key: api_keys::Model = one_or_not_found(ctx.db()?, statement, "API key").await?;
        audit::record(
            ctx,
            "api_key.revoke",
            "api_key",
            Some(id),
            serde_json::json!({}),
        )
        .await?;
        Ok(ApiKeyPayload {
            api_key: ApiKey(key),
        })
    }
}

crate::timestamped!(api_keys::Model);
