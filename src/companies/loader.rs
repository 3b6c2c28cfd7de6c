use entity::{companies, leads};

use crate::graphql::{ById, ChildRelation, ChildTable};

pub type CompanyId = ById<companies::Model>;

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

crate::tenant_rows!(companies::Model => "companies");
