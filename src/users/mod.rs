//! Users of an organization: the `User` type, `me` and `users`, and user management
//! (OWNER/ADMIN): create, change role, deactivate.

mod mutation;
mod query;
pub mod service;
mod types;

pub use crate::graphql::via;
pub use mutation::{CreateUserInput, UserMutation};
pub use query::UserQuery;
pub use types::User;
