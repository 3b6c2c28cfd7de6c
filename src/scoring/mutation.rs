use async_graphql::{ID, InputObject, SimpleObject};
use entity::scoring_rules::{self, Column};

use super::{
    ScoringCondition, ScoringJob, ScoringRule, conditions, service, types::ScoringRuleType,
};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    leads::LeadFilter,
    numbers::BigInt,
    validation::{between, max_text, stored},
};

crate::inputs! {
    create CreateScoringRuleInput;
    /// Fields left out stay as they are. Leads are rescored as they change, or all at once
    /// with `rescoreLeads`.
    update UpdateScoringRuleInput;
    fields {
        /// Unique in the organization, whatever the case.
        name "name": String = required(Column::Name, max_text(255)),
        rule_type "ruleType": ScoringRuleType = required(Column::RuleType, stored),
        /// 1 to 10, all of which must hold.
        conditions "conditions": Vec<ScoringCondition> =
            required(Column::Conditions, stored_conditions),
        /// -100 to 100.
        points "points": i32 = required(Column::Points, between(-100, 100)),
        /// 0 to 1000; default 0.
        priority "priority": i32 = defaulted(Column::Priority, between(0, 1000)),
        /// Default true.
        active "active": bool = defaulted(Column::Active, on_or_off),
    }
}

fn stored_conditions(
    _field: &'static str,
    given: Vec<ScoringCondition>,
) -> ApiResult<serde_json::Value> {
    serde_json::to_value(conditions::validate(given)?).map_err(ApiError::internal)
}

fn on_or_off(_field: &'static str, active: bool) -> ApiResult<bool> {
    Ok(active)
}

#[derive(InputObject)]
pub struct DeleteScoringRuleInput {
    pub id: ID,
}

#[derive(InputObject, Default)]
pub struct RescoreLeadsInput {
    /// The leads to rescore (live ones); all when absent.
    pub filter: Option<LeadFilter>,
    /// The rule whose change this follows: the score histories name it.
    pub rule_id: Option<ID>,
}

/// Up to 5,000 leads are rescored in the request (`rescored`, `changed`); more, by a job in
/// the background (`job`: follow it with `scoringJob(id)`).
#[derive(SimpleObject)]
pub struct RescoreLeadsPayload {
    /// Leads scored again in the request.
    pub rescored: Option<BigInt>,
    /// Of those, leads whose score changed (each change in its `scoreHistory`).
    pub changed: Option<BigInt>,
    pub job: Option<ScoringJob>,
}

impl From<service::Rescored> for RescoreLeadsPayload {
    fn from(done: service::Rescored) -> Self {
        match done {
            service::Rescored::Now { rescored, changed } => Self {
                rescored: Some(BigInt(rescored)),
                changed: Some(BigInt(changed)),
                job: None,
            },
            service::Rescored::Queued(job) => Self {
                rescored: None,
                changed: None,
                job: Some(ScoringJob(*job)),
            },
        }
    }
}

crate::payloads! {
    ScoringRulePayload { rule: ScoringRule }
    DeleteScoringRulePayload { deleted_rule_id: id of ScoringRule }
}

crate::mutations! {
    ScoringMutation;
    /// Adds a scoring rule (MANAGER and above).
    create_scoring_rule(input: CreateScoringRuleInput) -> ScoringRulePayload,
        manager |acting, ctx| async {
            let changes = { input }.changes()?;
            acting.insert::<scoring_rules::Model>(changes).await.map_err(|err| err.taken("a scoring rule with this name exists"))
        };
    update_scoring_rule(input: UpdateScoringRuleInput) -> ScoringRulePayload,
        manager |acting, ctx| async {
            let id = decode_id(&input.id, NodeKind::ScoringRule, "id")?;
            let changes = input.changes()?;
            acting.update::<scoring_rules::Model>("update", id, changes, "").await.map_err(|err| err.taken("a scoring rule with this name exists"))
        };
    delete_scoring_rule(input: DeleteScoringRuleInput) -> DeleteScoringRulePayload,
        manager |acting, ctx| {
            acting.delete::<scoring_rules::Model>(decode_id(&input.id, NodeKind::ScoringRule, "id")?)
        };
    /// Scores the live leads `filter` matches again by the active rules (MANAGER and above):
    /// in the request for up to 5,000, else in the background.
    rescore_leads(input: RescoreLeadsInput) -> RescoreLeadsPayload,
        manager |acting, ctx| {
            let rule = input
                .rule_id
                .as_ref()
                .map(|id| decode_id(id, NodeKind::ScoringRule, "ruleId"))
                .transpose()?;
            service::rescore_matching(&acting, input.filter.unwrap_or_default(), rule)
        };
}
