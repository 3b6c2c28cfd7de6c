use async_graphql::{ID, InputObject, Json, SimpleObject};
use chrono::NaiveDate;
use entity::campaigns::Column;

use super::{
    Campaign, CampaignStatus, MemberStatus, service,
    types::{CampaignMember, CampaignType},
};
use crate::{
    error::ApiResult,
    graphql::{NodeKind, decode_id},
    leads::{LeadFilter, storable_filter},
    numbers::{BigInt, MoneyInput},
    validation::{self, max_text, stored},
};

crate::inputs! {
    create CreateCampaignInput;
    /// Fields left out stay as they are; nullable fields set to null are cleared.
    /// `changeCampaignStatus` changes its status.
    update UpdateCampaignInput;
    fields {
        name "name": String = required(Column::Name, max_text(255)),
        description "description": String = text(Column::Description, 5000),
        r#type "type": CampaignType = required(Column::CampaignType, stored),
        /// The leads it targets; `addLeadsToCampaign(input: { filter })` adds them.
        target_criteria "targetCriteria": LeadFilter =
            defaulted(Column::TargetCriteria, storable_filter),
        start_date "startDate": NaiveDate = nullable(Column::StartDate, validation::calendar),
        /// On or after `startDate`.
        end_date "endDate": NaiveDate = nullable(Column::EndDate, validation::calendar),
        budget_allocated "budgetAllocated": MoneyInput =
            money(Column::BudgetAllocated, Column::BudgetCurrency),
        /// A JSON object of at most 16 KiB.
        goals "goals": Json<serde_json::Value> = defaulted(Column::Goals, goals),
    }
}

fn goals(field: &'static str, value: Json<serde_json::Value>) -> ApiResult<serde_json::Value> {
    validation::json_object(field, value.0, 16 * 1024)
}

#[derive(InputObject)]
pub struct ChangeCampaignStatusInput {
    pub id: ID,
    pub status: CampaignStatus,
}

#[derive(InputObject)]
pub struct RecordCampaignSpendInput {
    pub id: ID,
    /// Added to `budgetSpent`; in the budget's currency.
    pub amount: MoneyInput,
}

/// Leads by id or by filter (not both); neither: the leads the campaign's `targetCriteria`
/// match.
#[derive(InputObject)]
pub struct AddLeadsToCampaignInput {
    pub campaign_id: ID,
    /// At most 1,000 live leads.
    pub lead_ids: Option<Vec<ID>>,
    /// Every live lead matching it, in one statement.
    pub filter: Option<LeadFilter>,
}

#[derive(InputObject)]
pub struct RemoveLeadsFromCampaignInput {
    pub campaign_id: ID,
    /// At most 1,000.
    pub lead_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct UpdateCampaignMemberInput {
    pub campaign_id: ID,
    pub lead_id: ID,
    pub status: MemberStatus,
}

crate::payloads! {
    CampaignPayload { campaign: Campaign }
}

/// A campaign's membership after adding or removing leads.
#[derive(SimpleObject)]
pub struct CampaignMembershipPayload {
    pub campaign: Campaign,
    /// Leads that joined (or left) now; those already in (or out) are not counted.
    pub changed_count: BigInt,
}

impl From<service::Membership> for CampaignMembershipPayload {
    fn from(done: service::Membership) -> Self {
        Self {
            campaign: Campaign(done.campaign),
            changed_count: BigInt(done.changed),
        }
    }
}

#[derive(SimpleObject)]
pub struct CampaignMemberPayload {
    pub member: CampaignMember,
}

impl From<entity::campaign_members::Model> for CampaignMemberPayload {
    fn from(member: entity::campaign_members::Model) -> Self {
        Self {
            member: CampaignMember(member),
        }
    }
}

crate::mutations! {
    CampaignMutation;
    /// Creates a DRAFT campaign (MANAGER and above).
    create_campaign(input: CreateCampaignInput) -> CampaignPayload,
        manager |acting, ctx| service::create(&acting, input);
    update_campaign(input: UpdateCampaignInput) -> CampaignPayload,
        manager |acting, ctx| service::update(&acting, campaign_id(&input.id, "id")?, input);
    /// Moves a campaign along DRAFT → ACTIVE ⇄ PAUSED → COMPLETED or CANCELLED;
    /// BAD_USER_INPUT naming `status` for any other move.
    change_campaign_status(input: ChangeCampaignStatusInput) -> CampaignPayload,
        manager |acting, ctx| {
            service::change_status(&acting, campaign_id(&input.id, "id")?, input.status)
        };
    /// Adds to what the campaign has spent (MANAGER and above).
    record_campaign_spend(input: RecordCampaignSpendInput) -> CampaignPayload,
        manager |acting, ctx| {
            service::record_spend(&acting, campaign_id(&input.id, "id")?, input.amount)
        };
    /// Adds leads to a campaign that is not over (MANAGER and above), each once however often
    /// it is asked.
    add_leads_to_campaign(input: AddLeadsToCampaignInput) -> CampaignMembershipPayload,
        manager |acting, ctx| service::add_leads(&acting, input);
    remove_leads_from_campaign(input: RemoveLeadsFromCampaignInput) -> CampaignMembershipPayload,
        manager |acting, ctx| service::remove_leads(&acting, input);
    /// Moves a member along PENDING → CONTACTED → RESPONDED → CONVERTED (or to EXCLUDED
    /// before converting), setting the step's time; BAD_USER_INPUT naming `status` for any
    /// other move. An AGENT moves only the leads assigned to them.
    update_campaign_member(input: UpdateCampaignMemberInput) -> CampaignMemberPayload,
        member |acting, ctx| service::update_member(&acting, input);
}

pub(super) fn campaign_id(id: &ID, field: &'static str) -> ApiResult<uuid::Uuid> {
    decode_id(id, NodeKind::Campaign, field)
}
