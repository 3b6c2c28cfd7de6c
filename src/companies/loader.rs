use entity::{companies, leads};

use crate::graphql::ById;

pub type CompanyId = ById<companies::Model>;

crate::children!(
    /// `company.leads`: live leads only.
    CompanyLeads: leads::Model, by "company_id", where "AND t.deleted_at IS NULL"
);

crate::tenant_rows!(companies::Model => "companies" as "company");
