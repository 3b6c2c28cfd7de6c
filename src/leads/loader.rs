use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::leads;
use uuid::Uuid;

use crate::graphql::{LoadResult, TenantLoader};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeadId(pub Uuid);

impl Loader<LeadId> for TenantLoader {
    type Value = leads::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LeadId]) -> LoadResult<HashMap<LeadId, leads::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.by_ids::<leads::Model>("leads", &ids, |m| m.id).await?;
        Ok(rows.into_iter().map(|(id, m)| (LeadId(id), m)).collect())
    }
}

crate::timestamped!(leads::Model);
