use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::companies;

use super::{Company, CompanyId};
use crate::{
    graphql::{
        ContextExt, CountSource, KeysetCursor, NodeKind, OrderDirection, Page, PageArgs, Sort,
        connection, decode_id, encode_cursor, keyset_page, timestamp_key,
    },
    sql::{SqlBuilder, contains_pattern},
};

#[derive(InputObject, Default)]
pub struct CompanyFilter {
    /// Case-insensitive substring of the name or domain.
    pub search: Option<String>,
    pub industry: Option<String>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CompanyOrderField {
    Name,
    CreatedAt,
}

#[derive(InputObject)]
pub struct CompanyOrder {
    pub field: CompanyOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
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
        let principal = ctx.principal()?;
        let window = PageArgs {
            first,
            after,
            last,
            before,
        }
        .window()?;
        let filter = filter.unwrap_or_default();
        let (field, direction) = order_by
            .map(|o| (o.field, o.direction))
            .unwrap_or((CompanyOrderField::Name, OrderDirection::Asc));
        let sort = match field {
            CompanyOrderField::Name => Sort {
                column: "name",
                sql_type: "text",
                descending: false,
            },
            CompanyOrderField::CreatedAt => Sort {
                column: "created_at",
                sql_type: "timestamptz",
                descending: false,
            },
        };
        let sort = Sort {
            descending: direction == OrderDirection::Desc,
            ..sort
        };
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
        let (slice, count) = keyset_page::<companies::Model>(
            ctx.db()?,
            "companies",
            principal.organization_id,
            &conditions,
            sort,
            &window,
        )
        .await?;
        Ok(connection(
            slice,
            CountSource::Sql(count),
            move |m| {
                let key = match field {
                    CompanyOrderField::Name => m.name.clone(),
                    CompanyOrderField::CreatedAt => timestamp_key(&m.created_at),
                };
                encode_cursor(&KeysetCursor(key, m.id))
            },
            Company,
        ))
    }

    /// One company, or null when there is none with this id in your organization.
    async fn company(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Company>> {
        let id = decode_id(&id, NodeKind::Company, "id")?;
        Ok(ctx.loader()?.load_one(CompanyId(id)).await?.map(Company))
    }
}
