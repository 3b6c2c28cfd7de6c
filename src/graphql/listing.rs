//! Top-level lists (`leads`, `companies`, `users`, ...): one keyset query per page over
//! `(sort column, id)`, plus the matching count statement for `totalCount`. Each sort has an
//! index `(organization_id, column, id)`, so every page is an index range scan.

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::pagination::{Slice, Window};
use crate::{
    error::{ApiError, ApiResult},
    sql::SqlBuilder,
};

/// How a list is ordered: a column of the table, its SQL type, and the client's direction.
#[derive(Clone, Copy, Debug)]
pub struct Sort {
    pub column: &'static str,
    pub sql_type: &'static str,
    pub descending: bool,
}

/// A position in a list: the sort value (as text, cast back by SQL) and the row id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeysetCursor(pub String, pub Uuid);

/// Appends `AND ...` conditions to a query whose table alias is `t`; `$1` is the tenant.
pub type Filter<'a> = &'a (dyn Fn(&mut SqlBuilder) + Sync);

/// One page of `table` and the count statement with the same filter.
pub async fn keyset_page<M: FromQueryResult>(
    conn: &impl ConnectionTrait,
    table: &str,
    organization_id: Uuid,
    filter: Filter<'_>,
    sort: Sort,
    window: &Window<KeysetCursor>,
) -> ApiResult<(Slice<M>, Statement)> {
    let base = |select: &str| {
        let mut sql = SqlBuilder::new("");
        let org = sql.bind(organization_id);
        sql.push(&format!(
            "SELECT {select} FROM {table} t WHERE t.organization_id = {org}"
        ));
        filter(&mut sql);
        sql
    };
    let count = base("count(*)").build();

    let mut sql = base("t.*");
    let Sort {
        column,
        sql_type,
        descending,
    } = sort;
    let (op, direction) = window.scan(descending);
    if let Some(KeysetCursor(value, id)) = &window.cursor {
        let field = if window.backward { "before" } else { "after" };
        let value = sql.bind(sort_value(value, sql_type, field)?);
        let id = sql.bind(*id);
        sql.push(&format!(
            " AND (t.{column}, t.id) {op} ({value}::{sql_type}, {id})"
        ));
    }
    let limit = sql.bind(window.fetch_limit());
    sql.push(&format!(
        " ORDER BY t.{column} {direction}, t.id {direction} LIMIT {limit}"
    ));
    let rows = conn.query_all_raw(sql.build()).await?;
    let models = rows
        .iter()
        .map(|row| M::from_query_result(row, ""))
        .collect::<Result<Vec<M>, _>>()?;
    Ok((window.slice(models), count))
}

/// A cursor's sort value as the sort column's type. A cursor made for another order, or forged,
/// is the client's mistake (BAD_USER_INPUT naming `field`), not a failed cast in PostgreSQL.
fn sort_value(value: &str, sql_type: &str, field: &'static str) -> ApiResult<sea_orm::Value> {
    let parsed = match sql_type {
        "timestamptz" => chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .map(sea_orm::Value::from),
        "integer" => value.parse::<i32>().ok().map(sea_orm::Value::from),
        // PostgreSQL text cannot hold NUL.
        _ => (!value.contains('\0')).then(|| sea_orm::Value::from(value.to_owned())),
    };
    parsed.ok_or_else(|| {
        ApiError::bad_input(field, format!("`{field}` is not a cursor of this list"))
    })
}

/// Text form of a timestamp sort value that round-trips exactly (PostgreSQL keeps microseconds).
pub fn timestamp_key(value: &chrono::DateTime<chrono::FixedOffset>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A whole tenant table as a connection ordered by creation (then id): users, API keys, audit
/// logs. `node` makes each row's GraphQL node.
pub async fn list_by_created<M, N>(
    ctx: &async_graphql::Context<'_>,
    table: &str,
    descending: bool,
    args: super::PageArgs,
    node: impl Fn(M) -> N,
) -> async_graphql::Result<super::Page<N>>
where
    M: FromQueryResult + super::Timestamped,
    N: async_graphql::OutputType,
{
    use super::ContextExt;
    let organization_id = ctx.principal()?.organization_id;
    let window = args.window()?;
    let sort = Sort {
        column: "created_at",
        sql_type: "timestamptz",
        descending,
    };
    let (slice, count) =
        keyset_page::<M>(ctx.db()?, table, organization_id, &|_| {}, sort, &window).await?;
    Ok(super::connection(
        slice,
        super::CountSource::Sql(count),
        |row| super::encode_cursor(&KeysetCursor(timestamp_key(&row.created_at()), row.id())),
        node,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_values_must_fit_the_sort_column() {
        assert!(sort_value("2026-01-01T00:00:00.000001Z", "timestamptz", "after").is_ok());
        assert!(sort_value("42", "integer", "after").is_ok());
        assert!(sort_value("Lovelace", "text", "after").is_ok());
        for (value, sql_type) in [
            ("Initech", "timestamptz"),
            ("", "timestamptz"),
            ("-262143-01-01T00:00:00Z", "timestamptz"),
            ("2026-01-01T00:00:00Z", "integer"),
            ("99999999999", "integer"),
            ("a\0b", "text"),
        ] {
            let err = sort_value(value, sql_type, "before").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{value:?} as {sql_type}");
            assert!(matches!(
                err,
                ApiError::BadUserInput {
                    field: Some("before"),
                    ..
                }
            ));
        }
    }
}
