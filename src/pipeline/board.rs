//! `pipelineBoard`: every stage with its first deals, its deal count and its value per
//! currency, in three statements whatever the number of stages: the stages, their first deals
//! (one `LATERAL` index range per stage), and the counts and sums.

use std::collections::HashMap;

use async_graphql::{Enum, Object};
use entity::{deals, pipeline_stages};
use rust_decimal::Decimal;
use sea_orm::{FromQueryResult, Statement};
use uuid::Uuid;

use super::{PipelineStage, service};
use crate::{
    deals::Deal,
    error::{ApiError, ApiResult},
    numbers::{BigInt, Money},
    sql::SqlBuilder,
};

/// The most a board column shows.
pub const MAX_DEALS_PER_STAGE: i32 = 50;

/// Which deals a board column shows first.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardDealOrder {
    /// The most valuable first (whatever the currency), deals without a value last.
    #[default]
    Value,
    /// The soonest expected to close first, deals without a date last.
    ExpectedClose,
}

/// One stage of the board.
pub struct PipelineColumn {
    stage: pipeline_stages::Model,
    deals: Vec<deals::Model>,
    deal_count: i64,
    values: Vec<Money>,
}

#[Object]
impl PipelineColumn {
    async fn stage(&self) -> PipelineStage {
        PipelineStage(self.stage.clone())
    }
    /// The stage's first live deals, in the board's order.
    async fn deals(&self) -> Vec<Deal> {
        self.deals.iter().cloned().map(Deal).collect()
    }
    /// All live deals in the stage (or matching the board's filter).
    async fn deal_count(&self) -> BigInt {
        BigInt(self.deal_count)
    }
    /// The sum of those deals' values, one per currency (deals without a value add nothing).
    async fn value_by_currency(&self) -> &[Money] {
        &self.values
    }
}

/// What a board costs to resolve: every stage may show `first` deals.
pub fn cost(first: i32, child_complexity: usize) -> usize {
    service::MAX_STAGES * first.clamp(1, MAX_DEALS_PER_STAGE) as usize * child_complexity.max(1) + 1
}

#[derive(FromQueryResult)]
struct StageTotal {
    stage_id: Uuid,
    value_currency: String,
    deals: i64,
    total: Option<Decimal>,
}

/// The board of the caller's pipeline; `conditions` (a deal filter's, on alias `t`, `$1` the
/// tenant) choose the deals.
pub async fn board(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: Uuid,
    first: i32,
    order: BoardDealOrder,
    conditions: &(impl Fn(&mut SqlBuilder) + Sync),
) -> ApiResult<Vec<PipelineColumn>> {
    if !(0..=MAX_DEALS_PER_STAGE).contains(&first) {
        return Err(ApiError::bad_input(
            "firstDealsPerStage",
            format!("`firstDealsPerStage` must be between 0 and {MAX_DEALS_PER_STAGE}"),
        ));
    }
    let stages = service::stages(db, organization_id).await?;
    let order_by = match order {
        BoardDealOrder::Value => "t.value DESC NULLS LAST, t.id DESC",
        BoardDealOrder::ExpectedClose => "t.expected_close_date ASC NULLS LAST, t.id",
    };
    let filtered = |head: &str, tail: &str| -> Statement {
        let mut sql = SqlBuilder::new("");
        let org = sql.bind(organization_id);
        debug_assert_eq!(org, "$1");
        sql.push(head);
        conditions(&mut sql);
        let tail = tail.replace("{first}", &sql.bind(first));
        sql.push(&tail);
        sql.build()
    };
    let first_deals = filtered(
        "SELECT t.* FROM pipeline_stages s CROSS JOIN LATERAL (
             SELECT t.* FROM deals t WHERE t.organization_id = $1 AND t.stage_id = s.id",
        &format!(" ORDER BY {order_by} LIMIT {{first}}) t WHERE s.organization_id = $1"),
    );
    let totals = filtered(
        "SELECT t.stage_id, t.value_currency, count(*) AS deals, sum(t.value) AS total
         FROM deals t WHERE t.organization_id = $1",
        " GROUP BY t.stage_id, t.value_currency ORDER BY t.value_currency",
    );
    let mut deals_by_stage: HashMap<Uuid, Vec<deals::Model>> = HashMap::new();
    if first > 0 {
        for deal in deals::Model::find_by_statement(first_deals).all(db).await? {
            deals_by_stage.entry(deal.stage_id).or_default().push(deal);
        }
    }
    let mut totals_by_stage: HashMap<Uuid, Vec<StageTotal>> = HashMap::new();
    for total in StageTotal::find_by_statement(totals).all(db).await? {
        totals_by_stage
            .entry(total.stage_id)
            .or_default()
            .push(total);
    }
    Ok(stages
        .into_iter()
        .map(|stage| {
            let totals = totals_by_stage.remove(&stage.id).unwrap_or_default();
            PipelineColumn {
                deals: deals_by_stage.remove(&stage.id).unwrap_or_default(),
                deal_count: totals.iter().map(|t| t.deals).sum(),
                values: totals
                    .iter()
                    .filter_map(|t| Money::from_columns(t.total, &t.value_currency))
                    .collect(),
                stage,
            }
        })
        .collect())
}
