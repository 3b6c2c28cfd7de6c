use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{companies, leads};
use uuid::Uuid;

use crate::graphql::{ChildTable, LoadResult, TenantLoader};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompanyId(pub Uuid);

impl Loader<CompanyId> for TenantLoader {
    type Value = companies::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CompanyId]) -> LoadResult<HashMap<CompanyId, companies::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self
            .by_ids::<companies::Model>("companies", &ids, |m| m.id)
            .await?;
        Ok(rows.into_iter().map(|(id, m)| (CompanyId(id), m)).collect())
    }
}

pub const LEADS_OF_COMPANY: ChildTable = ChildTable {
    table: "leads",
    parent_column: "company_id",
    condition: "AND t.deleted_at IS NULL",
};

/// A page of one company's leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompanyLeadsPage(pub crate::graphql::ChildPageKey);

impl Loader<CompanyLeadsPage> for TenantLoader {
    type Value = Vec<leads::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[CompanyLeadsPage],
    ) -> LoadResult<HashMap<CompanyLeadsPage, Vec<leads::Model>>> {
        let pages: Vec<_> = keys.iter().map(|k| k.0).collect();
        let loaded = self.first_per_parent(LEADS_OF_COMPANY, &pages).await?;
        Ok(loaded
            .into_iter()
            .map(|(key, rows)| (CompanyLeadsPage(key), rows))
            .collect())
    }
}
