use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, Json, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use entity::{leads, segments};
use futures::future::BoxFuture;
use sea_orm::FromQueryResult;

use crate::{
    error::{ApiError, ApiResult},
    graphql::{
        ContextExt, CountLoad, CountSource, CursorScope, LoadResult, NodeKind, NodeObject, Page,
        PageArgs, TenantLoader, connection, related, via,
    },
    leads::{Lead, stored_filter},
    numbers::BigInt,
    sql::SqlBuilder,
    users::User,
};

/// A saved lead filter. Not written with `object!`: `leads` has a complexity of its own.
pub struct Segment(pub segments::Model);

/// Written by hand: its pages read every column.
impl crate::graphql::ReadsColumns for Segment {}

impl NodeObject for Segment {
    type Row = segments::Model;
    const KIND: NodeKind = NodeKind::Segment;
    fn new(row: segments::Model) -> Self {
        Self(row)
    }
}

crate::tenant_rows!(segments::Model => "segments" as "segment");

/// `segment.leads` pages: newest first, like a has-many relation, cursors of their own.
const SCOPE: CursorScope = CursorScope {
    list: "segment_leads",
    ordering: "created_at",
    descending: true,
};

#[Object]
impl Segment {
    pub async fn id(&self) -> ID {
        NodeKind::Segment.id(self.0.id)
    }
    /// Unique in the organization, whatever the case.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The saved filter (`LeadFilter`'s fields), as given.
    async fn filter(&self) -> Json<&serde_json::Value> {
        Json(&self.0.filter)
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        related::<User, { via::SEGMENT_CREATOR }>(ctx, self.0.created_by_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
    /// The leads the filter matches now, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Page<Lead>> {
        let window = PageArgs {
            first,
            after,
            ..Default::default()
        }
        .window(|cursor, field| SCOPE.decode_created(cursor, field))?
        .for_selection(&ctx.look_ahead());
        let filter = self.filter_key();
        let key = SegmentPage {
            filter: filter.clone(),
            limit: window.fetch_limit(),
            after: window.cursor,
        };
        let rows = ctx.loader()?.load_one(key).await?.unwrap_or_default();
        Ok(connection(
            ctx,
            window.slice(rows),
            CountSource::Loaded(Box::new(SegmentCount(filter))),
            |lead: &leads::Model| SCOPE.encode(serde_json::json!(lead.created_at), lead.id),
            Lead,
        ))
    }
    /// How many leads the filter matches now.
    async fn lead_count(&self, ctx: &Context<'_>) -> async_graphql::Result<BigInt> {
        let count = ctx
            .loader()?
            .load_one(SegmentCount(self.filter_key()))
            .await?;
        Ok(BigInt(count.unwrap_or(0)))
    }
}

impl Segment {
    fn filter_key(&self) -> Arc<str> {
        self.0.filter.to_string().into()
    }
}

/// Loader key: a page of the leads a saved filter (its JSON text) matches.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SegmentPage {
    filter: Arc<str>,
    limit: i64,
    after: Option<crate::graphql::ChildCursor>,
}

/// Loader key: how many leads a saved filter matches.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SegmentCount(Arc<str>);

impl CountLoad for SegmentCount {
    fn count<'a>(&'a self, ctx: &'a Context<'_>) -> BoxFuture<'a, async_graphql::Result<i64>> {
        Box::pin(async move { Ok(ctx.loader()?.load_one(self.clone()).await?.unwrap_or(0)) })
    }
}

/// The conditions a saved filter stands for, on `t` (leads), `$1` being the tenant.
fn conditions(filter: &str) -> ApiResult<impl Fn(&mut SqlBuilder) + Sync> {
    let json: serde_json::Value = serde_json::from_str(filter).map_err(ApiError::internal)?;
    crate::graphql::ListFilter::conditions(stored_filter(&json)?)
}

#[derive(FromQueryResult)]
struct Counted {
    total: i64,
}

/// The conditions of each key's saved filter.
fn conditions_of<'a>(
    filters: impl Iterator<Item = &'a str>,
) -> ApiResult<Vec<impl Fn(&mut SqlBuilder) + Sync>> {
    filters.map(conditions).collect()
}

/// Writes one statement for a batch: a `UNION ALL` of one `part` per filter (its place in the
/// batch, `lg_key`, first), the tenant `$1` for all.
fn union_all<C>(sql: &mut SqlBuilder, filters: &[C], part: impl Fn(&mut SqlBuilder, usize, &C)) {
    for (k, conditions) in filters.iter().enumerate() {
        if k > 0 {
            sql.push(" UNION ALL ");
        }
        part(sql, k, conditions);
    }
}

// Each batch is one statement: one part per filter, each an index walk of the tenant's leads
// newest first (or a count).
impl Loader<SegmentPage> for TenantLoader {
    type Value = Vec<leads::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[SegmentPage],
    ) -> LoadResult<HashMap<SegmentPage, Vec<leads::Model>>> {
        let filters = conditions_of(keys.iter().map(|key| &*key.filter))?;
        self.select_keyed(keys, |sql, org| {
            union_all(sql, &filters, |sql, k, conditions| {
                let key = &keys[k];
                sql.push(&format!(
                    "(SELECT {k} AS lg_key, t.* FROM leads t WHERE t.organization_id = {org}"
                ));
                conditions(sql);
                if let Some(after) = key.after {
                    let (at, id) = (sql.bind(after.created_at), sql.bind(after.id));
                    sql.push(&format!(" AND (t.created_at, t.id) < ({at}, {id})"));
                }
                let limit = sql.bind(key.limit);
                sql.push(&format!(
                    " ORDER BY t.created_at DESC, t.id DESC LIMIT {limit})"
                ));
            });
        })
        .await
    }
}

impl Loader<SegmentCount> for TenantLoader {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[SegmentCount]) -> LoadResult<HashMap<SegmentCount, i64>> {
        let filters = conditions_of(keys.iter().map(|key| &*key.0))?;
        let counted: HashMap<SegmentCount, Vec<Counted>> = self
            .select_keyed(keys, |sql, org| {
                union_all(sql, &filters, |sql, k, conditions| {
                    sql.push(&format!(
                        "SELECT {k} AS lg_key, count(*) AS total FROM leads t
                         WHERE t.organization_id = {org}"
                    ));
                    conditions(sql);
                });
            })
            .await?;
        Ok(counted
            .into_iter()
            .map(|(key, counts)| (key, counts.first().map_or(0, |c| c.total)))
            .collect())
    }
}
