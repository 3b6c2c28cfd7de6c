//! Scoring leads: the active rules compiled into one statement that computes the scores of the
//! leads in question, updates those that changed (their SCORED events come from the lead
//! triggers) and records each change with its reason, in the caller's transaction.

use chrono::{DateTime, FixedOffset};
use entity::{leads, scoring_jobs, scoring_rules};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{ScoringCondition, conditions};
use crate::{
    error::{ApiError, ApiResult},
    graphql::ListFilter,
    leads::{LeadFilter, storable_filter, stored_filter},
    service::Acting,
    sql::{Changes, SqlBuilder},
};

/// The most leads `rescoreLeads` scores in one request.
const MAX_RESCORED: i64 = 5000;

/// A rule's conditions as stored.
pub fn stored_conditions(stored: &serde_json::Value) -> ApiResult<Vec<ScoringCondition>> {
    serde_json::from_value(stored.clone()).map_err(ApiError::internal)
}

/// Which leads to score again, and why.
pub enum Rescore {
    /// These leads changed (created, updated, an activity logged).
    Leads(Vec<Uuid>, &'static str),
    /// Their company changed.
    OfCompany(Uuid),
}

/// The organization's active rules, highest priority first.
pub async fn active_rules(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
) -> ApiResult<Vec<scoring_rules::Model>> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    sql.push(&format!(
        "SELECT * FROM scoring_rules WHERE organization_id = {org} AND active
         ORDER BY priority DESC, created_at, id"
    ));
    Ok(scoring_rules::Model::find_by_statement(sql.build())
        .all(conn)
        .await?)
}

/// The live leads of company `id` (to score again once it is gone).
pub async fn leads_of_company(acting: &Acting<'_>, id: Uuid) -> ApiResult<Vec<Uuid>> {
    #[derive(FromQueryResult)]
    struct LeadId {
        id: Uuid,
    }
    let mut sql = SqlBuilder::new("");
    let (org, id) = (sql.bind(acting.organization_id()), sql.bind(id));
    sql.push(&format!(
        "SELECT id FROM leads WHERE organization_id = {org} AND company_id = {id}
           AND deleted_at IS NULL"
    ));
    let ids = LeadId::find_by_statement(sql.build())
        .all(acting.db)
        .await?;
    Ok(ids.into_iter().map(|lead| lead.id).collect())
}

/// Whether scores are the rules' (set by hand otherwise).
pub async fn scores_are_computed(acting: &Acting<'_>) -> ApiResult<bool> {
    Ok(!active_rules(acting.db, acting.organization_id())
        .await?
        .is_empty())
}

/// The `SELECT id, created_at, previous, score` of the leads `scope` (the rest of the
/// statement after the conditions on `t`: more of them, an order, a limit) keeps, scored by
/// `rules`.
fn scored(sql: &mut SqlBuilder, rules: &[scoring_rules::Model], scope: &str) -> ApiResult<String> {
    let mut sum = String::from("0");
    for rule in rules {
        let condition = conditions::compile(&stored_conditions(&rule.conditions)?, sql)?;
        let points = sql.bind(rule.points);
        sum.push_str(&format!(
            " + CASE WHEN {condition} THEN {points} ELSE 0 END"
        ));
    }
    Ok(format!(
        "SELECT t.id, t.created_at, t.score AS previous, least(100, greatest(0, {sum})) AS score
         FROM leads t
         LEFT JOIN companies c ON c.organization_id = t.organization_id AND c.id = t.company_id
         WHERE t.organization_id = $1 AND t.deleted_at IS NULL {scope}"
    ))
}

/// Scores the leads of `which` again by the active rules (nothing while there are none);
/// returns the leads whose score changed, as they are now.
pub async fn rescore(acting: &Acting<'_>, which: Rescore) -> ApiResult<Vec<leads::Model>> {
    let rules = active_rules(acting.db, acting.organization_id()).await?;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = SqlBuilder::new("");
    sql.bind(acting.organization_id());
    let (scope, reason) = match which {
        Rescore::Leads(ids, reason) => (format!("AND t.id = ANY({})", sql.bind(ids)), reason),
        Rescore::OfCompany(id) => (
            format!("AND t.company_id = {}", sql.bind(id)),
            "company changed",
        ),
    };
    let scored = scored(&mut sql, &rules, &scope)?;
    let changed = record(&mut sql, &scored, reason, None);
    sql.push(&format!("{changed} SELECT * FROM changed"));
    Ok(leads::Model::find_by_statement(sql.build())
        .all(acting.db)
        .await?)
}

/// `WITH scored AS (...), changed AS (UPDATE ...), history AS (INSERT ...)`: the scores that
/// changed, written and recorded with `reason`.
fn record(sql: &mut SqlBuilder, scored: &str, reason: &str, rule: Option<Uuid>) -> String {
    let (reason, rule) = (sql.bind(reason), sql.bind(rule));
    format!(
        "WITH scored AS ({scored}),
         changed AS (
             UPDATE leads l SET score = s.score FROM scored s
             WHERE l.organization_id = $1 AND l.id = s.id AND l.score <> s.score
             RETURNING l.*, s.previous
         ),
         history AS (
             INSERT INTO lead_score_changes
                 (organization_id, lead_id, previous_score, new_score, reason, rule_id,
                  changed_by_id)
             SELECT $1, id, previous, score, {reason}, {rule},
                    nullif(current_setting('app.current_user_id', true), '')::uuid
             FROM changed
         )"
    )
}

/// What `rescoreLeads` did: the leads rescored in the request, or the job that will.
pub enum Rescored {
    Now { rescored: i64, changed: i64 },
    Queued(Box<scoring_jobs::Model>),
}

#[derive(FromQueryResult)]
struct Matching {
    matching: i64,
}

/// `rescoreLeads`: the live leads `filter` matches, in the request up to [`MAX_RESCORED`],
/// else by a job of the background worker (`jobs`).
pub async fn rescore_matching(
    acting: &Acting<'_>,
    filter: LeadFilter,
    rule: Option<Uuid>,
) -> ApiResult<Rescored> {
    let stored = storable_filter("filter", filter)?;
    if let Some(rule) = rule {
        crate::sql::find_by_id::<scoring_rules::Model>(
            acting.db,
            "scoring_rules",
            acting.organization_id(),
            rule,
        )
        .await?
        .ok_or(ApiError::NotFound("scoring_rule"))?;
    }
    let conditions = stored_filter(&stored)?.conditions()?;
    let mut count = SqlBuilder::new("");
    count.bind(acting.organization_id());
    count.push("SELECT count(*) AS matching FROM leads t WHERE t.organization_id = $1");
    conditions(&mut count);
    count.push(" AND t.deleted_at IS NULL");
    let matching = Matching::find_by_statement(count.build())
        .one(acting.db)
        .await?
        .map_or(0, |m| m.matching);
    if matching > MAX_RESCORED {
        let job = queue(acting, stored, rule, matching).await?;
        return Ok(Rescored::Queued(Box::new(job)));
    }
    let rules = active_rules(acting.db, acting.organization_id()).await?;
    let batch = rescore_batch(
        acting.db,
        acting.organization_id(),
        &rules,
        &stored,
        None,
        MAX_RESCORED,
        Reason::of(rule),
    )
    .await?;
    acting
        .audit(
            "lead.rescore",
            "lead",
            None,
            json!({ "rescored": batch.rescored, "changed": batch.changed, "rule": rule }),
        )
        .await?;
    Ok(Rescored::Now {
        rescored: batch.rescored,
        changed: batch.changed,
    })
}

async fn queue(
    acting: &Acting<'_>,
    filter: serde_json::Value,
    rule: Option<Uuid>,
    total: i64,
) -> ApiResult<scoring_jobs::Model> {
    let mut changes = Changes::default();
    changes.set(
        scoring_jobs::Column::Filter,
        filter.clone(),
        "filter",
        filter,
    );
    changes.set(scoring_jobs::Column::RuleId, rule, "ruleId", json!(rule));
    changes.set(scoring_jobs::Column::Total, total, "total", json!(total));
    changes.set_unaudited(scoring_jobs::Column::CreatedById, acting.user_id());
    acting.insert(changes).await
}

/// Why scores are computed again in bulk, and the rule it follows, if one.
#[derive(Clone, Copy)]
pub struct Reason(&'static str, Option<Uuid>);

impl Reason {
    pub fn of(rule: Option<Uuid>) -> Self {
        match rule {
            Some(rule) => Self("rule changed", Some(rule)),
            None => Self("rescored", None),
        }
    }
}

/// One batch of a bulk rescoring.
pub struct Batch {
    pub rescored: i64,
    pub changed: i64,
    /// The last lead scored, where the next batch starts after.
    pub last: Option<(DateTime<FixedOffset>, Uuid)>,
}

#[derive(FromQueryResult)]
struct BatchRow {
    rescored: i64,
    changed: i64,
    last_created_at: Option<DateTime<FixedOffset>>,
    last_id: Option<Uuid>,
}

/// Scores the next `size` live leads (oldest first, after `after`) that the stored `filter`
/// matches by `rules`, in `conn`'s transaction, whose tenant is the organization's.
pub async fn rescore_batch(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    rules: &[scoring_rules::Model],
    filter: &serde_json::Value,
    after: Option<(DateTime<FixedOffset>, Uuid)>,
    size: i64,
    Reason(reason, rule): Reason,
) -> ApiResult<Batch> {
    if rules.is_empty() {
        return Ok(Batch {
            rescored: 0,
            changed: 0,
            last: None,
        });
    }
    let conditions = stored_filter(filter)?.conditions()?;
    let mut sql = SqlBuilder::new("");
    sql.bind(organization_id);
    let start = sql.sql_len();
    conditions(&mut sql);
    if let Some((at, id)) = after {
        let (at, id) = (sql.bind(at), sql.bind(id));
        sql.push(&format!(" AND (t.created_at, t.id) > ({at}, {id})"));
    }
    let size = sql.bind(size);
    sql.push(&format!(" ORDER BY t.created_at, t.id LIMIT {size}"));
    let scope = sql.take_since(start);
    let scored = scored(&mut sql, rules, &scope)?;
    let changed = record(&mut sql, &scored, reason, rule);
    sql.push(&format!(
        "{changed}, last AS (SELECT created_at, id FROM scored ORDER BY created_at DESC, id DESC
                             LIMIT 1)
         SELECT (SELECT count(*) FROM scored) AS rescored,
                (SELECT count(*) FROM changed) AS changed,
                (SELECT created_at FROM last) AS last_created_at,
                (SELECT id FROM last) AS last_id"
    ));
    let row = BatchRow::find_by_statement(sql.build())
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a rescoring batch read no row")))?;
    Ok(Batch {
        rescored: row.rescored,
        changed: row.changed,
        last: row.last_created_at.zip(row.last_id),
    })
}
