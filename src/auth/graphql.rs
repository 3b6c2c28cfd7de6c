//! Sign-up, login, session refresh and logout. These run before (or instead of) an
//! authenticated principal: the request's transaction starts without a tenant, and sets it
//! only once the caller is proven.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use entity::{organizations, users};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::{hash_password, session, sha256, verify_password};
use crate::{
    audit::{self, Actor},
    error::{ApiError, ApiResult},
    graphql::{ContextExt, RequestTx},
    organizations::Organization,
    sql::find_by_id,
    tenancy::{Credential, Role, TenantPool, TenantSettings, TenantTx},
    users::User,
    validation,
};

#[derive(InputObject)]
pub struct SignUpInput {
    pub organization_name: String,
    /// Lower-case letters, digits and inner hyphens; used to sign in.
    pub organization_slug: String,
    pub email: String,
    /// 12 to 128 characters.
    pub password: String,
    pub full_name: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub organization_slug: String,
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A JWT for `Authorization: Bearer`, valid for at most 15 minutes.
    pub access_token: String,
    /// Opaque; exchange it with `refreshSession`. Each one works once.
    pub refresh_token: String,
    pub user: User,
    pub organization: Organization,
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    pub success: bool,
}

#[derive(Default)]
pub struct AuthMutation;

/// Refuses to re-authenticate inside an authenticated request.
fn anonymous_only(ctx: &Context<'_>) -> ApiResult<()> {
    if ctx.request().principal.is_some() {
        return Err(ApiError::bad_input(
            "input",
            "already authenticated; send this without credentials",
        ));
    }
    Ok(())
}

/// Begins the request's transaction as the caller just proven. A sign-in's request has none
/// until here: its lookups run as single statements and argon2 runs with no connection held.
async fn begin_as<'c>(ctx: &'c Context<'_>, tenant: TenantSettings) -> ApiResult<&'c TenantTx> {
    let RequestTx::Request(cell) = &ctx.request().tx else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "sign-in outside an HTTP request"
        )));
    };
    let app = ctx.app();
    let tx = TenantTx::begin(
        &app.tenants,
        false,
        app.limits.request_timeout,
        Some(tenant),
    )
    .await?;
    cell.set(tx).map_err(|_| {
        ApiError::internal(anyhow::anyhow!("the request transaction is already open"))
    })?;
    cell.get()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the request transaction vanished")))
}

/// Who a sign-in attempt is counted against: the account (organization slug and e-mail,
/// hashed: the throttle table is global and keeps no addresses of people) and the address.
struct SignInAttempt {
    account: String,
    address: String,
}

impl SignInAttempt {
    fn new(slug: &str, email: &str, client_ip: Option<std::net::IpAddr>) -> Self {
        let account = format!(
            "{}\n{}",
            slug.trim().to_lowercase(),
            email.trim().to_lowercase()
        );
        Self {
            account: sha256(&account)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            address: client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        }
    }

    /// Takes back the failure the attempt was counted as.
    async fn succeeded(&self, pool: &TenantPool) -> ApiResult<()> {
        pool.query_one_alone(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT auth_sign_in_succeeded($1, $2)",
            [self.account.as_str().into(), self.address.as_str().into()],
        ))
        .await?;
        Ok(())
    }
}

async fn find_user(conn: &impl ConnectionTrait, tenant: TenantSettings) -> ApiResult<users::Model> {
    find_by_id::<users::Model>(conn, "users", tenant.organization_id, tenant.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

/// What a sign-in records in the audit log.
struct Audited {
    action: &'static str,
    resource_type: &'static str,
    resource_id: Uuid,
    changes: serde_json::Value,
}

/// Starts a session for a proven user (tenant already set) and records it.
async fn signed_in(
    ctx: &Context<'_>,
    tenant: TenantSettings,
    audited: Audited,
    user: users::Model,
    organization: organizations::Model,
) -> ApiResult<AuthPayload> {
    let db = ctx.db()?;
    let issued = session::start(db, ctx.app(), tenant).await?;
    let actor = Actor {
        tenant,
        api_key_id: None,
    };
    let Audited {
        action,
        resource_type,
        resource_id,
        changes,
    } = audited;
    audit::record_as(
        db,
        &ctx.request().meta,
        &actor,
        action,
        resource_type,
        Some(resource_id),
        changes,
    )
    .await?;
    Ok(AuthPayload {
        access_token: issued.access_token,
        refresh_token: issued.refresh_token,
        user: User(user),
        organization: Organization(organization),
    })
}

#[Object]
impl AuthMutation {
    /// Creates an organization and its first user, who becomes its OWNER.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        anonymous_only(ctx)?;
        let name = validation::text("organizationName", &input.organization_name, 200)?;
        let slug = validation::slug(&input.organization_slug)?;
        let email = validation::email("email", &input.email)?;
        let full_name = validation::text("fullName", &input.full_name, 200)?;
        let password = validation::password(&input.password)?;
        let password_hash = hash_password(password).await?;
        let tenant = TenantSettings {
            organization_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
        };
        // The new organization is the tenant being created: policies admit exactly its rows.
        let db = begin_as(ctx, tenant).await?.conn();
        let organization = organizations::ActiveModel {
            id: Set(tenant.organization_id),
            name: Set(name),
            slug: Set(slug),
            ..Default::default()
        }
        .insert(db)
        .await
        .map_err(|err| match ApiError::from(err) {
            ApiError::Conflict(_) => ApiError::Conflict("this organization slug is taken".into()),
            other => other,
        })?;
        let user = users::ActiveModel {
            organization_id: Set(tenant.organization_id),
            id: Set(tenant.user_id),
            email: Set(email),
            full_name: Set(full_name),
            password_hash: Set(password_hash),
            role: Set(Role::Owner.as_db().to_owned()),
            ..Default::default()
        }
        .insert(db)
        .await
        .map_err(ApiError::from)?;
        let sign_up = Audited {
            action: "organization.sign_up",
            resource_type: "organization",
            resource_id: tenant.organization_id,
            changes: serde_json::json!({ "slug": organization.slug }),
        };
        Ok(signed_in(ctx, tenant, sign_up, user, organization).await?)
    }

    /// Signs in with the organization's slug, an e-mail and a password. Wrong credentials of
    /// any kind give the same UNAUTHENTICATED error.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        anonymous_only(ctx)?;
        let throttle = &ctx.app().limits.sign_in;
        let attempt = SignInAttempt::new(
            &input.organization_slug,
            &input.email,
            ctx.request().meta.client_ip,
        );
        // One statement on its own (no transaction is open while argon2 runs below): counts
        // the attempt against the account and the address, or says how long they must wait,
        // and finds the candidate user.
        let pool = &ctx.app().tenants;
        let row = pool
            .query_one_alone(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT w.wait, c.organization_id, c.user_id, c.password_hash, c.is_active
                 FROM auth_sign_in_attempt($1, $2, $3, $4, $5 * interval '1 second',
                                           $6 * interval '1 second') AS w(wait)
                 LEFT JOIN auth_login_candidate($7, $8) c ON true",
                [
                    attempt.account.as_str().into(),
                    attempt.address.as_str().into(),
                    throttle.free_failures.into(),
                    throttle.address_failures_per_window.into(),
                    (throttle.address_window.as_secs() as i64).into(),
                    (throttle.max_backoff.as_secs() as i64).into(),
                    input.organization_slug.trim().into(),
                    input.email.trim().into(),
                ],
            ))
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("sign-in attempt returned no row"))
            })?;
        let wait: f64 = row.try_get_by_index(0).map_err(ApiError::from)?;
        if wait > 0.0 {
            return Err(ApiError::RateLimited {
                message: format!(
                    "too many failed sign-ins for this account or address; try again in {} s",
                    wait.ceil()
                ),
                retry_after: std::time::Duration::from_secs_f64(wait.ceil()),
            }
            .into());
        }
        let candidate: Option<Uuid> = row.try_get_by_index(1).map_err(ApiError::from)?;
        let (tenant, hash, active) = match candidate {
            Some(organization_id) => (
                Some(TenantSettings {
                    organization_id,
                    user_id: row.try_get_by_index(2).map_err(ApiError::from)?,
                }),
                Some(row.try_get_by_index::<String>(3).map_err(ApiError::from)?),
                row.try_get_by_index::<bool>(4).map_err(ApiError::from)?,
            ),
            None => (None, None, false),
        };
        let verified = verify_password(input.password, hash).await?;
        let (Some(tenant), true, true) = (tenant, verified, active) else {
            return Err(
                ApiError::InvalidCredentials("invalid organization, e-mail or password").into(),
            );
        };
        attempt.succeeded(pool).await?;
        let db = begin_as(ctx, tenant).await?.conn();
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE users SET last_login_at = now(), login_count = login_count + 1
             WHERE organization_id = $1 AND id = $2",
            [tenant.organization_id.into(), tenant.user_id.into()],
        ))
        .await
        .map_err(ApiError::from)?;
        let login = Audited {
            action: "user.login",
            resource_type: "user",
            resource_id: tenant.user_id,
            changes: serde_json::json!({}),
        };
        let user = find_user(db, tenant).await?;
        let organization = crate::organizations::find(db, tenant.organization_id).await?;
        Ok(signed_in(ctx, tenant, login, user, organization).await?)
    }

    /// Exchanges a refresh token for a new pair. A token works once: presenting a used one
    /// again revokes the whole session, as it signals theft.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> async_graphql::Result<AuthPayload> {
        anonymous_only(ctx)?;
        let (tenant, issued) =
            session::rotate(&ctx.app().tenants, ctx.app(), &input.refresh_token).await?;
        let tx = begin_as(ctx, tenant).await?;
        Ok(AuthPayload {
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
            user: User(find_user(tx.conn(), tenant).await?),
            organization: Organization(
                crate::organizations::find(tx.conn(), tenant.organization_id).await?,
            ),
        })
    }

    /// Ends the current session: its refresh tokens and access tokens stop working at once.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<LogoutPayload> {
        let principal = ctx.principal()?;
        let Credential::Session { family_id } = principal.credential else {
            return Err(ApiError::bad_input(
                "input",
                "API keys have no session; revoke the key instead",
            )
            .into());
        };
        session::revoke(
            ctx.db()?,
            principal.organization_id,
            principal.user_id,
            Some(family_id),
        )
        .await?;
        audit::record(
            ctx,
            "user.logout",
            "user",
            Some(principal.user_id),
            serde_json::json!({}),
        )
        .await?;
        Ok(LogoutPayload { success: true })
    }
}
