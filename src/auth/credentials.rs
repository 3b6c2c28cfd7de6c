//! From a request's headers to a [`Principal`]: `Authorization: Bearer <jwt|api key>` or
//! `X-Api-Key: <api key>`. The organization comes from the verified token or key only.

use std::time::Duration;

use axum::http::HeaderMap;
use sea_orm::{DbBackend, Statement};

use super::{
    ApiKeySecret, JwtKeys, KeyUsage, VerifiedKeys,
    verified_principals::{PrincipalKey, VerifiedPrincipals},
};
use crate::{
    error::{ApiError, ApiResult},
    tenancy::{
        Credential, Principal, Role, Scope, SessionStatement, TenantPool, TenantSettings, TenantTx,
    },
};

/// A credential as sent, not yet verified.
#[derive(Debug)]
pub enum PresentedCredential {
    AccessToken(String),
    ApiKey(String),
}

impl PresentedCredential {
    /// `Ok(None)` when the request carries no credential; an error when it carries a malformed
    /// one (a client that sends a credential expects it to be used, not silently ignored).
    pub fn from_headers(headers: &HeaderMap) -> ApiResult<Option<Self>> {
        let header = |name: &str| -> ApiResult<Option<String>> {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(|s| s.trim().to_owned())
                        .map_err(|_| ApiError::Unauthenticated)
                })
                .transpose()
        };
        if let Some(key) = header("x-api-key")? {
            return Ok(Some(Self::ApiKey(key)));
        }
        let Some(authorization) = header("authorization")? else {
            return Ok(None);
        };
        let Some(token) = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
        else {
            return Err(ApiError::InvalidCredentials(
                "expected `Authorization: Bearer <token>`",
            ));
        };
        Ok(Some(Self::from_token(token)))
    }

    /// A bare token: an API key by its shape, otherwise an access token.
    pub fn from_token(token: &str) -> Self {
        let token = token.trim().to_owned();
        if ApiKeySecret::prefix_of(&token).is_some() {
            Self::ApiKey(token)
        } else {
            Self::AccessToken(token)
        }
    }
}

/// Who a verified credential speaks for, before the database has confirmed the user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant: TenantSettings,
    pub credential: Credential,
}

/// Verifies the credential: a JWT by signature and expiry, an API key through the
/// `auth_api_key` pre-authentication function (or `verified`, when it was lately); a key's use
/// is counted in `usage`.
pub async fn authenticate(
    pool: &TenantPool,
    jwt: &JwtKeys,
    (verified, usage): (&VerifiedKeys, &KeyUsage),
    presented: PresentedCredential,
) -> ApiResult<Identity> {
    let invalid = ApiError::InvalidCredentials("invalid or expired credentials");
    match presented {
        PresentedCredential::AccessToken(token) => {
            let claims = jwt.verify(&token).ok_or(invalid)?;
            Ok(Identity {
                tenant: TenantSettings {
                    organization_id: claims.org,
                    user_id: claims.sub,
                },
                credential: Credential::Session {
                    family_id: claims.fam,
                },
            })
        }
        PresentedCredential::ApiKey(key) => {
            // PostgreSQL text cannot carry NUL; no key of ours has one.
            if key.contains('\0') {
                return Err(invalid);
            }
            let digest = VerifiedKeys::digest(&key);
            if let Some(identity) = verified.get(&digest) {
                if let Some(api_key_id) = identity.credential.api_key_id() {
                    usage.record(identity.tenant.organization_id, api_key_id);
                }
                return Ok(identity);
            }
            let prefix = ApiKeySecret::prefix_of(&key).ok_or(invalid)?;
            // The function hashes the key itself: it cannot be driven with a stored hash.
            let row = pool
                .query_one_alone(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT organization_id, api_key_id, user_id, scopes, rate_limit_per_hour
                     FROM auth_api_key($1, $2)",
                    [prefix.into(), key.as_str().into()],
                ))
                .await?
                .ok_or(ApiError::InvalidCredentials(
                    "invalid or expired credentials",
                ))?;
            let scopes = row
                .try_get_by_index::<Vec<String>>(3)?
                .iter()
                .map(|s| Scope::from_db(s))
                .collect::<ApiResult<_>>()?;
            let organization_id = row.try_get_by_index(0)?;
            let api_key_id = row.try_get_by_index(1)?;
            usage.record(organization_id, api_key_id);
            let identity = Identity {
                tenant: TenantSettings {
                    organization_id,
                    user_id: row.try_get_by_index(2)?,
                },
                credential: Credential::ApiKey {
                    api_key_id,
                    scopes,
                    rate_limit_per_hour: row.try_get_by_index::<i32>(4)?.max(1) as u32,
                },
            };
            verified.insert(digest, identity.clone());
            Ok(identity)
        }
    }
}

/// Begins the caller's tenant transaction and confirms, in the same round trip, that the user
/// is still active, that the session has not been logged out or the key revoked, and reads the
/// user's current role. With `principals`, a principal confirmed lately (and not changed since)
/// skips the check, and one confirmed now is kept.
pub async fn begin_as_principal(
    pool: &TenantPool,
    principals: Option<&VerifiedPrincipals>,
    read_only: bool,
    statement_timeout: Duration,
    identity: Identity,
) -> ApiResult<(TenantTx, Principal)> {
    let key = PrincipalKey::of(&identity);
    if let Some(role) = principals.and_then(|principals| principals.get(&key)) {
        let tx = TenantTx::begin(pool, read_only, statement_timeout, Some(identity.tenant)).await?;
        return Ok((tx, identity.confirmed(role)));
    }
    // Taken before the check's snapshot: a change committed after it forgets, and so voids it.
    let ticket = principals.and_then(|principals| principals.ticket(&key));
    let (execute, statement) = principal_check(&identity);
    let (tx, rows) = TenantTx::begin_with(
        pool,
        read_only,
        statement_timeout,
        identity.tenant,
        (&execute, statement),
    )
    .await?;
    let Some(row) = rows.first() else {
        tx.rollback().await?;
        return Err(ApiError::InvalidCredentials(
            "invalid or expired credentials",
        ));
    };
    let role = Role::from_db(&row.try_get_by_index::<String>(0)?)?;
    // By the database's clock, which judged the expiry.
    let expires_in_ms = row.try_get_by_index::<Option<i64>>(1)?;
    if let (Some(principals), Some(ticket)) = (principals, ticket) {
        let expires_in = expires_in_ms.map(|ms| Duration::from_millis(ms.max(0) as u64));
        principals.insert(ticket, key, role, expires_in);
    }
    Ok((tx, identity.confirmed(role)))
}

impl Identity {
    /// The principal this identity is, confirmed to hold with `role`.
    fn confirmed(self, role: Role) -> Principal {
        Principal {
            organization_id: self.tenant.organization_id,
            user_id: self.tenant.user_id,
            role,
            credential: self.credential,
        }
    }
}

/// A principal check: the user (`$2`) active in the organization (`$1`) and `$credential_holds`
/// true of the credential (`$3`, found by `$joins`). Its one row is the user's current role and
/// the milliseconds until the credential expires (NULL: not before the access token); no row
/// when the principal does not hold.
macro_rules! principal_statement {
    ($name:literal, $credential:literal, $expires_in_ms:literal, $joins:literal, $credential_holds:literal) => {
        SessionStatement {
            name: $name,
            prepare: concat!(
                "PREPARE ",
                $name,
                "(uuid, uuid, uuid) AS
                 SELECT u.role, ",
                $expires_in_ms,
                " FROM users u ",
                $joins,
                " WHERE u.organization_id = $1 AND u.id = $2 AND u.is_active AND ",
                $credential_holds
            ),
            reported: concat!(
                "EXECUTE ",
                $name,
                "($organization, $user, ",
                $credential,
                ")"
            ),
        }
    };
}

/// A session's: its refresh-token family not logged out.
static SESSION_PRINCIPAL: SessionStatement = principal_statement!(
    "lg_session_principal",
    "$session_family",
    "NULL::bigint",
    "",
    "EXISTS (SELECT 1 FROM refresh_tokens r
             WHERE r.organization_id = $1 AND r.family_id = $3 AND r.revoked_at IS NULL)"
);

/// An API key's: the key neither revoked nor expired.
static API_KEY_PRINCIPAL: SessionStatement = principal_statement!(
    "lg_api_key_principal",
    "$api_key",
    "(extract(epoch FROM k.expires_at - now()) * 1000)::bigint",
    "JOIN api_keys k ON k.organization_id = u.organization_id AND k.id = $3",
    "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"
);

/// The principal check for `identity`: a statement each connection prepares once, one for each
/// kind of credential so that its plan never depends on the values (PostgreSQL keeps a generic
/// plan), and its `EXECUTE`, formatted from parsed UUIDs only (the opening batch takes no
/// parameters). It returns the role, or no row when the principal does not hold.
fn principal_check(identity: &Identity) -> (String, &'static SessionStatement) {
    let (statement, credential) = match &identity.credential {
        Credential::Session { family_id } => (&SESSION_PRINCIPAL, *family_id),
        Credential::ApiKey { api_key_id, .. } => (&API_KEY_PRINCIPAL, *api_key_id),
    };
    let execute = format!(
        "EXECUTE {name}('{org}', '{user}', '{credential}')",
        name = statement.name,
        org = identity.tenant.organization_id,
        user = identity.tenant.user_id,
    );
    (execute, statement)
}

/// Confirms that a long-lived connection's credential still holds (user active, session not
/// logged out, key not revoked), in a short transaction of its own.
pub async fn revalidate(
    pool: &TenantPool,
    identity: &Identity,
    statement_timeout: Duration,
) -> ApiResult<Principal> {
    let (tx, principal) =
        begin_as_principal(pool, None, true, statement_timeout, identity.clone()).await?;
    tx.commit().await?;
    Ok(principal)
}
