//! Top-level lists (`leads`, `companies`, `users`, ...): one keyset query per page over
//! `(sort column, id)`, plus the matching count statement for `totalCount`.
//!
//! A list declares what it can be ordered by with [`orderings!`](crate::orderings) (typed
//! entity columns) or orders by creation ([`Creation`]). Cursors carry their list, ordering
//! and direction, and the sort key typed by its column, so a cursor of another list or
//! ordering is BAD_USER_INPUT and never a cast error or a wrong page. Nullable sort columns
//! put their nulls last in both directions. Each ordering has an index
//! `(organization_id, column, id)`: a test holds every declared ordering to it.

use std::marker::PhantomData;

use async_graphql::Context;
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use sea_orm::{ColumnTrait, ConnectionTrait, ModelTrait, Statement, Value, sea_query::ColumnType};
use serde_json::json;
use uuid::Uuid;

use super::{
    Columns, ContextExt, NodeObject, TenantRow, Timestamped,
    columns::page_nodes,
    joined::Joins,
    pagination::{CountSource, CursorScope, Page, PageArgs, Slice, Window, connection},
};
use crate::{
    error::{ApiError, ApiResult},
    sql::SqlBuilder,
};

/// A way a list can be ordered: the column, and how a row gives its sort value.
pub trait Ordering: Copy + Send + Sync + 'static {
    type Row: TenantRow;
    fn column(self) -> SortColumn;
    fn value(self, row: &Self::Row) -> Value;
}

/// An ordering and the client's direction.
#[derive(Clone, Copy, Debug)]
pub struct Sorted<O> {
    pub by: O,
    pub descending: bool,
}

/// A sort column: its name, the type its values have in cursors, and whether it holds nulls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortColumn {
    pub name: &'static str,
    pub key: KeyType,
    pub nullable: bool,
}

/// The column types lists can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Integer,
    BigInteger,
    Text,
    Timestamp,
    Date,
    /// Exact decimals (money), as strings in cursors.
    Decimal,
}

impl SortColumn {
    /// The sort column of an entity column, typed by the entity's definition.
    pub fn of<C: ColumnTrait>(column: C) -> Self {
        let def = column.def();
        let key = match def.get_column_type() {
            ColumnType::Integer | ColumnType::SmallInteger => KeyType::Integer,
            ColumnType::BigInteger => KeyType::BigInteger,
            ColumnType::Text | ColumnType::String(_) | ColumnType::Char(_) => KeyType::Text,
            ColumnType::TimestampWithTimeZone => KeyType::Timestamp,
            ColumnType::Date => KeyType::Date,
            ColumnType::Decimal(_) => KeyType::Decimal,
            other => panic!(
                "{} ({other:?}) is not an orderable column type",
                column.as_str()
            ),
        };
        Self {
            name: column.as_str(),
            key,
            nullable: def.is_null(),
        }
    }
}

impl KeyType {
    /// A row's sort value as it goes into a cursor: exact (timestamps to the microsecond,
    /// big integers as strings).
    fn to_json(self, value: &Value) -> serde_json::Value {
        match value {
            Value::Int(Some(v)) => json!(v),
            Value::SmallInt(Some(v)) => json!(v),
            Value::BigInt(Some(v)) => json!(v.to_string()),
            Value::String(Some(v)) => json!(v),
            Value::ChronoDateTimeWithTimeZone(Some(v)) => {
                json!(v.to_rfc3339_opts(SecondsFormat::Micros, true))
            }
            Value::ChronoDate(Some(v)) => json!(v.to_string()),
            Value::Decimal(Some(v)) => json!(v.to_string()),
            _ => serde_json::Value::Null,
        }
    }

    /// A cursor's sort value as the column's type (`None` for null). A value that does not
    /// fit is BAD_USER_INPUT naming `field`, never a failed cast in PostgreSQL.
    fn parse(self, key: &serde_json::Value, field: &'static str) -> ApiResult<Option<Value>> {
        if key.is_null() {
            return Ok(None);
        }
        let parsed = match (self, key) {
            (Self::Integer, serde_json::Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Value::from),
            (Self::BigInteger, serde_json::Value::String(s)) => {
                s.parse::<i64>().ok().map(Value::from)
            }
            // PostgreSQL text cannot hold NUL.
            (Self::Text, serde_json::Value::String(s)) => {
                (!s.contains('\0')).then(|| Value::from(s.clone()))
            }
            (Self::Timestamp, serde_json::Value::String(s)) => {
                DateTime::<FixedOffset>::parse_from_rfc3339(s)
                    .ok()
                    .map(Value::from)
            }
            (Self::Date, serde_json::Value::String(s)) => {
                s.parse::<NaiveDate>().ok().map(Value::from)
            }
            (Self::Decimal, serde_json::Value::String(s)) => {
                s.parse::<rust_decimal::Decimal>().ok().map(Value::from)
            }
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            ApiError::bad_input(field, format!("`{field}` is not a cursor of this list"))
        })
    }
}

/// Where a page starts: a row's sort value (`None` for null) and id.
#[derive(Clone, Debug)]
pub struct Position {
    key: Option<Value>,
    id: Uuid,
}

/// Appends `AND ...` conditions to a query whose table alias is `t`; `$1` is the tenant.
pub type Filter<'a> = &'a (dyn Fn(&mut SqlBuilder) + Sync);

/// Ordering by creation, then id: lists of rows with no other order (users, API keys, ...).
pub struct Creation<R>(PhantomData<fn() -> R>);

impl<R> Clone for Creation<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Creation<R> {}

impl<R> Default for Creation<R> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<R: TenantRow> Ordering for Creation<R> {
    type Row = R;

    fn column(self) -> SortColumn {
        SortColumn {
            name: "created_at",
            key: KeyType::Timestamp,
            nullable: false,
        }
    }

    fn value(self, row: &R) -> Value {
        Value::from(row.created_at())
    }
}

/// One page of the tenant's rows of `table` that `filter` keeps, ordered by `sorted`, as a
/// connection of `N`s, reading the columns their selection reads. `totalCount` runs the same
/// filter, only when selected.
pub async fn list<O: Ordering, N: NodeObject<Row = O::Row>>(
    ctx: &Context<'_>,
    args: PageArgs,
    sorted: Sorted<O>,
    filter: Filter<'_>,
) -> async_graphql::Result<Page<N>>
where
    O::Row: ModelTrait,
{
    let organization_id = ctx.principal()?.organization_id;
    let table = O::Row::TABLE;
    let column = sorted.by.column();
    let scope = CursorScope {
        list: table,
        ordering: column.name,
        descending: sorted.descending,
    };
    let window = args
        .window(|cursor, field| {
            let (key, id) = scope.decode(cursor, field)?;
            Ok(Position {
                key: column.key.parse(&key, field)?,
                id,
            })
        })?
        .for_selection(&ctx.look_ahead());
    let nodes = page_nodes(ctx.field());
    let joins = Joins::selected::<N>(ctx, &nodes);
    let columns = Columns::read_by::<O::Row>(N::FIELDS.as_ref(), nodes, &[column.name]);
    let (slice, count) = keyset_page(
        ctx.db()?,
        table,
        organization_id,
        filter,
        sorted,
        &window,
        columns,
        &joins,
    )
    .await?;
    Ok(connection(
        ctx,
        slice,
        CountSource::Sql(count),
        |row: &O::Row| scope.encode(column.key.to_json(&sorted.by.value(row)), row.id()),
        N::new,
    ))
}

/// One page of `table` (the columns of set `read`) and the count statement with the
/// same filter. The page's `joins` (to-one rows, first pages of children) are made on the rows
/// the `LIMIT` kept, and their rows handed to the request's loader.
#[allow(clippy::too_many_arguments)]
async fn keyset_page<O: Ordering>(
    conn: &impl ConnectionTrait,
    table: &str,
    organization_id: Uuid,
    filter: Filter<'_>,
    sorted: Sorted<O>,
    window: &Window<Position>,
    read: Columns,
    joins: &Joins<'_>,
) -> ApiResult<(Slice<O::Row>, Statement)> {
    let base = |opening: &str, select: &str| {
        let mut sql = SqlBuilder::new(opening);
        let org = sql.bind(organization_id);
        sql.push(&format!(
            "SELECT {select} FROM {table} t WHERE t.organization_id = {org}"
        ));
        filter(&mut sql);
        sql
    };
    let count = base("", "count(*)").build();

    let joined = !joins.is_empty();
    let opening = if joined {
        format!("SELECT p.*{} FROM (", joins.columns())
    } else {
        String::new()
    };
    let mut sql = base(&opening, &read.select_list::<O::Row>("t"));
    let column = sorted.by.column();
    let name = format!("t.{}", column.name);
    let (op, direction) = window.scan(sorted.descending);
    // Clients see nulls last in either direction, so a backward scan meets them first.
    let nulls_ahead = !window.backward;
    if let Some(Position { key, id }) = &window.cursor {
        let id = sql.bind(*id);
        let condition = match key {
            Some(key) => {
                let key = sql.bind(key.clone());
                let beyond = format!("({name}, t.id) {op} ({key}, {id})");
                if column.nullable && nulls_ahead {
                    format!("({name} IS NULL OR {beyond})")
                } else {
                    beyond
                }
            }
            None if nulls_ahead => format!("({name} IS NULL AND t.id {op} {id})"),
            None => format!("({name} IS NOT NULL OR t.id {op} {id})"),
        };
        sql.push(&format!(" AND {condition}"));
    }
    let nulls = match (column.nullable, nulls_ahead) {
        (false, _) => "",
        (true, true) => " NULLS LAST",
        (true, false) => " NULLS FIRST",
    };
    // The limit is written in, not bound: PostgreSQL then sees the plan for it is the same
    // whatever the values, and keeps it, where it planned a bound limit anew on every call.
    let limit = window.fetch_limit();
    let order = format!("ORDER BY {name} {direction}{nulls}, t.id {direction}");
    sql.push(&format!(" {order} LIMIT {limit}"));
    if joined {
        let order = format!(
            "ORDER BY p.{} {direction}{nulls}, p.id {direction}",
            column.name
        );
        sql.push(&format!(") p{} {order}", joins.from()));
    }
    let rows = conn.query_all_raw(sql.build()).await?;
    if joined {
        joins.prime::<O::Row>(&rows)?;
    }
    let models = rows
        .iter()
        .map(|row| O::Row::decode(row, 0, read))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((window.slice(models), count))
}

/// A whole tenant table as a connection of `N`s ordered by creation (then id): users, API
/// keys, audit logs.
pub async fn list_by_created<N: NodeObject>(
    ctx: &Context<'_>,
    descending: bool,
    args: PageArgs,
) -> async_graphql::Result<Page<N>>
where
    N::Row: ModelTrait,
{
    let sorted = Sorted {
        by: Creation::<N::Row>::default(),
        descending,
    };
    list(ctx, args, sorted, &|_| {}).await
}

/// Declares what a list can be ordered by: a GraphQL enum of entity columns, its `orderBy`
/// input (field and direction), and the [`Ordering`] of each value, typed by the entity.
///
/// ```ignore
/// orderings! {
///     /// What companies can be ordered by.
///     CompanyOrderField, CompanyOrder for companies {
///         Name, CreatedAt, FortuneRank,
///     }
/// }
/// ```
#[macro_export]
macro_rules! orderings {
    (
        $(#[$doc:meta])*
        $field:ident, $order:ident for $entity:ident { $($column:ident),+ $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug)]
        pub enum $field {
            $($column),+
        }

        /// Ties are broken by id, in the same direction, so pages never overlap or skip;
        /// nulls come last in either direction.
        #[derive(async_graphql::InputObject)]
        pub struct $order {
            pub field: $field,
            #[graphql(default)]
            pub direction: $crate::graphql::OrderDirection,
        }

        impl $crate::graphql::Ordering for $field {
            type Row = entity::$entity::Model;

            fn column(self) -> $crate::graphql::SortColumn {
                match self {
                    $(Self::$column => {
                        $crate::graphql::SortColumn::of(entity::$entity::Column::$column)
                    })+
                }
            }

            fn value(self, row: &Self::Row) -> sea_orm::Value {
                use sea_orm::ModelTrait;
                match self {
                    $(Self::$column => row.get(entity::$entity::Column::$column)),+
                }
            }
        }

        impl $order {
            /// The client's ordering, or `field` in `direction` when none was given.
            pub fn or(
                order: Option<Self>,
                field: $field,
                direction: $crate::graphql::OrderDirection,
            ) -> $crate::graphql::Sorted<$field> {
                let (by, direction) = order
                    .map(|o| (o.field, o.direction))
                    .unwrap_or((field, direction));
                $crate::graphql::Sorted {
                    by,
                    descending: direction == $crate::graphql::OrderDirection::Desc,
                }
            }
        }

        impl $crate::graphql::DeclaredOrderings for $field {
            fn table() -> &'static str {
                use sea_orm::EntityName;
                entity::$entity::Entity.table_name()
            }

            fn columns() -> Vec<$crate::graphql::SortColumn> {
                use $crate::graphql::Ordering;
                vec![$(Self::$column.column()),+]
            }
        }
    };
}

/// Every ordering a list declares (see [`orderings!`](crate::orderings)).
pub trait DeclaredOrderings {
    fn table() -> &'static str;
    fn columns() -> Vec<SortColumn>;
}

/// A list of the schema and the sort columns of its orderings: what the list-ordering test
/// holds to indexes `(organization_id, [parent,] column, id)`.
#[derive(Debug)]
pub struct ListOrderings {
    /// `Type.field`, e.g. `Query.companies` or `Lead.activities`.
    pub field: &'static str,
    pub table: &'static str,
    /// The column equal for the whole list (a nested list's parent, a filter it requires).
    pub parent: Option<&'static str>,
    pub columns: Vec<&'static str>,
}

impl ListOrderings {
    /// A top-level list with declared orderings.
    pub fn declared<O: DeclaredOrderings>(field: &'static str) -> Self {
        Self {
            field,
            table: O::table(),
            parent: None,
            columns: O::columns().iter().map(|c| c.name).collect(),
        }
    }

    /// A list ordered by creation, within `parent` if given.
    pub fn by_creation(
        field: &'static str,
        table: &'static str,
        parent: Option<&'static str>,
    ) -> Self {
        Self {
            field,
            table,
            parent,
            columns: vec!["created_at"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_values_must_fit_the_sort_column() {
        let fits = |key: serde_json::Value, ty: KeyType| ty.parse(&key, "after");
        assert!(fits(json!("2026-01-01T00:00:00.000001Z"), KeyType::Timestamp).is_ok());
        assert!(fits(json!(42), KeyType::Integer).is_ok());
        assert!(fits(json!("9007199254740993"), KeyType::BigInteger).is_ok());
        assert!(fits(json!("Lovelace"), KeyType::Text).is_ok());
        assert!(fits(json!("2026-02-28"), KeyType::Date).is_ok());
        assert_eq!(fits(json!(null), KeyType::Integer).unwrap(), None);
        for (key, ty) in [
            (json!("Initech"), KeyType::Timestamp),
            (json!(""), KeyType::Timestamp),
            (json!("-262143-01-01T00:00:00Z"), KeyType::Timestamp),
            (json!("2026-01-01T00:00:00Z"), KeyType::Integer),
            (json!(99_999_999_999_i64), KeyType::Integer),
            (json!(42), KeyType::Text),
            (json!("a\0b"), KeyType::Text),
            (json!("2026-02-30"), KeyType::Date),
        ] {
            let err = ty.parse(&key, "before").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{key:?} as {ty:?}");
            assert!(matches!(
                err,
                ApiError::BadUserInput {
                    field: Some("before"),
                    ..
                }
            ));
        }
    }

    #[test]
    fn sort_values_round_trip_through_cursors_exactly() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:00:00.123456+02:00").unwrap();
        for (value, ty) in [
            (Value::from(at), KeyType::Timestamp),
            (Value::from(i64::MAX), KeyType::BigInteger),
            (Value::from(-7_i32), KeyType::Integer),
            (Value::from("Ünïcode".to_owned()), KeyType::Text),
        ] {
            let parsed = ty.parse(&ty.to_json(&value), "after").unwrap().unwrap();
            assert_eq!(parsed, value, "{ty:?}");
        }
    }
}
