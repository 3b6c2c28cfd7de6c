//! The per-request loader. Rows by id need no code of their own: a row type declared with
//! `tenant_rows!` is loaded with `ById<Row>`. Domains add `impl Loader<ItsKey> for
//! TenantLoader` for anything else; the batched SQL shapes they share live here:
//! - rows by id: one `= ANY($ids)` statement per batch (`= $id` for one);
//! - the first N children of many parents: one `LATERAL` statement per batch, whatever the
//!   parents' page sizes and cursors, each child index matching the order and its tie-breaker;
//! - child counts: one grouped statement per batch.
//!
//! In a query, rows fetched with others (`joined`) are handed over, with the columns they were
//! read with: a relation takes one when it holds every column the relation's selection reads
//! ([`primed`](TenantLoader::primed)), and loads by id otherwise.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    hash::Hash,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use async_graphql::{Positioned, dataloader::Loader, parser::types::Field};
use chrono::{DateTime, FixedOffset};
use sea_orm::{FromQueryResult, ModelTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    ChildRelation, Columns,
    children::{ChildPage, Timestamped},
    context::RequestTx,
};
use crate::{error::ApiError, sql::SqlBuilder};

pub type LoadResult<T> = Result<T, async_graphql::Error>;

pub struct TenantLoader {
    tx: RequestTx,
    organization_id: Uuid,
    /// Whether rows fetched with others may be handed over (`joined`): queries only.
    primes: bool,
    /// Rows handed over, by loader key type: a `HashMap<Uuid, Primed<Arc<M>>>` for each
    /// `ById<M, VIA>`, a `HashMap<(Uuid, i64), Primed<Arc<Vec<R::Row>>>>` (parent, limit) for
    /// each `ChildPage<R>`.
    primed: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
    /// The columns each field of the document reads, by the field's address in it: a page's
    /// relation is resolved once per row, always over the same selection.
    reads: Mutex<Vec<(usize, Columns)>>,
    /// The columns the fields waiting for rows by id read, by loader key type (`ById<M, VIA>`),
    /// gathered until their batch runs.
    wanted: Mutex<HashMap<TypeId, Columns>>,
}

/// Rows handed over, and the columns they were read with (the others hold placeholders).
type Primed<V> = (Columns, V);

/// A table of children hanging off a parent, paged newest first by `(created_at, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildTable {
    pub table: &'static str,
    pub parent_column: &'static str,
    /// Extra condition on the children, e.g. leaving out soft-deleted rows.
    pub condition: &'static str,
    /// The column a page may be narrowed by, if any (`campaign.members(filter: { status })`).
    pub narrowed_by: Option<ChildColumn>,
}

/// A text column of the children and its stored values, which a page names a subset of (one
/// bit per value: see `text_enum::value_set`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildColumn {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

impl ChildColumn {
    /// The values of set `only`; none when it is empty (every row).
    fn chosen(self, only: u32) -> Option<Vec<&'static str>> {
        (only != 0).then(|| {
            (self.values.iter().enumerate())
                .filter(|(place, _)| only & (1 << place) != 0)
                .map(|(_, value)| *value)
                .collect()
        })
    }
}

impl ChildTable {
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        (self.table, self.parent_column, self.condition)
    }
}

/// Where a page of children starts: after this `(created_at, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChildCursor {
    pub created_at: DateTime<FixedOffset>,
    pub id: Uuid,
}

/// One parent's page request: `limit` already includes the look-ahead row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildPageKey {
    pub parent_id: Uuid,
    pub limit: i64,
    pub after: Option<ChildCursor>,
    /// The values of the relation's `narrowed_by` column the page keeps (0: all rows).
    pub only: u32,
    /// The columns its selection reads.
    pub columns: Columns,
}

/// A parent whose children are counted for `totalCount`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildCount {
    pub children: ChildTable,
    pub parent_id: Uuid,
    pub only: u32,
}

/// A row of a tenant table, loadable by id (declared with `tenant_rows!`).
pub trait TenantRow:
    FromQueryResult + ModelTrait + Timestamped + Clone + Send + Sync + 'static
{
    const TABLE: &'static str;
    /// What audit records and errors call a row: `company`, `api_key`.
    const RESOURCE: &'static str;
    /// Whether `decode` reads by place (`tenant_rows!` with `in columns`), so that the row can
    /// be read from any place of a wider result (`joined`).
    const BY_PLACE: bool = false;

    /// The row from a result whose columns, from place `first` on, are the model's columns in
    /// its order ([`Columns::select_list`] of `read`). By name unless `tenant_rows!` lists the
    /// fields: then by place, which spares sea-orm's `format!` and hash lookup of every
    /// column's name, and a field whose column is not in `read` is its type's default, not
    /// decoded (its column holds a constant: no selected field reads it).
    fn decode(
        row: &sea_orm::QueryResult,
        first: usize,
        read: Columns,
    ) -> Result<Self, sea_orm::DbErr> {
        let _ = (first, read);
        Self::from_query_result(row, "")
    }

    /// The rows a result row aggregates from place `first` on: their count, then one array
    /// per column of the model ([`Columns::aggregate_list`] of `read`). Rows decoded by place
    /// only; the others are never aggregated (`joined`).
    fn decode_aggregated(
        row: &sea_orm::QueryResult,
        first: usize,
        read: Columns,
    ) -> Result<Vec<Self>, sea_orm::DbErr> {
        let _ = (row, first, read);
        Err(sea_orm::DbErr::Custom(format!(
            "{} rows are not decoded by place",
            Self::TABLE
        )))
    }
}

/// The relations a row is reached through, when one kind of row is reached through several in
/// one request (users: assignee, author, ...). Each relation is a key type of its own, so each
/// is one batch: a page costs one statement per relation, never a number that depends on which
/// relations' keys happened to arrive together.
pub mod via {
    /// Any relation of a row reached through one only.
    pub const ANY: u8 = 0;
    pub const ME: u8 = 1;
    pub const ASSIGNEE: u8 = 2;
    pub const ACTIVITY_USER: u8 = 3;
    pub const NOTE_AUTHOR: u8 = 4;
    pub const KEY_CREATOR: u8 = 5;
    pub const AUDIT_ACTOR: u8 = 6;
    pub const NODE: u8 = 7;
    pub const ASSIGNED_FROM: u8 = 8;
    pub const ASSIGNED_TO: u8 = 9;
    pub const ASSIGNED_BY: u8 = 10;
    pub const DEAL_OWNER: u8 = 11;
    pub const STAGE_FROM: u8 = 12;
    pub const STAGE_TO: u8 = 13;
    pub const STAGE_CHANGER: u8 = 14;
    pub const CAMPAIGN_CREATOR: u8 = 15;
    pub const SEGMENT_CREATOR: u8 = 16;
    pub const SCORE_CHANGER: u8 = 17;
}

/// Loader key: the row of type `M` with this id, reached through relation `VIA`.
pub struct ById<M, const VIA: u8 = { via::ANY }>(pub Uuid, PhantomData<fn() -> M>);

impl<M, const VIA: u8> ById<M, VIA> {
    pub fn new(id: Uuid) -> Self {
        Self(id, PhantomData)
    }
}

impl<M, const VIA: u8> Clone for ById<M, VIA> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, const VIA: u8> Copy for ById<M, VIA> {}
impl<M, const VIA: u8> PartialEq for ById<M, VIA> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<M, const VIA: u8> Eq for ById<M, VIA> {}
impl<M, const VIA: u8> std::hash::Hash for ById<M, VIA> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// Rows are shared, not copied: the loader hands each waiting field a clone of its value, and a
/// row's strings copied for every field that asked cost more than decoding them.
impl<M: TenantRow, const VIA: u8> Loader<ById<M, VIA>> for TenantLoader {
    type Value = Arc<M>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ById<M, VIA>]) -> LoadResult<HashMap<ById<M, VIA>, Arc<M>>> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rows = self.by_ids::<M>(&ids, self.wanted::<M, VIA>()).await?;
        Ok(rows
            .into_iter()
            .map(|(id, row)| (ById::new(id), Arc::new(row)))
            .collect())
    }
}

fn db_error(err: sea_orm::DbErr) -> async_graphql::Error {
    ApiError::from(err).into()
}

impl TenantLoader {
    /// A request's loader; `primes`: whether it takes rows handed over (queries only).
    pub fn new(tx: RequestTx, organization_id: Uuid, primes: bool) -> Self {
        Self {
            tx,
            organization_id,
            primes,
            primed: Mutex::default(),
            reads: Mutex::default(),
            wanted: Mutex::default(),
        }
    }

    pub fn primes(&self) -> bool {
        self.primes
    }

    /// Tells the next batch of rows of `M` by id for relation `VIA` that a field waiting for
    /// one reads `read`: the batch reads the columns its fields read, no more (no field reads a
    /// user's `password_hash`). Called by every field before it waits for such a row; the batch
    /// runs once the request's fields all wait (`batching`), so it hears from all of them.
    pub fn wants<M: TenantRow, const VIA: u8>(&self, read: Columns) {
        let mut wanted = self.wanted.lock().expect("wanted columns");
        let columns = wanted
            .entry(TypeId::of::<ById<M, VIA>>())
            .or_insert(Columns::NONE);
        *columns = columns.union(read);
    }

    /// What the fields waiting for the batch of `M` by id for relation `VIA` read; every column
    /// when none said.
    fn wanted<M: TenantRow, const VIA: u8>(&self) -> Columns {
        (self.wanted.lock().expect("wanted columns"))
            .remove(&TypeId::of::<ById<M, VIA>>())
            .unwrap_or(Columns::ALL)
    }

    /// Takes rows of `M` fetched with others, read with columns `read`, for relation `VIA`. A
    /// row handed over twice (two fields of one request) keeps the wider reading.
    pub fn prime<M: TenantRow, const VIA: u8>(&self, rows: HashMap<Uuid, M>, read: Columns) {
        self.prime_as::<ById<M, VIA>, _, _>(
            rows.into_iter().map(|(id, row)| (id, Arc::new(row))),
            read,
        );
    }

    /// The row of `M` with this id handed over for relation `VIA`, if it was read with every
    /// column of `reads` (called only when a row is there).
    pub fn primed<M: TenantRow, const VIA: u8>(
        &self,
        id: Uuid,
        reads: impl FnOnce() -> Columns,
    ) -> Option<Arc<M>> {
        self.primed_as::<ById<M, VIA>, _, _>(&id, reads)
    }

    /// Takes first pages of relation `R` fetched with their parents (`(parent, limit)` and the
    /// page's rows), read with columns `read`.
    pub fn prime_pages<R: ChildRelation>(
        &self,
        pages: impl IntoIterator<Item = ((Uuid, i64), Vec<R::Row>)>,
        read: Columns,
    ) {
        self.prime_as::<ChildPage<R>, _, _>(
            pages.into_iter().map(|(key, rows)| (key, Arc::new(rows))),
            read,
        );
    }

    /// The first page of `limit` rows of relation `R` under `parent` handed over, if it was
    /// read with every column of `reads`.
    pub fn primed_page<R: ChildRelation>(
        &self,
        parent: Uuid,
        limit: i64,
        reads: Columns,
    ) -> Option<Arc<Vec<R::Row>>> {
        self.primed_as::<ChildPage<R>, _, _>(&(parent, limit), || reads)
    }

    /// Takes values fetched with others for the loader key type `Key`, keyed by `K`.
    fn prime_as<Key: 'static, K, V>(&self, values: impl IntoIterator<Item = (K, V)>, read: Columns)
    where
        K: Eq + Hash + Send + 'static,
        V: Send + 'static,
    {
        if !self.primes {
            return;
        }
        let mut primed = self.primed.lock().expect("primed rows");
        let slot = primed
            .entry(TypeId::of::<Key>())
            .or_insert_with(|| Box::new(HashMap::<K, Primed<V>>::new()));
        let Some(known) = slot.downcast_mut::<HashMap<K, Primed<V>>>() else {
            return;
        };
        for (key, value) in values {
            match known.get(&key) {
                Some((columns, _)) if read.within(*columns) => {}
                _ => {
                    known.insert(key, (read, value));
                }
            }
        }
    }

    /// The value handed over for `Key` under `key`, if it was read with every column of
    /// `reads`.
    fn primed_as<Key: 'static, K, V>(&self, key: &K, reads: impl FnOnce() -> Columns) -> Option<V>
    where
        K: Eq + Hash + 'static,
        V: Clone + 'static,
    {
        if !self.primes {
            return None;
        }
        let (columns, value) = {
            let primed = self.primed.lock().expect("primed rows");
            let values = primed
                .get(&TypeId::of::<Key>())?
                .downcast_ref::<HashMap<K, Primed<V>>>()?;
            values.get(key).cloned()?
        };
        reads().within(columns).then_some(value)
    }

    /// The columns that `field` of the request's document reads, computed by `compute` the
    /// first time only.
    pub fn columns_read_by(
        &self,
        field: &Positioned<Field>,
        compute: impl FnOnce() -> Columns,
    ) -> Columns {
        let address = std::ptr::from_ref(field) as usize;
        let known = self
            .reads
            .lock()
            .expect("columns read")
            .iter()
            .find(|(at, _)| *at == address)
            .map(|(_, columns)| *columns);
        known.unwrap_or_else(|| {
            let columns = compute();
            self.reads
                .lock()
                .expect("columns read")
                .push((address, columns));
            columns
        })
    }

    /// A statement on the tenant's rows, with the tenant bound (its placeholder returned).
    fn tenant_sql(&self) -> (SqlBuilder, String) {
        let mut sql = SqlBuilder::new("");
        let org = sql.bind(self.organization_id);
        (sql, org)
    }

    async fn rows(&self, sql: &SqlBuilder) -> LoadResult<Vec<sea_orm::QueryResult>> {
        self.tx.query_all(sql.build()).await.map_err(db_error)
    }

    /// The rows of the statement `write` writes (given the builder and the tenant's
    /// placeholder): for a domain's own batched loads.
    pub async fn select<M: FromQueryResult>(
        &self,
        write: impl FnOnce(&mut SqlBuilder, &str),
    ) -> LoadResult<Vec<M>> {
        let (mut sql, org) = self.tenant_sql();
        write(&mut sql, &org);
        let rows = self.rows(&sql).await?;
        rows.iter()
            .map(|row| M::from_query_result(row, ""))
            .collect::<Result<_, _>>()
            .map_err(db_error)
    }

    /// As [`select`](Self::select), for a batch of `keys`: each row names the key it answers by
    /// its place in `keys` (an `int` column `lg_key`, the first). Every key gets its rows, in the
    /// statement's order (none when no row answers it).
    pub async fn select_keyed<K: Clone + Eq + Hash, M: FromQueryResult>(
        &self,
        keys: &[K],
        write: impl FnOnce(&mut SqlBuilder, &str),
    ) -> LoadResult<HashMap<K, Vec<M>>> {
        self.select_keyed_as(keys, write, |row| M::from_query_result(row, ""))
            .await
    }

    /// As [`select_keyed`](Self::select_keyed), each row decoded by `decode`.
    async fn select_keyed_as<K: Clone + Eq + Hash, M>(
        &self,
        keys: &[K],
        write: impl FnOnce(&mut SqlBuilder, &str),
        decode: impl Fn(&sea_orm::QueryResult) -> Result<M, sea_orm::DbErr>,
    ) -> LoadResult<HashMap<K, Vec<M>>> {
        let (mut sql, org) = self.tenant_sql();
        write(&mut sql, &org);
        let mut answers: HashMap<K, Vec<M>> =
            keys.iter().map(|key| (key.clone(), Vec::new())).collect();
        for row in self.rows(&sql).await? {
            let k: i32 = row.try_get_by_index(0).map_err(db_error)?;
            let model = decode(&row).map_err(db_error)?;
            if let Some(rows) = keys.get(k as usize).and_then(|key| answers.get_mut(key)) {
                rows.push(model);
            }
        }
        Ok(answers)
    }

    /// Rows of `M`'s table with the given ids (the columns of `read`), keyed by id.
    async fn by_ids<M: TenantRow>(
        &self,
        ids: &[Uuid],
        read: Columns,
    ) -> LoadResult<HashMap<Uuid, M>> {
        let (mut sql, org) = self.tenant_sql();
        // One id (an object by id, a page of one): `= ANY` of an array of unknown length made
        // PostgreSQL plan the statement anew on every call; with `=` it keeps one plan.
        let condition = match ids {
            [id] => format!("t.id = {}", sql.bind(*id)),
            _ => format!("t.id = ANY({})", sql.bind(ids.to_vec())),
        };
        let columns = read.select_list::<M>("t");
        sql.push(&format!(
            "SELECT {columns} FROM {} t WHERE t.organization_id = {org} AND {condition}",
            M::TABLE
        ));
        let rows = self.rows(&sql).await?;
        rows.iter()
            .map(|row| M::decode(row, 0, read).map(|m| (m.id(), m)))
            .collect::<Result<_, _>>()
            .map_err(db_error)
    }

    /// The first `limit` children of every parent in `keys`, newest first, in one statement.
    pub async fn first_per_parent<M: TenantRow>(
        &self,
        children: ChildTable,
        keys: &[ChildPageKey],
    ) -> LoadResult<HashMap<ChildPageKey, Vec<M>>> {
        let read = keys
            .iter()
            .fold(Columns::NONE, |all, key| all.union(key.columns));
        let columns = read.select_list::<M>("t");
        let (table, parent_column, condition) = children.parts();
        // First pages, not narrowed (the dashboard's case), need only each parent's id and
        // limit: two arrays. Pages after a cursor or narrowed send each page's request as a
        // JSON record.
        let first_pages = keys.iter().all(|key| key.after.is_none() && key.only == 0);
        let write = |sql: &mut SqlBuilder, org: &str| {
            let (batch, beyond) = if first_pages {
                let parents = sql.bind(keys.iter().map(|key| key.parent_id).collect::<Vec<_>>());
                let limits = sql.bind(keys.iter().map(|key| key.limit).collect::<Vec<i64>>());
                let batch = format!(
                    "(SELECT (k - 1)::int AS k, parent_id, lim
                      FROM unnest({parents}::uuid[], {limits}::int8[]) WITH ORDINALITY
                           AS u(parent_id, lim, k)) p"
                );
                (batch, String::new())
            } else {
                let requests: Vec<serde_json::Value> = (keys.iter().enumerate())
                    .map(|(k, key)| {
                        serde_json::json!({
                            "k": k,
                            "parent_id": key.parent_id,
                            "lim": key.limit,
                            "after_ts": key.after.map(|c| c.created_at),
                            "after_id": key.after.map(|c| c.id),
                            "kept": children.narrowed_by.and_then(|column| column.chosen(key.only)),
                        })
                    })
                    .collect();
                let requests = sql.bind(serde_json::Value::Array(requests));
                let batch = format!(
                    "jsonb_to_recordset({requests}::jsonb)
                     AS p(k int, parent_id uuid, lim bigint, after_ts timestamptz, after_id uuid,
                          kept text[])"
                );
                let narrowed = match children.narrowed_by {
                    Some(column) => {
                        format!("AND (p.kept IS NULL OR t.{} = ANY(p.kept))", column.name)
                    }
                    None => String::new(),
                };
                let beyond = format!(
                    "{narrowed}
                     AND (p.after_id IS NULL OR (t.created_at, t.id) < (p.after_ts, p.after_id))"
                );
                (batch, beyond)
            };
            sql.push(&format!(
                "SELECT p.k AS lg_key, c.*
                 FROM {batch}
                 CROSS JOIN LATERAL (
                     SELECT {columns} FROM {table} t
                     WHERE t.organization_id = {org} AND t.{parent_column} = p.parent_id {condition}
                       {beyond}
                     ORDER BY t.created_at DESC, t.id DESC
                     LIMIT p.lim
                 ) c"
            ));
        };
        // `lg_key` first, then the children's columns. The statement picks each parent's rows;
        // they are put in order here, which spares PostgreSQL a sort of the whole batch.
        let mut pages = self
            .select_keyed_as(keys, write, |row| M::decode(row, 1, read))
            .await?;
        for rows in pages.values_mut() {
            rows.sort_unstable_by_key(|row| std::cmp::Reverse((row.created_at(), row.id())));
        }
        Ok(pages)
    }
}

impl Loader<ChildCount> for TenantLoader {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ChildCount]) -> LoadResult<HashMap<ChildCount, i64>> {
        let mut counts: HashMap<ChildCount, i64> = keys.iter().map(|key| (*key, 0)).collect();
        // One statement per relation and subset of its narrowing column.
        let mut groups: Vec<(ChildTable, u32)> = Vec::new();
        for key in keys {
            if !groups.contains(&(key.children, key.only)) {
                groups.push((key.children, key.only));
            }
        }
        for (children, only) in groups {
            let parents: Vec<Uuid> = keys
                .iter()
                .filter(|k| k.children == children && k.only == only)
                .map(|k| k.parent_id)
                .collect();
            let (table, parent_column, condition) = children.parts();
            let (mut sql, org) = self.tenant_sql();
            let parents = sql.bind(parents);
            let narrowed = match children.narrowed_by.map(|c| (c.name, c.chosen(only))) {
                Some((column, Some(values))) => {
                    let values: Vec<String> = values.into_iter().map(str::to_owned).collect();
                    format!("AND t.{column} = ANY({})", sql.bind(values))
                }
                _ => String::new(),
            };
            sql.push(&format!(
                "SELECT t.{parent_column}, count(*) FROM {table} t
                 WHERE t.organization_id = {org} AND t.{parent_column} = ANY({parents}) {condition}
                   {narrowed}
                 GROUP BY t.{parent_column}"
            ));
            for row in self.rows(&sql).await? {
                let parent_id: Uuid = row.try_get_by_index(0).map_err(db_error)?;
                counts.insert(
                    ChildCount {
                        children,
                        parent_id,
                        only,
                    },
                    row.try_get_by_index(1).map_err(db_error)?,
                );
            }
        }
        Ok(counts)
    }
}
