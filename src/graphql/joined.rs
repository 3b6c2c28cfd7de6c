//! To-one relations fetched with the rows that refer to them. When a page of leads (or one
//! lead by id) is asked for with `company` and `assignedTo`, the page's own statement joins
//! both tables and hands their rows to the request's by-id loaders, so those relations cost no
//! statement of their own. The loaders still resolve every relation: a row not handed over is
//! loaded as before. Only in queries: in a mutation's request, a row fetched by an early field
//! could be older than a later field's write.

use std::collections::HashMap;

use async_graphql::{Context, Lookahead};
use sea_orm::{DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, ModelTrait, QueryResult};
use uuid::Uuid;

use super::{ContextExt, NodeObject, TenantLoader, TenantRow};
use crate::sql::SqlBuilder;

/// A to-one relation of an object (`object!`'s `belongs_to`): the field, the referring column
/// and how to read and hand over the row it refers to.
pub struct ToOne {
    /// The field's name in Rust (snake case).
    pub field: &'static str,
    /// The referring column of the object's row.
    pub column: &'static str,
    table: &'static str,
    columns: fn() -> Vec<&'static str>,
    prime: fn(&TenantLoader, &[QueryResult], &str) -> Result<(), DbErr>,
}

impl ToOne {
    /// The relation to rows `M` through column `column`, loaded through relation `VIA`.
    pub const fn of<M: TenantRow + ModelTrait, const VIA: u8>(
        field: &'static str,
        column: &'static str,
    ) -> Self {
        Self {
            field,
            column,
            table: M::TABLE,
            columns: columns_of::<M>,
            prime: prime::<M, VIA>,
        }
    }
}

fn columns_of<M: ModelTrait>() -> Vec<&'static str> {
    <M::Entity as EntityTrait>::Column::iter()
        .map(|column| column.as_str())
        .collect()
}

/// Hands the rows of `M` found in `rows` under `prefix` to the by-id loader of relation `VIA`.
fn prime<M: TenantRow, const VIA: u8>(
    loader: &TenantLoader,
    rows: &[QueryResult],
    prefix: &str,
) -> Result<(), DbErr> {
    let mut found = HashMap::new();
    for row in rows {
        // A null reference, or a row the join did not find.
        let Some(id) = row.try_get::<Option<Uuid>>(prefix, "id")? else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(entry) = found.entry(id) {
            entry.insert(M::from_query_result(row, prefix)?);
        }
    }
    loader.prime::<M, VIA>(found);
    Ok(())
}

/// The to-one relations of `N` that the selection `nodes` (the objects' own selections, as
/// many as the field's shape gives) asks for, when the request's loader takes rows handed over.
pub fn selected<N: NodeObject>(ctx: &Context<'_>, nodes: &[Lookahead<'_>]) -> Vec<&'static ToOne> {
    if N::TO_ONE.is_empty() || !ctx.loader().is_ok_and(|loader| loader.loader().primes()) {
        return Vec::new();
    }
    N::TO_ONE
        .iter()
        .filter(|relation| {
            let name = camel_case(relation.field);
            nodes.iter().any(|node| node.field(&name).exists())
        })
        .collect()
}

/// The joins of `relations` onto a statement whose table alias is `t`: the selected columns
/// (each relation's under its prefix) and the `LEFT JOIN`s.
pub struct Joins<'a>(pub &'a [&'static ToOne]);

impl Joins<'_> {
    fn prefix(place: usize) -> String {
        format!("lg_j{place}.")
    }

    /// `, lg_j0.id AS "lg_j0.id", ...` for the select list.
    pub fn columns(&self) -> String {
        let mut sql = String::new();
        for (place, relation) in self.0.iter().enumerate() {
            for column in (relation.columns)() {
                sql.push_str(&format!(
                    ", lg_j{place}.{column} AS \"lg_j{place}.{column}\""
                ));
            }
        }
        sql
    }

    /// ` LEFT JOIN companies lg_j0 ON ...` after `FROM table t`.
    pub fn from(&self) -> String {
        let mut sql = String::new();
        for (place, relation) in self.0.iter().enumerate() {
            sql.push_str(&format!(
                " LEFT JOIN {table} lg_j{place} ON lg_j{place}.organization_id = t.organization_id \
                 AND lg_j{place}.id = t.{column}",
                table = relation.table,
                column = relation.column,
            ));
        }
        sql
    }

    /// Hands the joined rows to the loader.
    pub fn prime(&self, loader: &TenantLoader, rows: &[QueryResult]) -> Result<(), DbErr> {
        for (place, relation) in self.0.iter().enumerate() {
            (relation.prime)(loader, rows, &Self::prefix(place))?;
        }
        Ok(())
    }
}

/// One object of type `N` by id, its selected to-one relations joined: `find` when the
/// selection asks for any.
pub async fn find_joined<N: NodeObject>(
    ctx: &Context<'_>,
    id: Uuid,
    relations: &[&'static ToOne],
) -> async_graphql::Result<Option<N>> {
    let joins = Joins(relations);
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(ctx.principal()?.organization_id);
    let id = sql.bind(id);
    sql.push(&format!(
        "SELECT t.*{columns} FROM {table} t{from} WHERE t.organization_id = {org} AND t.id = {id}",
        columns = joins.columns(),
        table = <N::Row as TenantRow>::TABLE,
        from = joins.from(),
    ));
    let rows = ctx.request().tx.query_all(sql.build()).await?;
    joins.prime(ctx.loader()?.loader(), &rows)?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(N::new(N::Row::from_query_result(row, "")?)))
}

/// `assigned_to` → `assignedTo`, as async-graphql names fields.
fn camel_case(snake: &str) -> String {
    let mut name = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.extend(c.to_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn field_names_are_camel_cased_as_async_graphql_does() {
        assert_eq!(camel_case("assigned_to"), "assignedTo");
        assert_eq!(camel_case("company"), "company");
        assert_eq!(camel_case("stage_entered_by"), "stageEnteredBy");
    }
}
