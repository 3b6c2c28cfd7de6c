//! User management's logic (OWNER and ADMIN): create, change role, deactivate, over the
//! tenant's transaction, with the audit record of each. The organization always keeps an
//! active owner, and only an owner hands out or takes away ownership.

use entity::users::{self, Column};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use super::mutation::CreateUserInput;
use crate::{
    auth::{self, HashedPasswords},
    error::{ApiError, ApiResult},
    service::Acting,
    sql::{Changes, find_by_id, one_or_not_found},
    tenancy::Role,
    validation,
};

/// Only an owner may hand out or take away ownership.
fn check_role_change(acting: &Acting<'_>, from: Option<Role>, to: Role) -> ApiResult<()> {
    let touches_owner = to == Role::Owner || from == Some(Role::Owner);
    if touches_owner && acting.role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner may grant or change the OWNER role",
        ));
    }
    Ok(())
}

async fn find_user(acting: &Acting<'_>, id: Uuid) -> ApiResult<users::Model> {
    find_by_id::<users::Model>(acting.db, "users", acting.organization_id(), id)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

/// Refuses to leave the organization without an active owner. The active owners' rows are
/// locked, so two concurrent demotions cannot both see the other as the remaining owner.
async fn ensure_other_owner(acting: &Acting<'_>, user: &users::Model) -> ApiResult<()> {
    if user.role != Role::Owner.as_db() {
        return Ok(());
    }
    let owners = acting
        .db
        .query_all_raw(Statement::from_sql_and_values(
            acting.db.get_database_backend(),
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

async fn update_user(acting: &Acting<'_>, id: Uuid, changes: &Changes) -> ApiResult<users::Model> {
    let update = changes.update("users", acting.organization_id(), id, "");
    one_or_not_found(acting.db, update, "user").await
}

/// Adds a user to the organization; `passwords` holds the hash of its password, made before
/// the transaction opened.
pub async fn create(
    acting: &Acting<'_>,
    input: CreateUserInput,
    passwords: &HashedPasswords,
) -> ApiResult<users::Model> {
    check_role_change(acting, None, input.role)?;
    let mut changes = Changes::default();
    changes.field(Column::Email, "email", Some(input.email), |v| {
        validation::email("email", &v)
    })?;
    changes.field(Column::FullName, "fullName", Some(input.full_name), |v| {
        validation::text("fullName", &v, 200)
    })?;
    changes.field(Column::Role, "role", Some(input.role), |v| {
        validation::stored("role", v)
    })?;
    let password = validation::password(&input.password)?;
    changes.set_unaudited(Column::PasswordHash, passwords.hash_of(&password)?);
    let insert = changes.insert("users", acting.organization_id());
    let user: users::Model = one_or_not_found(acting.db, insert, "user").await?;
    acting
        .audit("user.create", "user", Some(user.id), changes.audit())
        .await?;
    Ok(user)
}

/// Changes a user's role; effective on their next request.
pub async fn update_role(acting: &Acting<'_>, id: Uuid, role: Role) -> ApiResult<users::Model> {
    let user = find_user(acting, id).await?;
    check_role_change(acting, Some(Role::from_db(&user.role)?), role)?;
    if role != Role::Owner {
        ensure_other_owner(acting, &user).await?;
    }
    let mut changes = Changes::default();
    changes.set(Column::Role, role.as_db(), "role", json!(role.as_db()));
    let user = update_user(acting, id, &changes).await?;
    acting
        .audit("user.update_role", "user", Some(id), changes.audit())
        .await?;
    Ok(user)
}

/// Deactivates a user: they can no longer sign in, and their sessions and API keys stop
/// working at once.
pub async fn deactivate(acting: &Acting<'_>, id: Uuid) -> ApiResult<users::Model> {
    if id == acting.user_id() {
        return Err(ApiError::bad_input("id", "you cannot deactivate yourself"));
    }
    let user = find_user(acting, id).await?;
    // Deactivating an owner takes ownership away: only an owner may.
    let role = Role::from_db(&user.role)?;
    check_role_change(acting, Some(role), role)?;
    ensure_other_owner(acting, &user).await?;
    let mut changes = Changes::default();
    changes.set(Column::IsActive, false, "isActive", json!(false));
    let now: chrono::DateTime<chrono::FixedOffset> = chrono::Utc::now().into();
    changes.set(Column::DeactivatedAt, now, "deactivatedAt", json!(now));
    let user = update_user(acting, id, &changes).await?;
    auth::revoke_sessions(acting.db, acting.organization_id(), id, None).await?;
    acting
        .audit("user.deactivate", "user", Some(id), changes.audit())
        .await?;
    Ok(user)
}
