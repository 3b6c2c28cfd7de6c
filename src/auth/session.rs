//! Login sessions: a refresh-token family per login, rotated on every refresh; the access
//! token names the family so logging out ends it at once.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::secrets::{new_refresh_token, sha256};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
    tenancy::{TenantPool, TenantSettings},
};

pub struct IssuedSession {
    pub access_token: String,
    pub refresh_token: String,
}

fn refresh_expiry(app: &AppState) -> chrono::DateTime<Utc> {
    Utc::now() + app.refresh_token_ttl
}

/// Starts a new session family for a user whose tenant is already set on `conn`.
pub async fn start(
    conn: &impl ConnectionTrait,
    app: &AppState,
    tenant: TenantSettings,
) -> ApiResult<IssuedSession> {
    let family = Uuid::new_v4();
    let refresh_token = new_refresh_token();
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO refresh_tokens (organization_id, user_id, family_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        [
            tenant.organization_id.into(),
            tenant.user_id.into(),
            family.into(),
            sha256(&refresh_token).into(),
            refresh_expiry(app).into(),
        ],
    ))
    .await?;
    Ok(IssuedSession {
        access_token: app
            .jwt
            .issue(tenant.organization_id, tenant.user_id, family),
        refresh_token,
    })
}

/// Rotates a refresh token through `auth_rotate_refresh_token`, in its own autocommit
/// statement (with its reply bounded, as every statement before a tenant is known): a
/// detected reuse must revoke the family even though this request then fails.
pub async fn rotate(
    pool: &TenantPool,
    app: &AppState,
    presented: &str,
) -> ApiResult<(TenantSettings, IssuedSession)> {
    // Not one of ours, and PostgreSQL text cannot carry it.
    if presented.contains('\0') {
        return Err(ApiError::InvalidCredentials(
            "invalid or expired refresh token",
        ));
    }
    let refresh_token = new_refresh_token();
    // The function hashes both tokens itself: it cannot be driven with a stored hash.
    let row = pool
        .query_one_alone(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT outcome, organization_id, user_id, family_id
             FROM auth_rotate_refresh_token($1, $2, $3)",
            [
                presented.into(),
                refresh_token.clone().into(),
                refresh_expiry(app).into(),
            ],
        ))
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("rotation returned no row")))?;
    let outcome: String = row.try_get_by_index(0)?;
    if outcome != "ok" {
        if outcome == "reused" {
            tracing::warn!("refresh token reuse detected; session family revoked");
        }
        return Err(ApiError::InvalidCredentials(
            "invalid or expired refresh token",
        ));
    }
    let tenant = TenantSettings {
        organization_id: row.try_get_by_index(1)?,
        user_id: row.try_get_by_index(2)?,
    };
    let family: Uuid = row.try_get_by_index(3)?;
    Ok((
        tenant,
        IssuedSession {
            access_token: app
                .jwt
                .issue(tenant.organization_id, tenant.user_id, family),
            refresh_token,
        },
    ))
}

/// Ends every session of `user_id` (deactivation) or one family (logout).
pub async fn revoke(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    user_id: Uuid,
    family_id: Option<Uuid>,
) -> ApiResult<()> {
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE organization_id = $1 AND user_id = $2 AND revoked_at IS NULL
           AND ($3::uuid IS NULL OR family_id = $3)",
        [organization_id.into(), user_id.into(), family_id.into()],
    ))
    .await?;
    Ok(())
}
