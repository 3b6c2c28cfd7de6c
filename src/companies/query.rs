use async_graphql::InputObject;
use entity::companies::Column;

use super::Company;
use crate::{
    error::ApiResult,
    graphql::{ListFilter, Where},
    sql::{SqlBuilder, contains_pattern},
    validation,
};

/// Companies matching every given field; also filters leads by their company
/// (`leads(filter: { company: {...} })`).
#[derive(InputObject, Default)]
pub struct CompanyFilter {
    /// Case-insensitive substring of the name or domain.
    pub search: Option<String>,
    /// Any of these industries.
    pub industry: Option<Vec<String>>,
    /// true: ranked 1 to 500 in the Fortune list; false: not.
    pub is_fortune500: Option<bool>,
    pub employee_count_min: Option<i32>,
    pub employee_count_max: Option<i32>,
}

impl CompanyFilter {
    /// Refuses an over-long search, naming it `search_field` (where the filter is nested).
    pub fn validate(&self, search_field: &'static str) -> ApiResult<()> {
        validation::search(search_field, self.search.as_deref())
    }

    /// The filter as conditions on companies.
    pub fn conditions(&self, w: &mut Where) {
        if let Some(search) = self.search.as_deref().filter(|s| !s.trim().is_empty()) {
            let pattern = w.bind(contains_pattern(search));
            let (name, domain) = (w.column(Column::Name), w.column(Column::Domain));
            w.and(&format!(
                "(lower({name}) LIKE {pattern} OR {domain} LIKE {pattern})"
            ));
        }
        w.any_of(
            Column::Industry,
            self.industry.as_deref().unwrap_or_default(),
        );
        match self.is_fortune500 {
            Some(true) => w.at_most(Column::FortuneRank, Some(500)),
            Some(false) => {
                let rank = w.column(Column::FortuneRank);
                w.and(&format!("({rank} IS NULL OR {rank} > 500)"));
            }
            None => {}
        }
        w.at_least(Column::EmployeeCount, self.employee_count_min);
        w.at_most(Column::EmployeeCount, self.employee_count_max);
    }
}

impl ListFilter for CompanyFilter {
    fn conditions(self) -> ApiResult<impl Fn(&mut SqlBuilder) + Sync> {
        self.validate("search")?;
        Ok(move |sql: &mut SqlBuilder| CompanyFilter::conditions(&self, &mut Where::on_list(sql)))
    }
}

crate::orderings! {
    /// What companies can be ordered by.
    CompanyOrderField, CompanyOrder for companies { Name, CreatedAt, FortuneRank }
}

crate::queries! {
    CompanyQuery {
        lists {
            /// Companies, by name unless `orderBy` says otherwise.
            companies: member Company(
                filter: CompanyFilter,
                order_by: CompanyOrder = CompanyOrderField::Name Asc,
            );
        }
        find {
            /// One company, or null when there is none with this id in your organization.
            company: member Company;
        }
    }
}
