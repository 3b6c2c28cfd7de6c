use async_graphql::{Context, Object};
use entity::users;

use super::{User, UserRef, via};
use crate::{
    error::ApiError,
    graphql::{ContextExt, Page, PageArgs, list_by_created},
};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user (for API keys, the key's creator).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let principal = ctx.principal()?;
        let user = ctx
            .loader()?
            .load_one(UserRef::<{ via::ME }>::new(principal.user_id))
            .await?;
        Ok(User(user.ok_or(ApiError::NotFound("user"))?))
    }

    /// The organization's users, oldest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<User>> {
        ctx.principal()?;
        list_by_created::<users::Model, _>(
            ctx,
            false,
            PageArgs::new(first, after, last, before),
            User,
        )
        .await
    }
}
