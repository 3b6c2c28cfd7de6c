use async_graphql::{ID, InputObject, SimpleObject};
use entity::pipeline_stages::Column;

use super::{PipelineStage, StageKind, service};
use crate::{
    graphql::{NodeKind, decode_id},
    numbers::BigInt,
    validation::{between, max_text, stored},
};

crate::inputs! {
    create CreatePipelineStageInput;
    /// Fields left out stay as they are. Changing the kind changes the status of the deals in
    /// the stage with it. `reorderPipelineStages` moves stages.
    update UpdatePipelineStageInput;
    fields {
        /// 1 to 100 characters, unique in the organization whatever the case.
        name "name": String = required(Column::Name, max_text(100)),
        /// Percent, 0 to 100.
        win_probability "winProbability": i32 = required(Column::WinProbability, between(0, 100)),
        kind "kind": StageKind = required(Column::Kind, stored),
    }
    create_extra {
        /// Where the stage goes (0 first); the stages from there on move one down. Last when
        /// absent or past the end.
        position: Option<i32>,
    }
}

#[derive(InputObject)]
pub struct ReorderPipelineStagesInput {
    /// Every stage of the pipeline, each once, in the new order.
    pub ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct DeletePipelineStageInput {
    pub id: ID,
    /// Where the stage's deals go. Required while deals are in the stage.
    pub move_deals_to: Option<ID>,
}

crate::payloads! {
    PipelineStagePayload { stage: PipelineStage }
}

#[derive(SimpleObject)]
pub struct PipelineStagesPayload {
    /// The whole pipeline, in its new order.
    pub stages: Vec<PipelineStage>,
}

impl From<Vec<entity::pipeline_stages::Model>> for PipelineStagesPayload {
    fn from(stages: Vec<entity::pipeline_stages::Model>) -> Self {
        Self {
            stages: stages.into_iter().map(PipelineStage).collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct DeletePipelineStagePayload {
    pub deleted_stage_id: ID,
    /// How many deals went to `moveDealsTo`.
    pub moved_deal_count: BigInt,
}

impl From<service::DeletedStage> for DeletePipelineStagePayload {
    fn from(deleted: service::DeletedStage) -> Self {
        Self {
            deleted_stage_id: NodeKind::PipelineStage.id(deleted.id),
            moved_deal_count: BigInt(deleted.moved_deals),
        }
    }
}

crate::mutations! {
    PipelineMutation;
    /// Adds a stage to the pipeline (MANAGER and above).
    create_pipeline_stage(input: CreatePipelineStageInput) -> PipelineStagePayload,
        manager |acting, ctx| service::create(&acting, input);
    /// Renames a stage, or changes its probability or kind (MANAGER and above).
    update_pipeline_stage(input: UpdatePipelineStageInput) -> PipelineStagePayload,
        manager |acting, ctx| {
            service::update(&acting, stage_id(&input.id, "id")?, input)
        };
    /// Puts the stages in the given order (MANAGER and above).
    reorder_pipeline_stages(input: ReorderPipelineStagesInput) -> PipelineStagesPayload,
        manager |acting, ctx| {
            let ids = input
                .ids
                .iter()
                .map(|id| stage_id(id, "ids"))
                .collect::<crate::error::ApiResult<Vec<_>>>()?;
            service::reorder(&acting, ids)
        };
    /// Deletes a stage (MANAGER and above); CONFLICT while deals are in it and no
    /// `moveDealsTo` is given. Stage histories keep their moves, without this stage.
    delete_pipeline_stage(input: DeletePipelineStageInput) -> DeletePipelineStagePayload,
        manager |acting, ctx| {
            let id = stage_id(&input.id, "id")?;
            let target = input
                .move_deals_to
                .as_ref()
                .map(|target| stage_id(target, "moveDealsTo"))
                .transpose()?;
            service::delete(&acting, id, target)
        };
}

pub fn stage_id(id: &ID, field: &'static str) -> crate::error::ApiResult<uuid::Uuid> {
    decode_id(id, NodeKind::PipelineStage, field)
}
