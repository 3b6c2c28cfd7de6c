//! Deals' logic: create, update, move, close, soft-delete and restore, each audited. The
//! references a write gives (stage, lead, company, owner, partner) are checked in one
//! statement, so each missing one is named; the composite keys would refuse another tenant's
//! rows anyway.

use async_graphql::{ID, MaybeUndefined};
use entity::deals::{self, Column};
use sea_orm::FromQueryResult;
use serde_json::json;
use uuid::Uuid;

use super::mutation::{CreateDealInput, UpdateDealInput};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    pipeline::StageKind,
    service::Acting,
    sql::{Changes, SqlBuilder},
    validation,
};

const LIVE: &str = "AND deleted_at IS NULL";

/// Which stage a write puts the deal in.
enum StageWanted {
    Unchanged,
    Id(Uuid),
    /// The pipeline's first stage of this kind.
    FirstOf(StageKind),
}

/// The other rows a write names.
#[derive(Default)]
struct References {
    lead: Option<Uuid>,
    company: Option<Uuid>,
    owner: Option<Uuid>,
    partner: Option<Uuid>,
}

#[derive(FromQueryResult)]
struct Resolved {
    stage_id: Option<Uuid>,
    stage_kind: Option<String>,
    lead_found: bool,
    lead_company_id: Option<Uuid>,
    company_found: bool,
    owner_active: Option<bool>,
    partner_found: bool,
}

/// The stage (id and kind) and the lead's company, once every given reference is found.
struct Checked {
    stage: Option<(Uuid, String)>,
    lead_company: Option<Uuid>,
}

async fn check(acting: &Acting<'_>, stage: StageWanted, refs: &References) -> ApiResult<Checked> {
    let (stage_id, first_of) = match &stage {
        StageWanted::Unchanged => (None, None),
        StageWanted::Id(id) => (Some(*id), None),
        StageWanted::FirstOf(kind) => (None, Some(kind.as_db())),
    };
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    let (stage_param, kind) = (sql.bind(stage_id), sql.bind(first_of));
    let (lead, company) = (sql.bind(refs.lead), sql.bind(refs.company));
    let (owner, partner) = (sql.bind(refs.owner), sql.bind(refs.partner));
    sql.push(&format!(
        "SELECT s.id AS stage_id, s.kind AS stage_kind,
                l.id IS NOT NULL AS lead_found, l.company_id AS lead_company_id,
                c.id IS NOT NULL AS company_found, u.is_active AS owner_active,
                p.id IS NOT NULL AS partner_found
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (
             SELECT id, kind FROM pipeline_stages
             WHERE organization_id = {org} AND (id = {stage_param} OR kind = {kind})
             ORDER BY position, id LIMIT 1
         ) s ON true
         LEFT JOIN leads l
             ON l.organization_id = {org} AND l.id = {lead} AND l.deleted_at IS NULL
         LEFT JOIN companies c ON c.organization_id = {org} AND c.id = {company}
         LEFT JOIN users u ON u.organization_id = {org} AND u.id = {owner}
         LEFT JOIN partners p ON p.organization_id = {org} AND p.id = {partner}"
    ));
    let found = Resolved::find_by_statement(sql.build())
        .one(acting.db)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the reference check read no row")))?;
    let stage = found.stage_id.zip(found.stage_kind);
    if stage.is_none() {
        if stage_id.is_some() {
            return Err(ApiError::NotFound("pipeline_stage"));
        }
        if let Some(kind) = first_of {
            return Err(ApiError::Conflict(format!(
                "the pipeline has no {} stage",
                kind.to_uppercase()
            )));
        }
    }
    if refs.lead.is_some() && !found.lead_found {
        return Err(ApiError::NotFound("lead"));
    }
    if refs.company.is_some() && !found.company_found {
        return Err(ApiError::NotFound("company"));
    }
    match found.owner_active {
        None if refs.owner.is_some() => return Err(ApiError::NotFound("user")),
        Some(false) => {
            return Err(ApiError::bad_input(
                "ownerId",
                "cannot give a deal to a deactivated user",
            ));
        }
        _ => {}
    }
    if refs.partner.is_some() && !found.partner_found {
        return Err(ApiError::NotFound("partner"));
    }
    Ok(Checked {
        stage,
        lead_company: found.lead_company_id,
    })
}

fn decoded(id: &Option<ID>, kind: NodeKind, field: &'static str) -> ApiResult<Option<Uuid>> {
    id.as_ref().map(|id| decode_id(id, kind, field)).transpose()
}

/// A patch's new reference, if it sets one.
fn patched(
    id: &MaybeUndefined<ID>,
    kind: NodeKind,
    field: &'static str,
) -> ApiResult<Option<Uuid>> {
    match id {
        MaybeUndefined::Value(id) => decode_id(id, kind, field).map(Some),
        _ => Ok(None),
    }
}

fn set_stage(changes: &mut Changes, (id, kind): (Uuid, String)) {
    changes.set(Column::StageId, id, "stageId", json!(id));
    changes.set(Column::Status, kind.clone(), "status", json!(kind));
}

pub async fn create(acting: &Acting<'_>, mut input: CreateDealInput) -> ApiResult<deals::Model> {
    let stage = match decoded(&input.stage_id, NodeKind::PipelineStage, "stageId")? {
        Some(id) => StageWanted::Id(id),
        None => StageWanted::FirstOf(StageKind::Open),
    };
    let refs = References {
        lead: decoded(&input.lead_id, NodeKind::Lead, "leadId")?,
        company: decoded(&input.company_id, NodeKind::Company, "companyId")?,
        owner: decoded(&input.owner_id, NodeKind::User, "ownerId")?,
        partner: decoded(&input.partner_id, NodeKind::Partner, "partnerId")?,
    };
    let mut changes = input.changes()?;
    let checked = check(acting, stage, &refs).await?;
    if let Some(stage) = checked.stage {
        set_stage(&mut changes, stage);
    }
    if refs.company.is_none()
        && let Some(company) = checked.lead_company
    {
        changes.set(Column::CompanyId, company, "companyId", json!(company));
    }
    if refs.owner.is_none() {
        let me = acting.user_id();
        changes.set(Column::OwnerId, me, "ownerId", json!(me));
    }
    changes.set_unaudited(Column::CreatedById, acting.user_id());
    acting.insert(changes).await
}

/// An AGENT changes only the deals they own; MANAGER and above, any deal.
async fn may_change(acting: &Acting<'_>, id: Uuid) -> ApiResult<()> {
    let refusal = "an agent may change only the deals they own";
    acting
        .may_change::<deals::Model>(id, "owner_id", refusal)
        .await
}

pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateDealInput,
) -> ApiResult<deals::Model> {
    let refs = References {
        lead: patched(&input.lead_id, NodeKind::Lead, "leadId")?,
        company: patched(&input.company_id, NodeKind::Company, "companyId")?,
        owner: patched(&input.owner_id, NodeKind::User, "ownerId")?,
        partner: patched(&input.partner_id, NodeKind::Partner, "partnerId")?,
    };
    let changes = input.changes()?;
    may_change(acting, id).await?;
    if refs
        .lead
        .or(refs.company)
        .or(refs.owner)
        .or(refs.partner)
        .is_some()
    {
        check(acting, StageWanted::Unchanged, &refs).await?;
    }
    acting.update("update", id, changes, LIVE).await
}

/// Moves a live deal to stage `stage_id`.
pub async fn move_to(acting: &Acting<'_>, id: Uuid, stage_id: Uuid) -> ApiResult<deals::Model> {
    may_change(acting, id).await?;
    let checked = check(acting, StageWanted::Id(stage_id), &References::default()).await?;
    let mut changes = Changes::default();
    if let Some(stage) = checked.stage {
        set_stage(&mut changes, stage);
    }
    acting.update("move", id, changes, LIVE).await
}

/// Wins or loses an open live deal: it goes to the pipeline's first stage of that kind.
pub async fn close(
    acting: &Acting<'_>,
    id: Uuid,
    won: bool,
    reason: Option<String>,
) -> ApiResult<deals::Model> {
    let kind = if won { StageKind::Won } else { StageKind::Lost };
    let reason = reason
        .map(|r| validation::text("reason", &r, 500))
        .transpose()?;
    may_change(acting, id).await?;
    let checked = check(acting, StageWanted::FirstOf(kind), &References::default()).await?;
    let mut changes = Changes::default();
    if let Some(stage) = checked.stage {
        set_stage(&mut changes, stage);
    }
    changes.set(Column::CloseReason, reason.clone(), "reason", json!(reason));
    let closed = acting
        .update(
            "close",
            id,
            changes,
            "AND deleted_at IS NULL AND status = 'open'",
        )
        .await;
    match closed {
        Err(ApiError::NotFound(_)) => Err(already_closed(acting, id).await?),
        other => other,
    }
}

/// Why a close found no open live deal: NOT_FOUND, or BAD_USER_INPUT when it is closed.
async fn already_closed(acting: &Acting<'_>, id: Uuid) -> ApiResult<ApiError> {
    let deal: Option<deals::Model> =
        crate::sql::find_by_id(acting.db, "deals", acting.organization_id(), id).await?;
    Ok(match deal {
        Some(deal) if deal.deleted_at.is_none() => ApiError::bad_input(
            "won",
            format!(
                "the deal is already {}: moveDeal to an OPEN stage reopens it",
                deal.status.to_uppercase()
            ),
        ),
        _ => ApiError::NotFound("deal"),
    })
}

/// Soft-deletes a deal: it leaves lists and the board, and can be restored.
pub async fn delete(acting: &Acting<'_>, id: Uuid) -> ApiResult<deals::Model> {
    may_change(acting, id).await?;
    acting.soft_delete(id).await
}

pub async fn restore(acting: &Acting<'_>, id: Uuid) -> ApiResult<deals::Model> {
    may_change(acting, id).await?;
    acting.restore(id).await
}
