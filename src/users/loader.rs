use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::users;
use uuid::Uuid;

use crate::graphql::{LoadResult, TenantLoader};

/// A user reached through relation `VIA` (see [`via`]). Each relation is a key type of its
/// own, so each is one batch: a page costs one statement per relation, never a number that
/// depends on which relations' keys happened to arrive together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserRef<const VIA: u8>(pub Uuid);

/// The relations users are reached through.
pub mod via {
    pub const ME: u8 = 0;
    pub const ASSIGNEE: u8 = 1;
    pub const ACTIVITY_USER: u8 = 2;
    pub const NOTE_AUTHOR: u8 = 3;
    pub const KEY_CREATOR: u8 = 4;
    pub const AUDIT_ACTOR: u8 = 5;
    pub const NODE: u8 = 6;
}

impl<const VIA: u8> Loader<UserRef<VIA>> for TenantLoader {
    type Value = users::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserRef<VIA>]) -> LoadResult<HashMap<UserRef<VIA>, users::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.by_ids::<users::Model>("users", &ids, |m| m.id).await?;
        Ok(rows.into_iter().map(|(id, m)| (UserRef(id), m)).collect())
    }
}

crate::timestamped!(users::Model);
