use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{companies, leads};
use uuid::Uuid;

use crate::graphql::{ChildRelation, ChildTable, LoadResult, TenantLoader};

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

/// `company.leads`: live leads only.
pub struct CompanyLeads;

impl ChildRelation for CompanyLeads {
    type Row = leads::Model;
    const CHILDREN: ChildTable = ChildTable {
        table: "leads",
        parent_column: "company_id",
        condition: "AND t.deleted_at IS NULL",
    };
}

crate::timestamped!(companies::Model);
