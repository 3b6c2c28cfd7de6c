use async_graphql::{Context, ID, InputObject, Object};

use super::{Company, CompanyId};
use crate::{
    graphql::{ContextExt, NodeKind, OrderDirection, Page, PageArgs, decode_id, list},
    sql::{SqlBuilder, contains_pattern},
};

#[derive(InputObject, Default)]
pub struct CompanyFilter {
    /// Case-insensitive substring of the name or domain.
    pub search: Option<String>,
    pub industry: Option<String>,
}

crate::orderings! {
    /// What companies can be ordered by.
    CompanyOrderField, CompanyOrder for companies { Name, CreatedAt, FortuneRank }
}

#[derive(Default)]
pub struct CompanyQuery;

#[Object]
impl CompanyQuery {
    /// Companies, by name unless `orderBy` says otherwise.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn companies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CompanyFilter>,
        order_by: Option<CompanyOrder>,
    ) -> async_graphql::Result<Page<Company>> {
        let filter = filter.unwrap_or_default();
        let conditions = |sql: &mut SqlBuilder| {
            if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
                let pattern = sql.bind(contains_pattern(search));
                sql.push(&format!(
                    " AND (lower(t.name) LIKE {pattern} OR t.domain LIKE {pattern})"
                ));
            }
            if let Some(industry) = &filter.industry {
                let industry = sql.bind(industry.clone());
                sql.push(&format!(" AND t.industry = {industry}"));
            }
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let sorted = CompanyOrder::or(order_by, CompanyOrderField::Name, OrderDirection::Asc);
        list(ctx, "companies", args, sorted, &conditions, Company).await
    }

    /// One company, or null when there is none with this id in your organization.
    async fn company(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Company>> {
        let id = decode_id(&id, NodeKind::Company, "id")?;
        Ok(ctx.loader()?.load_one(CompanyId(id)).await?.map(Company))
    }
}
