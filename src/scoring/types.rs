use std::collections::HashMap;

use async_graphql::{Context, Object, SimpleObject, dataloader::Loader};
use chrono::{DateTime, Utc};
use entity::{lead_score_changes, scoring_jobs, scoring_rules};
use sea_orm::FromQueryResult;
use uuid::Uuid;

use super::{ScoringCondition, service};
use crate::{
    graphql::{LoadResult, TenantLoader, related, via},
    numbers::BigInt,
    users::User,
};

crate::text_enum! {
    #[derive(Default)]
    ScoringRuleType {
        #[default]
        Demographic => "demographic",
        Firmographic => "firmographic",
        Behavioral => "behavioral",
        Engagement => "engagement",
    }
}

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    /// Points a lead gets while all of the rule's conditions hold.
    ScoringRule(scoring_rules::Model) as ScoringRule {
        name: &str,
        rule_type: Stored<ScoringRuleType>,
        /// -100 to 100.
        points: i32,
        /// Higher first in explanations.
        priority: i32,
        active: bool,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    extra {
        async fn conditions(&self) -> async_graphql::Result<Vec<ScoringCondition>> {
            Ok(service::stored_conditions(&self.0.conditions)?)
        }
    }
}

crate::text_enum! {
    /// Where a rescoring job stands.
    ScoringJobState {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

crate::object! {
    /// A rescoring of many leads, worked through in the background.
    ScoringJob(scoring_jobs::Model) as ScoringJob {
        state: Stored<ScoringJobState>,
        /// Why it failed, when it did.
        error: Option<&str>,
        created_at: DateTime<Utc>,
        finished_at: Option<DateTime<Utc>>,
    }
    belongs_to {
        rule: ScoringRule by rule_id,
    }
    extra {
        /// Leads matching its filter when it was queued.
        async fn total(&self) -> BigInt {
            BigInt(self.0.total)
        }
        /// Leads scored so far.
        async fn processed(&self) -> BigInt {
            BigInt(self.0.processed)
        }
        /// Of those, leads whose score changed.
        async fn changed(&self) -> BigInt {
            BigInt(self.0.changed)
        }
        /// The leads it scores (`LeadFilter`'s fields), as given.
        async fn filter(&self) -> async_graphql::Json<&serde_json::Value> {
            async_graphql::Json(&self.0.filter)
        }
    }
}

crate::tenant_rows!(
    scoring_jobs::Model => "scoring_jobs" as "scoring_job",
    scoring_rules::Model => "scoring_rules" as "scoring_rule",
    lead_score_changes::Model => "lead_score_changes" as "lead_score_change",
);

crate::children!(
    /// `lead.scoreHistory`.
    LeadScoreChanges: lead_score_changes::Model, by "lead_id"
);

/// A change of a lead's score (`lead.scoreHistory`).
pub struct ScoreChange(pub lead_score_changes::Model);

/// Written by hand: its pages read every column.
impl crate::graphql::ReadsColumns for ScoreChange {}

#[Object]
impl ScoreChange {
    async fn previous(&self) -> i32 {
        self.0.previous_score
    }
    async fn new(&self) -> i32 {
        self.0.new_score
    }
    async fn delta(&self) -> i32 {
        self.0.new_score - self.0.previous_score
    }
    /// What changed it: the lead, an activity, its company, a rule, a rescoring.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// The rule whose change caused it, if one did (and still exists).
    async fn rule(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ScoringRule>> {
        related::<ScoringRule, { via::ANY }>(ctx, self.0.rule_id).await
    }
    /// Who made the change that caused it.
    async fn by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        related::<User, { via::SCORE_CHANGER }>(ctx, self.0.changed_by_id).await
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
}

/// Why a lead has its score: the active rules that fire for it now.
#[derive(SimpleObject, Default)]
pub struct ScoreExplanation {
    /// The score those rules give, 0 to 100 (the lead's score, unless it was set by hand
    /// while no rule was active).
    pub score: i32,
    /// Highest priority first.
    pub contributions: Vec<ScoreContribution>,
}

#[derive(SimpleObject)]
pub struct ScoreContribution {
    pub rule: ScoringRule,
    pub points: i32,
}

impl ScoreExplanation {
    /// The explanation of rules `fired` (highest priority first).
    pub fn of(fired: Vec<scoring_rules::Model>) -> Self {
        let total: i32 = fired.iter().map(|rule| rule.points).sum();
        Self {
            score: total.clamp(0, 100),
            contributions: fired
                .into_iter()
                .map(|rule| ScoreContribution {
                    points: rule.points,
                    rule: ScoringRule(rule),
                })
                .collect(),
        }
    }
}

/// Loader key: the active rules that fire for a lead, highest priority first.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExplanationOf(pub Uuid);

#[derive(FromQueryResult)]
struct Fired {
    lead_id: Uuid,
    rule_index: i32,
}

// Two statements per batch: the active rules, and which fire for which lead.
impl Loader<ExplanationOf> for TenantLoader {
    type Value = Vec<scoring_rules::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ExplanationOf],
    ) -> LoadResult<HashMap<ExplanationOf, Vec<scoring_rules::Model>>> {
        let rules: Vec<scoring_rules::Model> = self
            .select(|sql, org| {
                sql.push(&format!(
                    "SELECT * FROM scoring_rules WHERE organization_id = {org} AND active
                 ORDER BY priority DESC, created_at, id"
                ));
            })
            .await?;
        let mut explanations: HashMap<ExplanationOf, Vec<scoring_rules::Model>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        if rules.is_empty() {
            return Ok(explanations);
        }
        let compiled = rules
            .iter()
            .map(|rule| service::stored_conditions(&rule.conditions))
            .collect::<crate::error::ApiResult<Vec<_>>>()?;
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let mut failed = None;
        let fired: Vec<Fired> = self
            .select(|sql, org| {
                let mut parts = Vec::new();
                for (k, conditions) in compiled.iter().enumerate() {
                    match super::conditions::compile(conditions, sql) {
                        Ok(condition) => parts.push(format!("({k}, {condition})")),
                        Err(err) => failed = Some(err),
                    }
                }
                let ids = sql.bind(ids);
                sql.push(&format!(
                    "SELECT t.id AS lead_id, r.k AS rule_index FROM leads t
                     LEFT JOIN companies c
                         ON c.organization_id = t.organization_id AND c.id = t.company_id
                     CROSS JOIN LATERAL (VALUES {}) AS r(k, fires)
                     WHERE t.organization_id = {org} AND t.id = ANY({ids}) AND r.fires",
                    parts.join(", ")
                ));
            })
            .await?;
        if let Some(err) = failed {
            return Err(err.into());
        }
        // Rows come in no particular order; rules are in priority order.
        let mut fired: Vec<(usize, Uuid)> = fired
            .into_iter()
            .map(|fire| (fire.rule_index as usize, fire.lead_id))
            .collect();
        fired.sort_unstable();
        for (index, lead) in fired {
            if let (Some(rules_fired), Some(rule)) =
                (explanations.get_mut(&ExplanationOf(lead)), rules.get(index))
            {
                rules_fired.push(rule.clone());
            }
        }
        Ok(explanations)
    }
}
