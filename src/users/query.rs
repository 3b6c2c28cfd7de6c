use async_graphql::{Context, Object};
use entity::users;

use super::{User, UserRef, via};
use crate::{
    error::ApiError,
    graphql::{
        ContextExt, CountSource, KeysetCursor, Page, PageArgs, Sort, connection, encode_cursor,
        keyset_page, timestamp_key,
    },
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
            .load_one(UserRef::<{ via::ME }>(principal.user_id))
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
        let principal = ctx.principal()?;
        let window = PageArgs {
            first,
            after,
            last,
            before,
        }
        .window()?;
        let sort = Sort {
            column: "created_at",
            sql_type: "timestamptz",
            descending: false,
        };
        let (slice, count) = keyset_page::<users::Model>(
            ctx.db(),
            "users",
            principal.organization_id,
            &|_| {},
            sort,
            &window,
        )
        .await?;
        Ok(connection(
            slice,
            CountSource::Sql(count),
            |m| encode_cursor(&KeysetCursor(timestamp_key(&m.created_at), m.id)),
            User,
        ))
    }
}
