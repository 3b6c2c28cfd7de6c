//! To-one relations fetched with the rows that refer to them. When a page (or one object by id)
//! selects `belongs_to` relations (a lead's `company`, `assignedTo`), its statement joins their
//! tables **after** the page is cut (`FROM (<the page> LIMIT n) t LEFT JOIN ...`), so the joins
//! run for the rows kept, not for every candidate, and hands the joined rows to the request's
//! loader: the relations then cost no statement of their own. A joined table sends only the
//! columns the relation's selections read (as a page does); a relation whose selection reads a
//! column its row was not read with loads the row by id instead. Queries only: in a mutation, a
//! row read by an early field could be older than a later field's write. Only rows decoded by
//! place (`tenant_rows!` with `in columns`) take part, on either side of the join.

use async_graphql::{Context, SelectionField};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, QueryResult};
use uuid::Uuid;

use super::{Columns, ContextExt, NodeObject, TenantLoader, TenantRow, plain::camel_case};
use crate::sql::SqlBuilder;

/// A to-one relation of an object (`object!`'s `belongs_to`): the field, the referring column
/// and how to read and hand over the row it refers to.
pub struct ToOne {
    /// The field's name in Rust (snake case).
    field: &'static str,
    /// The referring column of the object's row.
    column: &'static str,
    table: &'static str,
    joinable: bool,
    width: fn() -> usize,
    /// The columns of the row that the relation's fields (their selections) read.
    reads: fn(&[SelectionField<'_>]) -> Columns,
    select_list: fn(Columns, &str) -> String,
    prime: fn(&TenantLoader, &[QueryResult], usize, Columns) -> Result<(), DbErr>,
}

impl ToOne {
    /// The relation to objects `N` through column `column`, loaded through relation `VIA`.
    pub const fn of<N: NodeObject, const VIA: u8>(
        field: &'static str,
        column: &'static str,
    ) -> Self {
        Self {
            field,
            column,
            table: N::Row::TABLE,
            joinable: N::Row::BY_PLACE,
            width: width::<N::Row>,
            reads: |fields| {
                Columns::read_by::<N::Row>(N::FIELDS.as_ref(), fields.iter().cloned(), &[])
            },
            select_list: |read, alias| read.select_list::<N::Row>(alias),
            prime: prime::<N::Row, VIA>,
        }
    }
}

fn width<M: ModelTrait>() -> usize {
    <M::Entity as EntityTrait>::Column::iter().count()
}

/// Hands the rows of `M` found in `rows` from place `first` on (read with columns `read`) to
/// the loader, for relation `VIA`.
fn prime<M: TenantRow, const VIA: u8>(
    loader: &TenantLoader,
    rows: &[QueryResult],
    first: usize,
    read: Columns,
) -> Result<(), DbErr> {
    let id_place = <M::Entity as EntityTrait>::Column::iter()
        .position(|column| column.as_str() == "id")
        .expect("a tenant row has an id");
    let mut found = std::collections::HashMap::new();
    for row in rows {
        // A null reference, or a row the join did not find (no row, or not visible).
        let Some(id) = row.try_get_by_index::<Option<Uuid>>(first + id_place)? else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(entry) = found.entry(id) {
            entry.insert(M::decode(row, first, read)?);
        }
    }
    loader.prime::<M, VIA>(found, read);
    Ok(())
}

/// The joins a statement of `N`s makes: the to-one relations its objects' selections ask for
/// (with the columns those read), when the request's loader takes rows handed over, and that
/// loader.
pub struct Joins<'a> {
    relations: Vec<(&'static ToOne, Columns)>,
    loader: Option<&'a TenantLoader>,
}

impl<'a> Joins<'a> {
    /// The relations of `N` that `nodes` (the objects' selections) ask for.
    pub fn selected<N: NodeObject>(ctx: &'a Context<'_>, nodes: &[SelectionField<'_>]) -> Self {
        let loader = ctx
            .loader()
            .ok()
            .map(|loader| loader.loader())
            .filter(|loader| loader.primes())
            // Read by name, the object's own columns could be taken for a joined row's.
            .filter(|_| N::Row::BY_PLACE);
        let relations = match loader {
            Some(_) => N::TO_ONE
                .iter()
                .filter(|relation| relation.joinable)
                .filter_map(|relation| {
                    let name = camel_case(relation.field);
                    let fields: Vec<SelectionField<'_>> = nodes
                        .iter()
                        .flat_map(|node| node.selection_set().filter(|field| field.name() == name))
                        .collect();
                    (!fields.is_empty()).then(|| (relation, (relation.reads)(&fields)))
                })
                .collect(),
            None => Vec::new(),
        };
        Self { relations, loader }
    }

    pub fn is_empty(&self) -> bool {
        self.relations.is_empty()
    }

    /// `, j0.organization_id, j0.id, ...` for the select list: each relation's columns in its
    /// model's order, after the object's own.
    pub fn columns(&self) -> String {
        self.relations
            .iter()
            .enumerate()
            .map(|(place, (relation, read))| {
                format!(", {}", (relation.select_list)(*read, &format!("j{place}")))
            })
            .collect()
    }

    /// ` LEFT JOIN companies j0 ON ...` after the object's table or page, aliased `t`.
    pub fn from(&self) -> String {
        self.relations
            .iter()
            .enumerate()
            .map(|(place, (relation, _))| {
                format!(
                    " LEFT JOIN {table} j{place} ON j{place}.organization_id = t.organization_id \
                     AND j{place}.id = t.{column}",
                    table = relation.table,
                    column = relation.column,
                )
            })
            .collect()
    }

    /// Hands the joined rows, whose first columns are `Own`'s, to the loader.
    pub fn prime<Own: ModelTrait>(&self, rows: &[QueryResult]) -> Result<(), DbErr> {
        let Some(loader) = self.loader else {
            return Ok(());
        };
        let mut first = width::<Own>();
        for (relation, read) in &self.relations {
            (relation.prime)(loader, rows, first, *read)?;
            first += (relation.width)();
        }
        Ok(())
    }
}

/// One object of type `N` by id, its selected to-one relations joined.
pub async fn find_joined<N: NodeObject>(
    ctx: &Context<'_>,
    id: Uuid,
    joins: &Joins<'_>,
) -> async_graphql::Result<Option<N>> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(ctx.principal()?.organization_id);
    let id = sql.bind(id);
    sql.push(&format!(
        "SELECT {own}{joined} FROM {table} t{from} WHERE t.organization_id = {org} AND t.id = {id}",
        own = Columns::ALL.select_list::<N::Row>("t"),
        joined = joins.columns(),
        table = <N::Row as TenantRow>::TABLE,
        from = joins.from(),
    ));
    let rows = ctx.db()?.query_all_raw(sql.build()).await?;
    joins.prime::<N::Row>(&rows)?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(N::new(N::Row::decode(row, 0, Columns::ALL)?)))
}
