use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::users;
use uuid::Uuid;

use crate::graphql::{LoadResult, TenantLoader};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

impl Loader<UserId> for TenantLoader {
    type Value = users::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserId]) -> LoadResult<HashMap<UserId, users::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.by_ids::<users::Model>("users", &ids, |m| m.id).await?;
        Ok(rows.into_iter().map(|(id, m)| (UserId(id), m)).collect())
    }
}
