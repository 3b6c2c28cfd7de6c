//! Has-many relations (`lead.activities`, `lead.notes`, `company.leads`) as connections, paged
//! newest first through the batched `first_per_parent` loader.

use async_graphql::{Context, OutputType, dataloader::Loader};
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

use super::{
    ContextExt,
    loader::{ChildCount, ChildCursor, ChildPageKey, ChildTable, TenantLoader},
    pagination::{CountSource, Page, PageArgs, connection, encode_cursor},
};

/// A child row: what its cursor is made of.
pub trait ChildRow {
    fn id(&self) -> Uuid;
    fn created_at(&self) -> DateTime<FixedOffset>;
}

/// One parent's page of children. `key` wraps the page key in the domain's loader key type.
pub async fn child_page<K, M, N>(
    ctx: &Context<'_>,
    children: ChildTable,
    parent_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
    key: impl FnOnce(ChildPageKey) -> K,
    node: impl Fn(M) -> N,
) -> async_graphql::Result<Page<N>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    TenantLoader: Loader<K, Value = Vec<M>, Error = async_graphql::Error>,
    M: ChildRow + Send + Sync + Clone + 'static,
    N: OutputType,
{
    let window = PageArgs {
        first,
        after,
        ..Default::default()
    }
    .window::<ChildCursor>()?;
    let page_key = ChildPageKey {
        parent_id,
        limit: window.fetch_limit(),
        after: window.cursor,
    };
    let rows = ctx
        .loader()?
        .load_one(key(page_key))
        .await?
        .unwrap_or_default();
    Ok(connection(
        window.slice(rows),
        CountSource::Children(ChildCount {
            children,
            parent_id,
        }),
        |row| {
            encode_cursor(&ChildCursor {
                created_at: row.created_at(),
                id: row.id(),
            })
        },
        node,
    ))
}
