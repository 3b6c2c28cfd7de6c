use async_graphql::Context;

use super::{User, via};
use crate::{
    error::ApiError,
    graphql::{ContextExt, related},
};

crate::queries! {
    UserQuery {
        by_creation {
            /// The organization's users, oldest first.
            users: member User(Asc);
        }
        extra {
            /// The signed-in user (for API keys, the key's creator).
            async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
                let principal = ctx.principal()?;
                let user = related::<User, { via::ME }>(ctx, principal.user_id).await?;
                Ok(user.ok_or(ApiError::NotFound("user"))?)
            }
        }
    }
}
