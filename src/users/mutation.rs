use async_graphql::{ID, InputObject};

use super::{User, service};
use crate::{
    auth::HashedPasswords,
    graphql::{NodeKind, decode_id},
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

crate::payloads! {
    UserPayload { user: User }
}

crate::mutations! {
    UserMutation;
    /// Adds a user to the organization. OWNER and ADMIN only.
    create_user(input: CreateUserInput) -> UserPayload,
        admin |acting, ctx| {
            let passwords = ctx.data_opt::<HashedPasswords>().unwrap_or(HashedPasswords::none());
            service::create(&acting, input, passwords)
        };
    /// Changes a user's role; effective on their next request. OWNER and ADMIN only.
    update_user_role(input: UpdateUserRoleInput) -> UserPayload,
        admin |acting, ctx| {
            let id = decode_id(&input.id, NodeKind::User, "id")?;
            service::update_role(&acting, id, input.role)
        };
    /// Deactivates a user: they can no longer sign in, and their sessions and API keys stop
    /// working at once. OWNER and ADMIN only.
    deactivate_user(input: DeactivateUserInput) -> UserPayload,
        admin |acting, ctx| service::deactivate(&acting, decode_id(&input.id, NodeKind::User, "id")?);
}
