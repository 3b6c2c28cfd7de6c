//! Users of an organization: the `User` type, `me` and `users`, and user management
//! (OWNER/ADMIN): create, change role, deactivate.

mod loader;
mod mutation;
mod query;
pub mod service;
mod types;

pub use crate::graphql::via;
pub use loader::UserRef;
pub use mutation::{CreateUserInput, UserMutation};
pub use query::UserQuery;
pub use types::User;

use async_graphql::Context;
use uuid::Uuid;

use crate::graphql::ContextExt;

/// Resolves an optional user reference, reached through relation `VIA`, with the loader.
pub async fn load<const VIA: u8>(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<User>> {
    match id {
        Some(id) => Ok(ctx
            .loader()?
            .load_one(UserRef::<VIA>::new(id))
            .await?
            .map(User)),
        None => Ok(None),
    }
}
