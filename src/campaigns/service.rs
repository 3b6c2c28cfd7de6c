//! Campaigns' logic: create and update (dates in order), status moves, spend, membership by
//! ids or by filter (one statement each, idempotent), and members' moves, each audited.

use async_graphql::{ID, MaybeUndefined};
use chrono::NaiveDate;
use entity::{
    campaign_members,
    campaigns::{self, Column},
    leads,
};
use sea_orm::FromQueryResult;
use serde_json::json;
use uuid::Uuid;

use super::{
    CampaignStatus, MemberStatus,
    mutation::{
        AddLeadsToCampaignInput, CreateCampaignInput, RemoveLeadsFromCampaignInput,
        UpdateCampaignInput, UpdateCampaignMemberInput, campaign_id,
    },
};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{ListFilter, NodeKind, decode_id},
    leads::{LeadFilter, stored_filter},
    numbers::MoneyInput,
    service::Acting,
    sql::{Changes, SqlBuilder, one_or_not_found},
};

/// The most leads one call names.
const MAX_LEADS_PER_CALL: usize = 1000;

fn dates_in_order(start: Option<NaiveDate>, end: Option<NaiveDate>) -> ApiResult<()> {
    match (start, end) {
        (Some(start), Some(end)) if end < start => Err(ApiError::bad_input(
            "endDate",
            "`endDate` must not be before `startDate`",
        )),
        _ => Ok(()),
    }
}

pub async fn create(
    acting: &Acting<'_>,
    mut input: CreateCampaignInput,
) -> ApiResult<campaigns::Model> {
    dates_in_order(input.start_date, input.end_date)?;
    let mut changes = input.changes()?;
    changes.set_unaudited(Column::CreatedById, acting.user_id());
    acting.insert(changes).await
}

pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateCampaignInput,
) -> ApiResult<campaigns::Model> {
    let given = |date: &MaybeUndefined<NaiveDate>| date.value().copied();
    dates_in_order(given(&input.start_date), given(&input.end_date))?;
    let changes = input.changes()?;
    acting.update("update", id, changes, "").await
}

/// The moves a campaign's status may make.
fn may_move(from: CampaignStatus, to: CampaignStatus) -> bool {
    use CampaignStatus::*;
    matches!(
        (from, to),
        (Draft, Active)
            | (Draft, Cancelled)
            | (Active, Paused)
            | (Paused, Active)
            | (Active | Paused, Completed | Cancelled)
    )
}

pub async fn change_status(
    acting: &Acting<'_>,
    id: Uuid,
    to: CampaignStatus,
) -> ApiResult<campaigns::Model> {
    let campaign = campaign_for_update(acting, id).await?;
    let from = CampaignStatus::from_db(&campaign.status)?;
    if !may_move(from, to) {
        return Err(ApiError::bad_input(
            "status",
            format!(
                "a campaign cannot go from {} to {}",
                from.as_db().to_uppercase(),
                to.as_db().to_uppercase()
            ),
        ));
    }
    let mut changes = Changes::default();
    changes.set(Column::Status, to.as_db(), "status", json!(to.as_db()));
    acting.update("change_status", id, changes, "").await
}

/// Campaign `id`, locked until the transaction ends.
async fn campaign_for_update(acting: &Acting<'_>, id: Uuid) -> ApiResult<campaigns::Model> {
    let mut sql = SqlBuilder::new("");
    let (org, id) = (sql.bind(acting.organization_id()), sql.bind(id));
    sql.push(&format!(
        "SELECT * FROM campaigns WHERE organization_id = {org} AND id = {id} FOR UPDATE"
    ));
    one_or_not_found(acting.db, sql.build(), "campaign").await
}

pub async fn record_spend(
    acting: &Acting<'_>,
    id: Uuid,
    amount: MoneyInput,
) -> ApiResult<campaigns::Model> {
    let (amount, currency) = amount.validate("amount")?;
    let campaign = campaign_for_update(acting, id).await?;
    if campaign.budget_currency != currency {
        return Err(ApiError::bad_input(
            "amount",
            format!("the campaign's budget is in {}", campaign.budget_currency),
        ));
    }
    let mut changes = Changes::default();
    let spent = campaign.budget_spent + amount;
    changes.set(Column::BudgetSpent, spent, "budgetSpent", json!(spent));
    acting.update("record_spend", id, changes, "").await
}

pub struct Membership {
    pub campaign: campaigns::Model,
    pub changed: i64,
}

#[derive(FromQueryResult)]
struct Added {
    found: i64,
    added: i64,
}

fn lead_ids(ids: &[ID], field: &'static str) -> ApiResult<Vec<Uuid>> {
    if ids.len() > MAX_LEADS_PER_CALL {
        return Err(ApiError::bad_input(
            field,
            format!("at most {MAX_LEADS_PER_CALL} leads per call: use `filter`"),
        ));
    }
    let mut ids = ids
        .iter()
        .map(|id| decode_id(id, NodeKind::Lead, field))
        .collect::<ApiResult<Vec<_>>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The campaign's `targetCriteria` as a lead filter; none while it has none.
fn target_criteria(campaign: &campaigns::Model) -> ApiResult<Option<LeadFilter>> {
    let criteria = &campaign.target_criteria;
    if criteria.as_object().is_none_or(|o| o.is_empty()) {
        return Ok(None);
    }
    stored_filter(criteria).map(Some)
}

/// Adds live leads to a campaign that is not over: by ids (each must be one), by filter, or
/// (neither given) those its `targetCriteria` match.
pub async fn add_leads(
    acting: &Acting<'_>,
    input: AddLeadsToCampaignInput,
) -> ApiResult<Membership> {
    let id = campaign_id(&input.campaign_id, "campaignId")?;
    let ids = input
        .lead_ids
        .as_deref()
        .map(|ids| lead_ids(ids, "leadIds"))
        .transpose()?;
    let campaign = campaign_for_update(acting, id).await?;
    let status = CampaignStatus::from_db(&campaign.status)?;
    if matches!(
        status,
        CampaignStatus::Completed | CampaignStatus::Cancelled
    ) {
        return Err(ApiError::Conflict(format!(
            "the campaign is {}: no lead can join it",
            campaign.status.to_uppercase()
        )));
    }
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    let campaign_param = sql.bind(id);
    let filter = match (&ids, input.filter) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_input(
                "input",
                "give `leadIds` or `filter`, not both",
            ));
        }
        (Some(_), None) => None,
        (None, Some(filter)) => Some(filter),
        (None, None) => Some(target_criteria(&campaign)?.ok_or_else(|| {
            ApiError::bad_input(
                "input",
                "give `leadIds` or `filter`: the campaign has no `targetCriteria`",
            )
        })?),
    };
    sql.push(&format!(
        "WITH found AS (SELECT t.id FROM leads t WHERE t.organization_id = {org}
                          AND t.deleted_at IS NULL"
    ));
    match (&ids, filter) {
        (Some(ids), _) => {
            let ids = sql.bind(ids.clone());
            sql.push(&format!(" AND t.id = ANY({ids})"));
        }
        (None, Some(filter)) => {
            let conditions = filter.conditions().map_err(|err| err.within("filter"))?;
            conditions(&mut sql);
        }
        (None, None) => unreachable!("a filter was chosen above"),
    }
    sql.push(&format!(
        "), added AS (
             INSERT INTO campaign_members (organization_id, campaign_id, lead_id)
             SELECT {org}, {campaign_param}, id FROM found ON CONFLICT DO NOTHING RETURNING 1
         )
         SELECT (SELECT count(*) FROM found) AS found, (SELECT count(*) FROM added) AS added"
    ));
    let done = one_or_not_found::<Added>(acting.db, sql.build(), "lead").await?;
    if ids.is_some_and(|ids| done.found < ids.len() as i64) {
        return Err(ApiError::NotFound("lead"));
    }
    acting
        .audit(
            "campaign.add_leads",
            "campaign",
            Some(id),
            json!({ "added": done.added }),
        )
        .await?;
    Ok(Membership {
        campaign,
        changed: done.added,
    })
}

pub async fn remove_leads(
    acting: &Acting<'_>,
    input: RemoveLeadsFromCampaignInput,
) -> ApiResult<Membership> {
    let id = campaign_id(&input.campaign_id, "campaignId")?;
    let ids = lead_ids(&input.lead_ids, "leadIds")?;
    let campaign = campaign_for_update(acting, id).await?;
    let mut sql = SqlBuilder::new("");
    let (org, campaign_param, ids) = (
        sql.bind(acting.organization_id()),
        sql.bind(id),
        sql.bind(ids),
    );
    sql.push(&format!(
        "DELETE FROM campaign_members WHERE organization_id = {org}
           AND campaign_id = {campaign_param} AND lead_id = ANY({ids})"
    ));
    let removed = sea_orm::ConnectionTrait::execute_raw(acting.db, sql.build())
        .await?
        .rows_affected() as i64;
    acting
        .audit(
            "campaign.remove_leads",
            "campaign",
            Some(id),
            json!({ "removed": removed }),
        )
        .await?;
    Ok(Membership {
        campaign,
        changed: removed,
    })
}

/// The statuses a member may come to `to` from.
fn comes_from(to: MemberStatus) -> &'static [&'static str] {
    match to {
        MemberStatus::Pending => &[],
        MemberStatus::Contacted => &["pending"],
        MemberStatus::Responded => &["contacted"],
        MemberStatus::Converted => &["responded"],
        MemberStatus::Excluded => &["pending", "contacted", "responded"],
    }
}

pub async fn update_member(
    acting: &Acting<'_>,
    input: UpdateCampaignMemberInput,
) -> ApiResult<campaign_members::Model> {
    let campaign = campaign_id(&input.campaign_id, "campaignId")?;
    let lead = decode_id(&input.lead_id, NodeKind::Lead, "leadId")?;
    let refusal = "an agent may change only the leads assigned to them";
    acting
        .may_change::<leads::Model>(lead, "assigned_to_id", refusal)
        .await?;
    let to = input.status;
    let from: Vec<String> = comes_from(to).iter().map(|s| (*s).to_owned()).collect();
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    let (campaign_param, lead_param) = (sql.bind(campaign), sql.bind(lead));
    let (status, from) = (sql.bind(to.as_db()), sql.bind(from));
    // The step's time is set when the member takes it.
    sql.push(&format!(
        "UPDATE campaign_members SET status = {status},
             contacted_at = CASE WHEN {status} = 'contacted' THEN now() ELSE contacted_at END,
             responded_at = CASE WHEN {status} = 'responded' THEN now() ELSE responded_at END,
             converted_at = CASE WHEN {status} = 'converted' THEN now() ELSE converted_at END,
             excluded_at = CASE WHEN {status} = 'excluded' THEN now() ELSE excluded_at END
         WHERE organization_id = {org} AND campaign_id = {campaign_param}
           AND lead_id = {lead_param} AND status = ANY({from})
         RETURNING *"
    ));
    let moved = campaign_members::Model::find_by_statement(sql.build())
        .one(acting.db)
        .await?;
    let Some(member) = moved else {
        return Err(refused_move(acting, campaign, lead, to).await?);
    };
    acting
        .audit(
            "campaign_member.update",
            "campaign",
            Some(campaign),
            json!({ "leadId": lead, "status": to.as_db() }),
        )
        .await?;
    Ok(member)
}

/// Why a member's move changed nothing: NOT_FOUND, or BAD_USER_INPUT naming the move.
async fn refused_move(
    acting: &Acting<'_>,
    campaign: Uuid,
    lead: Uuid,
    to: MemberStatus,
) -> ApiResult<ApiError> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(acting.organization_id());
    let (campaign, lead) = (sql.bind(campaign), sql.bind(lead));
    sql.push(&format!(
        "SELECT * FROM campaign_members WHERE organization_id = {org}
           AND campaign_id = {campaign} AND lead_id = {lead}"
    ));
    let member = campaign_members::Model::find_by_statement(sql.build())
        .one(acting.db)
        .await?;
    Ok(match member {
        None => ApiError::NotFound("campaign_member"),
        Some(member) => ApiError::bad_input(
            "status",
            format!(
                "a member cannot go from {} to {}",
                member.status.to_uppercase(),
                to.as_db().to_uppercase()
            ),
        ),
    })
}
