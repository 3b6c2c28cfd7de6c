use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{User, service};
use crate::{
    graphql::{ContextExt, NodeKind, decode_id},
    tenancy::Role,
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

#[Object]
impl UserMutation {
    /// Adds a user to the organization. OWNER and ADMIN only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let user = service::create(&ctx.acting_admin()?, input).await?;
        Ok(UserPayload { user: User(user) })
    }

    /// Changes a user's role; effective on their next request. OWNER and ADMIN only.
    async fn update_user_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserRoleInput,
    ) -> async_graphql::Result<UserPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.id, NodeKind::User, "id")?;
        let user = service::update_role(&acting, id, input.role).await?;
        Ok(UserPayload { user: User(user) })
    }

    /// Deactivates a user: they can no longer sign in, and their sessions and API keys stop
    /// working at once. OWNER and ADMIN only.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let acting = ctx.acting_admin()?;
        let id = decode_id(&input.id, NodeKind::User, "id")?;
        let user = service::deactivate(&acting, id).await?;
        Ok(UserPayload { user: User(user) })
    }
}
