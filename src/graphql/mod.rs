//! The GraphQL layer's shared machinery: the schema, the HTTP endpoint, request context,
//! global ids, pagination, loaders and limits. Domain types live in their domain modules.

mod aggregated;
mod batching;
mod children;
mod columns;
mod context;
pub mod document;
mod field_order;
mod filters;
pub mod http;
mod ids;
pub mod inputs;
mod joined;
mod listing;
mod loader;
mod node;
mod pagination;
mod plain;
mod resource;
mod savepoints;
mod schema;
pub mod ws;

pub use aggregated::{Aggregated, AggregatedValues, aggregated_rows};
pub use children::{ChildRelation, NarrowChildren, Timestamped, child_page};
pub use columns::{Columns, FieldColumns, ReadsColumns, columns_in_order};
pub use context::{ContextExt, RequestContext, RequestMeta, RequestTransaction, RequestTx};
pub use filters::Where;
pub use ids::{decode as decode_id, decode_any};
pub use joined::{ToMany, ToOne};
pub use listing::{
    Creation, DeclaredOrderings, Filter, KeyType, ListOrderings, Ordering, SortColumn, Sorted,
    list, list_by_created,
};
pub use loader::{
    ById, ChildColumn, ChildCount, ChildCursor, ChildPageKey, ChildTable, LoadResult, TenantLoader,
    TenantRow, via,
};
pub use node::{Node, NodeKind};
pub use pagination::{
    CountLoad, CountSource, CursorScope, Page, PageArgs, connection, decode_cursor, encode_cursor,
};
pub use plain::{
    LazyPlainFields, PlainFields, PlainValue, RelationNow, resolve_now, resolve_object,
};
pub use resource::{IntoField, ListFilter, NodeObject, PlainObject, find, related, related_now};
pub use schema::{AppSchema, Schemas, build_schemas, export_sdl, list_orderings};

use async_graphql::{Enum, MaybeUndefined};

/// Sort direction of an `orderBy`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    Asc,
    #[default]
    Desc,
}

/// Complexity of a connection field: its page size times what each node costs.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .unwrap_or(pagination::DEFAULT_PAGE_SIZE)
        .clamp(1, pagination::MAX_PAGE_SIZE);
    size as usize * child_complexity.max(1) + 1
}

/// A partial-update field: absent (leave as is), null (clear) or a value.
pub fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
