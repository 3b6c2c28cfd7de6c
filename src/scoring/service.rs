//! Scoring leads: the active rules compiled into one statement that computes the scores of the
//! leads in question, updates those that changed (their SCORED events come from the lead
//! triggers) and records each change with its reason, in the caller's transaction.

use entity::{leads, scoring_rules};
use sea_orm::FromQueryResult;
use serde_json::json;
use uuid::Uuid;

use super::{ScoringCondition, conditions};
use crate::{
    error::{ApiError, ApiResult},
    graphql::ListFilter,
    leads::LeadFilter,
    service::Acting,
    sql::SqlBuilder,
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

async fn active_rules(acting: &Acting<'_>) -> ApiResult<Vec<scoring_rules::Model>> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    sql.push(&format!(
        "SELECT * FROM scoring_rules WHERE organization_id = {org} AND active
         ORDER BY priority DESC, created_at, id"
    ));
    Ok(scoring_rules::Model::find_by_statement(sql.build())
        .all(acting.db)
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
    Ok(!active_rules(acting).await?.is_empty())
}

/// The `SELECT id, previous, score` of the leads `scope` (a condition on `t`) keeps, scored by
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
        "SELECT t.id, t.score AS previous, least(100, greatest(0, {sum})) AS score
         FROM leads t
         LEFT JOIN companies c ON c.organization_id = t.organization_id AND c.id = t.company_id
         WHERE t.organization_id = $1 AND t.deleted_at IS NULL {scope}"
    ))
}

/// Scores the leads of `which` again by the active rules (nothing while there are none);
/// returns the leads whose score changed, as they are now.
pub async fn rescore(acting: &Acting<'_>, which: Rescore) -> ApiResult<Vec<leads::Model>> {
    let rules = active_rules(acting).await?;
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

pub struct Rescored {
    pub rescored: i64,
    pub changed: i64,
}

#[derive(FromQueryResult)]
struct Counts {
    rescored: i64,
    changed: i64,
}

/// `rescoreLeads`: the live leads `filter` matches, at most [`MAX_RESCORED`].
pub async fn rescore_matching(
    acting: &Acting<'_>,
    filter: LeadFilter,
    rule: Option<Uuid>,
) -> ApiResult<Rescored> {
    let conditions = filter.conditions().map_err(|err| err.within("filter"))?;
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
    let rules = active_rules(acting).await?;
    let mut sql = SqlBuilder::new("");
    sql.bind(acting.organization_id());
    // The filter's conditions are on `t` with `$1` the tenant, as the scoring statement's.
    let start = sql.sql_len();
    conditions(&mut sql);
    let scope = sql.take_since(start);
    let matching = {
        let mut count = sql.clone();
        count.push(&format!(
            "SELECT count(*) AS rescored, 0::bigint AS changed FROM leads t
             WHERE t.organization_id = $1 AND t.deleted_at IS NULL {scope}"
        ));
        Counts::find_by_statement(count.build())
            .one(acting.db)
            .await?
            .map_or(0, |c| c.rescored)
    };
    if matching > MAX_RESCORED {
        return Err(ApiError::Limit(format!(
            "{matching} leads match: rescore at most {MAX_RESCORED} at a time (narrow the filter)"
        )));
    }
    if rules.is_empty() {
        return Ok(Rescored {
            rescored: 0,
            changed: 0,
        });
    }
    let scored = scored(&mut sql, &rules, &scope)?;
    let reason = if rule.is_some() {
        "rule changed"
    } else {
        "rescored"
    };
    let changed = record(&mut sql, &scored, reason, rule);
    sql.push(&format!(
        "{changed} SELECT (SELECT count(*) FROM scored) AS rescored,
                          (SELECT count(*) FROM changed) AS changed"
    ));
    let counts = Counts::find_by_statement(sql.build())
        .one(acting.db)
        .await?
        .unwrap_or(Counts {
            rescored: 0,
            changed: 0,
        });
    acting
        .audit(
            "lead.rescore",
            "lead",
            None,
            json!({ "rescored": counts.rescored, "changed": counts.changed }),
        )
        .await?;
    Ok(Rescored {
        rescored: counts.rescored,
        changed: counts.changed,
    })
}
