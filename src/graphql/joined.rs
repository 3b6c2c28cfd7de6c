//! Relations fetched with the rows that refer to them, in the same statement. When a page (or
//! one object by id) selects `belongs_to` relations (a lead's `company`, `assignedTo`), its
//! statement joins their tables **after** the page is cut (`FROM (<the page> LIMIT n) p LEFT
//! JOIN ...`), so the joins run for the rows kept, not for every candidate. When it selects the
//! first page of a has-many relation (`activities(first: 5)`, no cursor, not narrowed), each
//! parent's page comes as one `LATERAL` row of arrays (`aggregated`). The rows are handed to the
//! request's loader: the relations then cost no statement, nor round trip, of their own. A
//! joined table sends only the columns the relation's selections read (as a page does); a
//! relation whose selection reads a column its rows were not read with loads them instead.
//! Queries only: in a mutation, a row read by an early field could be older than a later
//! field's write. Only rows decoded by place (`tenant_rows!` with `in columns`) take part, on
//! either side of the join.

use async_graphql::{Context, Lookahead, SelectionField};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, QueryResult};
use uuid::Uuid;

use super::{
    ChildRelation, Columns, ContextExt, NodeObject, PageArgs, ReadsColumns, TenantLoader,
    TenantRow, Timestamped, columns::page_nodes, plain::camel_case,
};
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

/// The place of a tenant row's column `name` (its `id`, its `organization_id`) among its
/// columns.
fn place<M: ModelTrait>(name: &str) -> usize {
    <M::Entity as EntityTrait>::Column::iter()
        .position(|column| column.as_str() == name)
        .expect("a tenant row has an id and an organization")
}

/// Hands the rows of `M` found in `rows` from place `first` on (read with columns `read`) to
/// the loader, for relation `VIA`.
fn prime<M: TenantRow, const VIA: u8>(
    loader: &TenantLoader,
    rows: &[QueryResult],
    first: usize,
    read: Columns,
) -> Result<(), DbErr> {
    let id_place = place::<M>("id");
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

/// A has-many relation of an object (`object!`'s `children`): the field, the children's table
/// and how to read and hand over a parent's first page.
pub struct ToMany {
    /// The field's name in Rust (snake case).
    field: &'static str,
    children: super::ChildTable,
    joinable: bool,
    width: fn() -> usize,
    /// The columns of the children that the relation's fields (their pages' nodes) read.
    reads: fn(&[SelectionField<'_>]) -> Columns,
    aggregate_list: fn(Columns) -> (String, String),
    prime: fn(&TenantLoader, &[QueryResult], JoinedPage) -> Result<(), DbErr>,
}

/// Where a joined first page sits in a result row, and what it holds.
#[derive(Clone, Copy)]
struct JoinedPage {
    /// The places of the parent's organization and id.
    parent_organization_id: usize,
    parent_id: usize,
    /// The place of the page's first column (its count).
    first: usize,
    limit: i64,
    read: Columns,
}

impl ToMany {
    /// Relation `R`, whose children are objects `N`.
    pub const fn of<R: ChildRelation, N: ReadsColumns>(field: &'static str) -> Self {
        Self {
            field,
            children: R::CHILDREN,
            joinable: R::Row::BY_PLACE,
            width: width::<R::Row>,
            reads: |fields| {
                let always = [R::CHILDREN.parent_column];
                (fields.iter().cloned())
                    .map(|field| {
                        Columns::read_by::<R::Row>(N::FIELDS.as_ref(), page_nodes(field), &always)
                    })
                    .fold(Columns::NONE, Columns::union)
            },
            aggregate_list: |read| aggregated::<R>(read).aggregate_list::<R::Row>(),
            prime: prime_pages::<R>,
        }
    }

    /// The page's size with its look-ahead row, when every one of `fields` asks for the same
    /// first page: no cursor, not narrowed, a valid size. Else the relation loads its pages.
    fn first_page(&self, fields: &[SelectionField<'_>]) -> Option<i64> {
        let mut limits = fields.iter().map(|field| {
            let mut first = None;
            for (name, value) in field.arguments().ok()? {
                match (name.as_str(), value) {
                    (_, async_graphql::Value::Null) => {}
                    ("first", async_graphql::Value::Number(n)) => {
                        first = Some(i32::try_from(n.as_i64()?).ok()?);
                    }
                    _ => return None,
                }
            }
            let window = PageArgs {
                first,
                ..Default::default()
            }
            .window(|_, _| Ok(()))
            .ok()?
            // As `child_page` computes it, or the page would not be found.
            .for_selection(&Lookahead::from(*field));
            Some(window.fetch_limit())
        });
        let limit = limits.next()??;
        limits.all(|other| other == Some(limit)).then_some(limit)
    }
}

/// The columns of `read` a page of `R` sends as arrays: not the organization nor the parent
/// column, which are the parent's (each array costs PostgreSQL as much as a few rows).
fn aggregated<R: ChildRelation>(read: Columns) -> Columns {
    read.without::<R::Row>(&["organization_id", R::CHILDREN.parent_column])
}

/// Hands the first pages of `R` found in `rows` to the loader.
fn prime_pages<R: ChildRelation>(
    loader: &TenantLoader,
    rows: &[QueryResult],
    page: JoinedPage,
) -> Result<(), DbErr> {
    let column = |name: &str| {
        <<R::Row as ModelTrait>::Entity as EntityTrait>::Column::iter()
            .find(|column| column.as_str() == name)
            .expect("a child row has its organization and parent columns")
    };
    let (organization_column, parent_column) =
        (column("organization_id"), column(R::CHILDREN.parent_column));
    let mut pages = Vec::with_capacity(rows.len());
    for row in rows {
        let organization_id: Uuid = row.try_get_by_index(page.parent_organization_id)?;
        let parent: Uuid = row.try_get_by_index(page.parent_id)?;
        let mut children = R::Row::decode_aggregated(row, page.first, aggregated::<R>(page.read))?;
        for child in &mut children {
            child.try_set(organization_column, organization_id.into())?;
            child.try_set(parent_column, parent.into())?;
        }
        // The arrays hold the page in one order; which one, SQL leaves to the plan.
        children.sort_unstable_by_key(|row| std::cmp::Reverse((row.created_at(), row.id())));
        pages.push(((parent, page.limit), children));
    }
    loader.prime_pages::<R>(pages, page.read);
    Ok(())
}

/// The joins a statement of `N`s makes: the to-one relations its objects' selections ask for
/// (with the columns those read), when the request's loader takes rows handed over, and that
/// loader.
pub struct Joins<'a> {
    relations: Vec<(&'static ToOne, Columns)>,
    /// First pages of has-many relations: the relation, the columns read, the limit.
    pages: Vec<(&'static ToMany, Columns, i64)>,
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
        if loader.is_none() {
            return Self {
                relations: Vec::new(),
                pages: Vec::new(),
                loader,
            };
        }
        let selected = |field: &'static str| -> Vec<SelectionField<'_>> {
            let name = camel_case(field);
            nodes
                .iter()
                .flat_map(|node| node.selection_set().filter(|field| field.name() == name))
                .collect()
        };
        let relations = (N::TO_ONE.iter())
            .filter(|relation| relation.joinable)
            .filter_map(|relation| {
                let fields = selected(relation.field);
                (!fields.is_empty()).then(|| (relation, (relation.reads)(&fields)))
            })
            .collect();
        let pages = (N::TO_MANY.iter())
            .filter(|relation| relation.joinable)
            .filter_map(|relation| {
                let fields = selected(relation.field);
                if fields.is_empty() {
                    return None;
                }
                let limit = relation.first_page(&fields)?;
                Some((relation, (relation.reads)(&fields), limit))
            })
            .collect();
        Self {
            relations,
            pages,
            loader,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.relations.is_empty() && self.pages.is_empty()
    }

    /// `, j0.organization_id, j0.id, ..., k0.*` for the select list, after the object's own:
    /// each to-one relation's columns in its model's order, then each first page's aggregates.
    pub fn columns(&self) -> String {
        let to_one = (self.relations.iter().enumerate()).map(|(place, (relation, read))| {
            format!(", {}", (relation.select_list)(*read, &format!("j{place}")))
        });
        let pages = (0..self.pages.len()).map(|place| format!(", k{place}.*"));
        to_one.chain(pages).collect()
    }

    /// ` LEFT JOIN companies j0 ON ...` and ` LEFT JOIN LATERAL (...) k0 ON true` after the
    /// object's table or page, aliased `p`.
    pub fn from(&self) -> String {
        let to_one = (self.relations.iter().enumerate()).map(|(place, (relation, _))| {
            format!(
                " LEFT JOIN {table} j{place} ON j{place}.organization_id = p.organization_id \
                 AND j{place}.id = p.{column}",
                table = relation.table,
                column = relation.column,
            )
        });
        let pages = (self.pages.iter().enumerate()).map(|(place, (relation, read, limit))| {
            let (inner, aggregates) = (relation.aggregate_list)(*read);
            let (table, parent_column, condition) =
                (relation.children.table, relation.children.parent_column, relation.children.condition);
            // The page as the children's loader reads it (`first_per_parent`), for one parent.
            format!(
                " LEFT JOIN LATERAL (SELECT {aggregates} FROM (\
                 SELECT {inner} FROM {table} t \
                 WHERE t.organization_id = p.organization_id AND t.{parent_column} = p.id {condition} \
                 ORDER BY t.created_at DESC, t.id DESC LIMIT {limit}) x) k{place} ON true"
            )
        });
        to_one.chain(pages).collect()
    }

    /// Hands the joined rows and pages, whose first columns are `Own`'s, to the loader.
    pub fn prime<Own: ModelTrait>(&self, rows: &[QueryResult]) -> Result<(), DbErr> {
        let Some(loader) = self.loader else {
            return Ok(());
        };
        let mut first = width::<Own>();
        for (relation, read) in &self.relations {
            (relation.prime)(loader, rows, first, *read)?;
            first += (relation.width)();
        }
        let (parent_organization_id, parent_id) =
            (place::<Own>("organization_id"), place::<Own>("id"));
        for (relation, read, limit) in &self.pages {
            let page = JoinedPage {
                parent_organization_id,
                parent_id,
                first,
                limit: *limit,
                read: *read,
            };
            (relation.prime)(loader, rows, page)?;
            first += 1 + (relation.width)();
        }
        Ok(())
    }
}

/// One object of type `N` by id, with the columns its selection reads (as a page's rows), its
/// selected relations joined.
pub async fn find_joined<N: NodeObject>(
    ctx: &Context<'_>,
    id: Uuid,
    joins: &Joins<'_>,
) -> async_graphql::Result<Option<N>> {
    let read = Columns::read_by::<N::Row>(N::FIELDS.as_ref(), [ctx.field()], &[]);
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(ctx.principal()?.organization_id);
    let id = sql.bind(id);
    sql.push(&format!(
        "SELECT {own}{joined} FROM {table} p{from} WHERE p.organization_id = {org} AND p.id = {id}",
        own = read.select_list::<N::Row>("p"),
        joined = joins.columns(),
        table = <N::Row as TenantRow>::TABLE,
        from = joins.from(),
    ));
    let rows = ctx.db()?.query_all_raw(sql.build()).await?;
    joins.prime::<N::Row>(&rows)?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(N::new(N::Row::decode(row, 0, read)?)))
}
