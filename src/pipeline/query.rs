use async_graphql::{Context, Object};

use super::{
    BoardDealOrder, PipelineStage,
    board::{self, PipelineColumn},
    service,
};
use crate::{
    deals::DealFilter,
    graphql::{ContextExt, ListFilter},
};

/// The pipeline's queries: its `complexity` needs an object of its own (see `queries!`).
#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// The organization's pipeline stages, in order.
    async fn pipeline_stages(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PipelineStage>> {
        let organization_id = ctx.principal()?.organization_id;
        let stages = service::stages(ctx.db()?, organization_id).await?;
        Ok(stages.into_iter().map(PipelineStage).collect())
    }

    /// The pipeline as a board: each stage with its first `firstDealsPerStage` live deals (0
    /// to 50), its deal count and its value per currency. `filter` chooses the deals (the
    /// stages are always all there).
    #[graphql(complexity = "board::cost(first_deals_per_stage, child_complexity)")]
    async fn pipeline_board(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first_deals_per_stage: i32,
        #[graphql(default)] order_deals_by: BoardDealOrder,
        filter: Option<DealFilter>,
    ) -> async_graphql::Result<Vec<PipelineColumn>> {
        let organization_id = ctx.principal()?.organization_id;
        let conditions = filter.unwrap_or_default().conditions()?;
        let columns = board::board(
            ctx.db()?,
            organization_id,
            first_deals_per_stage,
            order_deals_by,
            &conditions,
        )
        .await?;
        Ok(columns)
    }
}
