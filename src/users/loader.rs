use entity::users;

use crate::graphql::ById;

/// A user reached through relation `VIA` (see [`crate::graphql::via`]).
pub type UserRef<const VIA: u8> = ById<users::Model, VIA>;

crate::tenant_rows!(users::Model => "users");
