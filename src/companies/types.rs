use chrono::{DateTime, Utc};
use entity::{companies, leads};

use crate::{
    deals::{CompanyDeals, Deal},
    graphql::ById,
    leads::Lead,
    numbers::Money,
};

crate::object! {
    Company(companies::Model) as Company {
        name: &str,
        /// Unique per organization, lower-case.
        domain: Option<&str>,
        industry: Option<&str>,
        employee_count: Option<i32>,
        fortune_rank: Option<i32>,
        headquarters_location: Option<&str>,
        website: Option<&str>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    children {
        /// The company's live leads, newest first.
        leads: Lead by CompanyLeads,
        /// The company's live deals, newest first.
        deals: Deal by CompanyDeals,
    }
    extra {
        async fn annual_revenue(&self) -> Option<Money> {
            Money::from_columns(self.0.annual_revenue, &self.0.annual_revenue_currency)
        }
        async fn is_fortune500(&self) -> bool {
            self.0.fortune_rank.is_some_and(|rank| rank <= 500)
        }
    }
}

pub type CompanyId = ById<companies::Model>;

crate::children!(
    /// `company.leads`: live leads only.
    CompanyLeads: leads::Model, by "company_id", where "AND t.deleted_at IS NULL"
);

crate::tenant_rows!(
    // Read on every dashboard: decoded by place.
    companies::Model => "companies" as "company" in columns (
        organization_id, id, name, domain, industry, employee_count, annual_revenue,
        fortune_rank, headquarters_location, website, created_at, updated_at,
        annual_revenue_currency
    )
);
