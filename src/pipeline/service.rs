//! The pipeline's stages: add, rename, reorder, delete. Every change takes the organization's
//! stages `FOR UPDATE` first, so concurrent changes queue and positions stay 0, 1, 2, ...
//! without gaps or ties.

use entity::pipeline_stages;
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::mutation::{CreatePipelineStageInput, UpdatePipelineStageInput};
use crate::{
    error::{ApiError, ApiResult},
    service::Acting,
    sql::SqlBuilder,
};

/// Enough for any sales process, and a bound on what `pipelineBoard` reads.
pub const MAX_STAGES: usize = 30;

/// The organization's stages in order.
pub async fn stages(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
) -> ApiResult<Vec<pipeline_stages::Model>> {
    ordered_stages(db, organization_id, "").await
}

async fn ordered_stages(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    lock: &str,
) -> ApiResult<Vec<pipeline_stages::Model>> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    sql.push(&format!(
        "SELECT * FROM pipeline_stages WHERE organization_id = {org} ORDER BY position, id {lock}"
    ));
    Ok(pipeline_stages::Model::find_by_statement(sql.build())
        .all(db)
        .await?)
}

/// The stages, locked until the transaction ends.
async fn locked_stages(acting: &Acting<'_>) -> ApiResult<Vec<pipeline_stages::Model>> {
    ordered_stages(acting.db, acting.organization_id(), "FOR UPDATE").await
}

pub async fn create(
    acting: &Acting<'_>,
    mut input: CreatePipelineStageInput,
) -> ApiResult<pipeline_stages::Model> {
    let mut changes = input.changes()?;
    let stages = locked_stages(acting).await?;
    if stages.len() >= MAX_STAGES {
        return Err(ApiError::Conflict(format!(
            "a pipeline has at most {MAX_STAGES} stages"
        )));
    }
    let position = match input.position {
        Some(position) if position < 0 => {
            return Err(ApiError::bad_input(
                "position",
                "`position` must not be negative",
            ));
        }
        Some(position) => position.min(stages.len() as i32),
        None => stages.len() as i32,
    };
    shift(acting, position, 1).await?;
    changes.set(
        pipeline_stages::Column::Position,
        position,
        "position",
        json!(position),
    );
    acting
        .insert(changes)
        .await
        .map_err(|err| err.taken("a stage with this name exists"))
}

pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdatePipelineStageInput,
) -> ApiResult<pipeline_stages::Model> {
    let changes = input.changes()?;
    let stage = acting.update("update", id, changes, "").await;
    stage.map_err(|err| err.taken("a stage with this name exists"))
}

/// Moves the stages at `from` and after by `by` places.
async fn shift(acting: &Acting<'_>, from: i32, by: i32) -> ApiResult<()> {
    let mut sql = SqlBuilder::new("");
    let (org, from, by) = (
        sql.bind(acting.organization_id()),
        sql.bind(from),
        sql.bind(by),
    );
    sql.push(&format!(
        "UPDATE pipeline_stages SET position = position + {by}
         WHERE organization_id = {org} AND position >= {from}"
    ));
    acting.db.execute_raw(sql.build()).await?;
    Ok(())
}

/// Puts the stages in the order of `ids`, which must name each stage once.
pub async fn reorder(
    acting: &Acting<'_>,
    ids: Vec<Uuid>,
) -> ApiResult<Vec<pipeline_stages::Model>> {
    let locked = locked_stages(acting).await?;
    let mut current: Vec<Uuid> = locked.iter().map(|s| s.id).collect();
    let mut given = ids.clone();
    current.sort_unstable();
    given.sort_unstable();
    if current != given {
        return Err(ApiError::bad_input(
            "ids",
            "`ids` must name every stage of the pipeline, each once",
        ));
    }
    let mut sql = SqlBuilder::new("");
    let (org, ids_param) = (sql.bind(acting.organization_id()), sql.bind(ids.clone()));
    sql.push(&format!(
        "UPDATE pipeline_stages s SET position = o.place - 1
         FROM unnest({ids_param}::uuid[]) WITH ORDINALITY AS o(id, place)
         WHERE s.organization_id = {org} AND s.id = o.id AND s.position <> o.place - 1"
    ));
    acting.db.execute_raw(sql.build()).await?;
    acting
        .audit(
            "pipeline_stage.reorder",
            "pipeline_stage",
            None,
            json!({ "ids": ids }),
        )
        .await?;
    stages(acting.db, acting.organization_id()).await
}

pub struct DeletedStage {
    pub id: Uuid,
    pub moved_deals: i64,
}

/// Deletes stage `id`, first moving its deals (soft-deleted ones too) to `target`. CONFLICT
/// when deals are in it and no target is given.
pub async fn delete(
    acting: &Acting<'_>,
    id: Uuid,
    target: Option<Uuid>,
) -> ApiResult<DeletedStage> {
    let stages = locked_stages(acting).await?;
    let stage = stages
        .iter()
        .find(|s| s.id == id)
        .ok_or(ApiError::NotFound("pipeline_stage"))?;
    let moved_deals = match target {
        Some(target) if target == id => {
            return Err(ApiError::bad_input(
                "moveDealsTo",
                "`moveDealsTo` must be another stage",
            ));
        }
        Some(target) => {
            let target = stages
                .iter()
                .find(|s| s.id == target)
                .ok_or(ApiError::NotFound("pipeline_stage"))?;
            move_deals(acting, id, target).await?
        }
        None => 0,
    };
    let mut sql = SqlBuilder::new("");
    let (org, stage_id) = (sql.bind(acting.organization_id()), sql.bind(id));
    // Deals still in the stage (no target given) keep it: the deletion fails on their key.
    sql.push(&format!(
        "DELETE FROM pipeline_stages s WHERE s.organization_id = {org} AND s.id = {stage_id}
           AND NOT EXISTS (SELECT 1 FROM deals d
                           WHERE d.organization_id = {org} AND d.stage_id = {stage_id})"
    ));
    if acting.db.execute_raw(sql.build()).await?.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "deals are in this stage: give `moveDealsTo` to move them".into(),
        ));
    }
    shift(acting, stage.position + 1, -1).await?;
    acting
        .audit(
            "pipeline_stage.delete",
            "pipeline_stage",
            Some(id),
            json!({ "name": stage.name, "moveDealsTo": target, "movedDeals": moved_deals }),
        )
        .await?;
    Ok(DeletedStage { id, moved_deals })
}

/// Moves every deal of stage `from` to `to`, each move in its deal's stage history.
async fn move_deals(
    acting: &Acting<'_>,
    from: Uuid,
    to: &pipeline_stages::Model,
) -> ApiResult<i64> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    let (from, to_id, kind) = (sql.bind(from), sql.bind(to.id), sql.bind(to.kind.clone()));
    sql.push(&format!(
        "UPDATE deals SET stage_id = {to_id}, status = {kind}
         WHERE organization_id = {org} AND stage_id = {from}"
    ));
    let moved = acting.db.execute_raw(sql.build()).await?.rows_affected();
    Ok(moved as i64)
}
