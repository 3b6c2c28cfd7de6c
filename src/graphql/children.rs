//! Has-many relations (`lead.activities`, `lead.notes`, `company.leads`) as connections, paged
//! newest first. Each relation is a marker type implementing [`ChildRelation`]; one generic
//! loader serves them all with one `LATERAL` statement per batch.

use std::{collections::HashMap, hash::Hash, marker::PhantomData, sync::Arc};

use async_graphql::{Context, OutputType, dataloader::Loader};
use chrono::{DateTime, FixedOffset};
use sea_orm::ModelTrait;
use uuid::Uuid;

use super::{
    Columns, ContextExt, ReadsColumns, TenantRow,
    columns::page_nodes,
    loader::{ChildCount, ChildPageKey, ChildTable, LoadResult, TenantLoader},
    pagination::{CountSource, CursorScope, Page, PageArgs, connection},
};

/// A row with the columns keyset cursors are made of.
pub trait Timestamped {
    fn id(&self) -> Uuid;
    fn created_at(&self) -> DateTime<FixedOffset>;
}

/// Declares rows of tenant tables (entity models or query rows with `id` and `created_at`):
/// each gets [`Timestamped`] (for keyset cursors) and [`TenantRow`](crate::graphql::TenantRow)
/// (its table, for the by-id loader, `node(id:)` and the services; the resource's name, for
/// audit records and errors): `crate::tenant_rows!(companies::Model => "companies" as "company")`.
/// `in columns (id, organization_id, ...)` lists the model's fields in its columns' order: its
/// rows are then decoded by place (checked against the columns in debug builds), and a page of
/// parents can carry their first rows as arrays (`aggregated`).
#[macro_export]
macro_rules! tenant_rows {
    ($($model:ty => $table:literal as $resource:literal $(in columns ($($field:ident),+ $(,)?))?),+ $(,)?) => {$(
        impl $crate::graphql::Timestamped for $model {
            fn id(&self) -> uuid::Uuid {
                self.id
            }
            fn created_at(&self) -> chrono::DateTime<chrono::FixedOffset> {
                self.created_at
            }
        }
        impl $crate::graphql::TenantRow for $model {
            const TABLE: &'static str = $table;
            const RESOURCE: &'static str = $resource;
            $(
                const BY_PLACE: bool = true;
                fn decode(
                    row: &sea_orm::QueryResult,
                    first: usize,
                    read: $crate::graphql::Columns,
                ) -> Result<Self, sea_orm::DbErr> {
                    debug_assert!(
                        $crate::graphql::columns_in_order::<Self>(&[$(stringify!($field)),+]),
                        "{} lists its fields out of its columns' order", $table
                    );
                    let mut place = 0;
                    let mut next = || {
                        place += 1;
                        place - 1
                    };
                    Ok(Self { $($field: match next() {
                        place if read.has(place) => row.try_get_by_index(first + place)?,
                        _ => Default::default(),
                    },)+ })
                }
                fn decode_aggregated(
                    row: &sea_orm::QueryResult,
                    first: usize,
                    read: $crate::graphql::Columns,
                ) -> Result<Vec<Self>, sea_orm::DbErr> {
                    let (count, row) = $crate::graphql::aggregated_rows(row, first)?;
                    let mut place = 0;
                    let mut next = || {
                        place += 1;
                        place - 1
                    };
                    $(let mut $field =
                        $crate::graphql::AggregatedValues::read(row, first + 1, next(), read)?;)+
                    Ok((0..count).map(|_| Self { $($field: $field.next(),)+ }).collect())
                }
            )?
        }
    )+};
}

/// A has-many relation: where its rows live and what they are.
pub trait ChildRelation: Send + Sync + 'static {
    type Row: TenantRow;
    const CHILDREN: ChildTable;
}

/// Declares a has-many relation: `crate::children!(LeadNotes: lead_notes::Model, by "lead_id")`,
/// with an optional condition on the children (`, where "AND t.deleted_at IS NULL"`), and an
/// optional text column a page may be narrowed by, with the `text_enum!` of its values
/// (`, narrowed by "status" of MemberStatus`; the connection then takes a `filter` that is a
/// [`NarrowChildren`]).
#[macro_export]
macro_rules! children {
    (
        $(#[$meta:meta])* $relation:ident : $row:ty, by $parent:literal
        $(, where $condition:literal)?
        $(, narrowed by $column:literal of $values:ty)?
    ) => {
        $(#[$meta])*
        pub struct $relation;

        impl $crate::graphql::ChildRelation for $relation {
            type Row = $row;
            const CHILDREN: $crate::graphql::ChildTable = $crate::graphql::ChildTable {
                table: <$row as $crate::graphql::TenantRow>::TABLE,
                parent_column: $parent,
                condition: $crate::children!(@condition $($condition)?),
                narrowed_by: $crate::children!(@narrowed $($column $values)?),
            };
        }
    };
    (@condition) => { "" };
    (@condition $condition:literal) => { $condition };
    (@narrowed) => { None };
    (@narrowed $column:literal $values:ty) => {
        Some($crate::graphql::ChildColumn {
            name: $column,
            values: <$values as $crate::text_enum::TextEnum>::STORED,
        })
    };
}

/// A has-many connection's `filter`: which values of the relation's narrowing column it keeps,
/// as a set (see `text_enum::value_set`; 0 keeps every row).
pub trait NarrowChildren: async_graphql::InputType {
    fn only(self) -> u32;
}

/// One parent's page of relation `R`, as a loader key.
pub struct ChildPage<R>(ChildPageKey, PhantomData<fn() -> R>);

impl<R> Clone for ChildPage<R> {
    fn clone(&self) -> Self {
        Self(self.0, PhantomData)
    }
}

impl<R> PartialEq for ChildPage<R> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<R> Eq for ChildPage<R> {}

impl<R> Hash for ChildPage<R> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<R: ChildRelation> Loader<ChildPage<R>> for TenantLoader
where
    R::Row: ModelTrait,
{
    /// Shared, as by-id rows are (see `ById`'s loader).
    type Value = Arc<Vec<R::Row>>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ChildPage<R>],
    ) -> LoadResult<HashMap<ChildPage<R>, Arc<Vec<R::Row>>>> {
        let pages: Vec<ChildPageKey> = keys.iter().map(|k| k.0).collect();
        let loaded = self.first_per_parent::<R::Row>(R::CHILDREN, &pages).await?;
        Ok(loaded
            .into_iter()
            .map(|(key, rows)| (ChildPage(key, PhantomData), Arc::new(rows)))
            .collect())
    }
}

/// One parent's page of relation `R` (the rows of narrowing set `only`: see
/// [`NarrowChildren`]), with `node` making each row's GraphQL node, reading the columns their
/// selection reads.
pub async fn child_page<R: ChildRelation, N: OutputType + ReadsColumns>(
    ctx: &Context<'_>,
    parent_id: Uuid,
    (first, after): (Option<i32>, Option<String>),
    only: u32,
    node: impl Fn(R::Row) -> N,
) -> async_graphql::Result<Page<N>>
where
    R::Row: ModelTrait,
{
    // Children of every parent are one list, newest first.
    let scope = CursorScope {
        list: R::CHILDREN.table,
        ordering: "created_at",
        descending: true,
    };
    let window = PageArgs {
        first,
        after,
        ..Default::default()
    }
    .window(|cursor, field| scope.decode_created(cursor, field))?
    .for_selection(&ctx.look_ahead());
    let loader = ctx.loader()?;
    let columns = loader.loader().columns_read_by(ctx.item, || {
        Columns::read_by::<R::Row>(
            N::FIELDS.as_ref(),
            page_nodes(ctx.field()),
            &[R::CHILDREN.parent_column],
        )
    });
    let key = ChildPageKey {
        parent_id,
        limit: window.fetch_limit(),
        after: window.cursor,
        only,
        columns,
    };
    // A first page may have come with its parent (`joined`).
    let primed = match (key.after, only) {
        (None, 0) => loader
            .loader()
            .primed_page::<R>(parent_id, key.limit, columns),
        _ => None,
    };
    let rows = match primed {
        Some(rows) => Some(rows),
        None => loader.load_one(ChildPage::<R>(key, PhantomData)).await?,
    }
    .map(Arc::unwrap_or_clone)
    .unwrap_or_default();
    Ok(connection(
        ctx,
        window.slice(rows),
        CountSource::Children(ChildCount {
            children: R::CHILDREN,
            parent_id,
            only,
        }),
        |row| scope.encode(serde_json::json!(row.created_at()), row.id()),
        node,
    ))
}
