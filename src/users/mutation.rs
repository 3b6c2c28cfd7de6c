use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::users;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, FromQueryResult, Statement};
use uuid::Uuid;

use super::User;
use crate::{
    audit,
    auth::{self, hash_password},
    error::{ApiError, ApiResult},
    graphql::{ContextExt, NodeKind, decode_id},
    sql::{Changes, find_by_id},
    tenancy::{Principal, Role},
    validation,
};

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub full_name: String,
    /// 12 to 128 characters.
    pub password: String,
    pub role: Role,
}

#[derive(InputObject)]
pub struct UpdateUserRoleInput {
    pub id: ID,
    pub role: Role,
}

#[derive(InputObject)]
pub struct DeactivateUserInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct UserPayload {
    pub user: User,
}

#[derive(Default)]
pub struct UserMutation;

/// Only an owner may hand out or take away ownership.
fn check_role_change(principal: &Principal, from: Option<Role>, to: Role) -> ApiResult<()> {
    let touches_owner = to == Role::Owner || from == Some(Role::Owner);
    if touches_owner && principal.role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner may grant or change the OWNER role",
        ));
    }
    Ok(())
}

async fn find_user(ctx: &Context<'_>, id: Uuid) -> ApiResult<users::Model> {
    let organization_id = ctx.principal()?.organization_id;
    find_by_id::<users::Model>(ctx.db()?, "users", organization_id, id)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

/// Refuses to leave the organization without an active owner. The active owners' rows are
/// locked, so two concurrent demotions cannot both see the other as the remaining owner.
async fn ensure_other_owner(ctx: &Context<'_>, user: &users::Model) -> ApiResult<()> {
    if user.role != Role::Owner.as_db() {
        return Ok(());
    }
    let db = ctx.db()?;
    let owners = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM users WHERE organization_id = $1 AND role = 'owner' AND is_active
             FOR UPDATE",
            [user.organization_id.into()],
        ))
        .await?;
    for row in owners {
        if row.try_get_by_index::<Uuid>(0)? != user.id {
            return Ok(());
        }
    }
    Err(ApiError::Conflict(
        "the organization must keep at least one active owner".into(),
    ))
}

async fn update_user(ctx: &Context<'_>, id: Uuid, changes: &Changes) -> ApiResult<users::Model> {
    let organization_id = ctx.principal()?.organization_id;
    users::Model::find_by_statement(changes.update("users", organization_id, id, ""))
        .one(ctx.db()?)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

#[Object]
impl UserMutation {
    /// Adds a user to the organization. OWNER and ADMIN only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let principal = ctx.admin()?;
        check_role_change(principal, None, input.role)?;
        let email = validation::email("email", &input.email)?;
        let full_name = validation::text("fullName", &input.full_name, 200)?;
        let password = validation::password(&input.password)?;
        let user = users::ActiveModel {
            organization_id: Set(principal.organization_id),
            id: Set(Uuid::new_v4()),
            email: Set(email.clone()),
            full_name: Set(full_name),
            password_hash: Set(hash_password(password).await?),
            role: Set(input.role.as_db().to_owned()),
            ..Default::default()
        }
        .insert(ctx.db()?)
        .await
        .map_err(ApiError::from)?;
        audit::record(
            ctx,
            "user.create",
            "user",
            Some(user.id),
            serde_json::json!({
                "email": email, "role": input.role.as_db(),
            }),
        )
        .await?;
        Ok(UserPayload { user: User(user) })
    }

    /// Changes a user's role; effective on their next request. OWNER and ADMIN only.
    async fn update_user_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserRoleInput,
    ) -> async_graphql::Result<UserPayload> {
        let principal = ctx.admin()?;
        let id = decode_id(&input.id, NodeKind::User, "id")?;
        let user = find_user(ctx, id).await?;
        check_role_change(principal, Some(Role::from_db(&user.role)?), input.role)?;
        if input.role != Role::Owner {
            ensure_other_owner(ctx, &user).await?;
        }
        let mut changes = Changes::default();
        changes.set(
            "role",
            input.role.as_db(),
            "role",
            serde_json::json!(input.role.as_db()),
        );
        let user = update_user(ctx, id, &changes).await?;
        audit::record(ctx, "user.update_role", "user", Some(id), changes.audit()).await?;
        Ok(UserPayload { user: User(user) })
    }

    /// Deactivates a user: they can no longer sign in, and their sessions and API keys stop
    /// working at once. OWNER and ADMIN only.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let principal = ctx.admin()?;
        let id = decode_id(&input.id, NodeKind::User, "id")?;
        if id == principal.user_id {
            return Err(ApiError::bad_input("id", "you cannot deactivate yourself").into());
        }
        let user = find_user(ctx, id).await?;
        // Deactivating an owner takes ownership away: only an owner may.
        let role = Role::from_db(&user.role)?;
        check_role_change(principal, Some(role), role)?;
        ensure_other_owner(ctx, &user).await?;
        let mut changes = Changes::default();
        changes.set("is_active", false, "isActive", serde_json::json!(false));
        let now: chrono::DateTime<chrono::FixedOffset> = chrono::Utc::now().into();
        changes.set(
            "deactivated_at",
            now,
            "deactivatedAt",
            serde_json::json!(now),
        );
        let user = update_user(ctx, id, &changes).await?;
        auth::revoke_sessions(ctx.db()?, principal.organization_id, id, None).await?;
        audit::record(ctx, "user.deactivate", "user", Some(id), changes.audit()).await?;
        Ok(UserPayload { user: User(user) })
    }
}
