//! Reading the event log: a batch of events after a position, with the subjects (leads,
//! companies) and actors they name loaded in the same short transaction, so one read serves
//! every subscriber of a tenant.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, FixedOffset};
use entity::{campaigns, companies, deals, leads, users};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::{EventKind, EventSubjectType};
use crate::{
    error::ApiResult,
    sql::SqlBuilder,
    tenancy::{TenantPool, TenantTx},
};

#[derive(Clone, Debug, FromQueryResult)]
struct EventRow {
    position: i64,
    subject_type: String,
    subject_id: Uuid,
    kind: String,
    changed_fields: Vec<String>,
    actor_id: Option<Uuid>,
    detail_id: Option<Uuid>,
    private_to: Option<Uuid>,
    occurred_at: DateTime<FixedOffset>,
}

#[derive(Clone, Debug)]
pub struct EventRecord {
    pub position: i64,
    pub subject_type: EventSubjectType,
    pub subject_id: Uuid,
    pub kind: EventKind,
    /// The subject's column names.
    pub changed_fields: Vec<String>,
    pub actor_id: Option<Uuid>,
    /// The note or activity of a lead's NOTE_ADDED or ACTIVITY_LOGGED event.
    pub detail_id: Option<Uuid>,
    /// Set for a private note: only this user is told about it.
    pub private_to: Option<Uuid>,
    pub occurred_at: DateTime<FixedOffset>,
}

impl EventRecord {
    pub fn visible_to(&self, user_id: Uuid) -> bool {
        self.private_to.is_none_or(|author| author == user_id)
    }

    /// The lead this is an event of, if its subject is one.
    pub fn lead_id(&self) -> Option<Uuid> {
        (self.subject_type == EventSubjectType::Lead).then_some(self.subject_id)
    }
}

/// Consecutive events of one tenant and the rows they name, as read once for all subscribers.
#[derive(Debug, Default)]
pub struct EventBatch {
    pub events: Vec<EventRecord>,
    pub leads: HashMap<Uuid, leads::Model>,
    pub companies: HashMap<Uuid, companies::Model>,
    pub deals: HashMap<Uuid, deals::Model>,
    pub campaigns: HashMap<Uuid, campaigns::Model>,
    pub actors: HashMap<Uuid, users::Model>,
}

impl EventBatch {
    pub fn first_position(&self) -> Option<i64> {
        self.events.first().map(|e| e.position)
    }

    pub fn last_position(&self) -> Option<i64> {
        self.events.last().map(|e| e.position)
    }
}

/// Where a tenant's log stands: its last position and how far retention has cut it.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogBounds {
    pub head: i64,
    pub pruned_through: i64,
}

/// Reads up to `limit` events after `after`, with their subjects and actors: at most six
/// statements in
/// one read-only transaction as the organization (no user: private notes are filtered per
/// subscriber, from `private_to`).
pub async fn read_batch(
    pool: &TenantPool,
    organization_id: Uuid,
    after: i64,
    limit: u64,
    statement_timeout: Duration,
) -> ApiResult<EventBatch> {
    let tx =
        TenantTx::begin_for_organization(pool, organization_id, statement_timeout, true).await?;
    let batch = load(tx.conn(), organization_id, |sql| {
        let after = sql.bind(after);
        let limit = sql.bind(limit as i64);
        format!("position > {after} ORDER BY position LIMIT {limit}")
    })
    .await?;
    tx.commit().await?;
    Ok(batch)
}

/// The events at these positions, with their subjects and actors, in the caller's transaction.
pub async fn read_positions(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    positions: &[i64],
) -> ApiResult<EventBatch> {
    load(conn, organization_id, |sql| {
        let positions = sql.bind(positions.to_vec());
        format!("position = ANY({positions}) ORDER BY position")
    })
    .await
}

/// Events matching `condition` (the rest of a WHERE after the tenant, with its ORDER BY),
/// then the subjects and actors they name (one statement per table that has any).
async fn load(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    condition: impl FnOnce(&mut SqlBuilder) -> String,
) -> ApiResult<EventBatch> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    let condition = condition(&mut sql);
    sql.push(&format!(
        "SELECT position, subject_type, subject_id, kind, changed_fields, actor_id, detail_id,
                private_to, occurred_at
         FROM events WHERE organization_id = {org} AND {condition}"
    ));
    let events = EventRow::find_by_statement(sql.build())
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            Ok(EventRecord {
                position: row.position,
                subject_type: EventSubjectType::from_db(&row.subject_type)?,
                subject_id: row.subject_id,
                kind: EventKind::from_db(&row.kind)?,
                changed_fields: row.changed_fields,
                actor_id: row.actor_id,
                detail_id: row.detail_id,
                private_to: row.private_to,
                occurred_at: row.occurred_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if events.is_empty() {
        return Ok(EventBatch::default());
    }
    let ids = |wanted: &dyn Fn(&EventRecord) -> Option<Uuid>| {
        let mut ids: Vec<Uuid> = events.iter().filter_map(wanted).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let subjects =
        |subject_type| ids(&|e| (e.subject_type == subject_type).then_some(e.subject_id));
    let (lead_ids, company_ids, deal_ids, campaign_ids) = (
        subjects(EventSubjectType::Lead),
        subjects(EventSubjectType::Company),
        subjects(EventSubjectType::Deal),
        subjects(EventSubjectType::Campaign),
    );
    let actor_ids = ids(&|e| e.actor_id);
    let leads = rows_by_id::<leads::Model>(conn, "leads", organization_id, lead_ids).await?;
    let companies =
        rows_by_id::<companies::Model>(conn, "companies", organization_id, company_ids).await?;
    let deals = rows_by_id::<deals::Model>(conn, "deals", organization_id, deal_ids).await?;
    let campaigns =
        rows_by_id::<campaigns::Model>(conn, "campaigns", organization_id, campaign_ids).await?;
    let actors = rows_by_id::<users::Model>(conn, "users", organization_id, actor_ids).await?;
    Ok(EventBatch {
        events,
        leads: leads.into_iter().map(|l| (l.id, l)).collect(),
        companies: companies.into_iter().map(|c| (c.id, c)).collect(),
        deals: deals.into_iter().map(|d| (d.id, d)).collect(),
        campaigns: campaigns.into_iter().map(|c| (c.id, c)).collect(),
        actors: actors.into_iter().map(|u| (u.id, u)).collect(),
    })
}

async fn rows_by_id<M: FromQueryResult>(
    conn: &impl ConnectionTrait,
    table: &str,
    organization_id: Uuid,
    ids: Vec<Uuid>,
) -> Result<Vec<M>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    let ids = sql.bind(ids);
    sql.push(&format!(
        "SELECT * FROM {table} WHERE organization_id = {org} AND id = ANY({ids})"
    ));
    M::find_by_statement(sql.build()).all(conn).await
}

/// The tenant's log bounds, read in the caller's transaction.
pub async fn bounds(conn: &impl ConnectionTrait, organization_id: Uuid) -> ApiResult<LogBounds> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT head, pruned_through FROM event_streams WHERE organization_id = $1",
            [organization_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => LogBounds {
            head: row.try_get_by_index(0)?,
            pruned_through: row.try_get_by_index(1)?,
        },
        None => LogBounds::default(),
    })
}

/// Wakes every instance's feed when this transaction appended events; called just before a
/// write transaction commits (see `notify_events` in the migration).
pub async fn notify_listeners(tx: &TenantTx) -> Result<(), DbErr> {
    tx.conn()
        .execute_unprepared("SELECT notify_events()")
        .await
        .map(|_| ())
}
