use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::{Lead, LeadSource, LeadStatus, Seniority, Temperature, service};
use crate::{
    graphql::{ContextExt, NodeKind, decode_id},
    numbers::MoneyInput,
};

#[derive(InputObject, Default)]
pub struct CreateLeadInput {
    pub first_name: String,
    pub last_name: String,
    /// Unique among the organization's live leads.
    pub email: String,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub seniority: Option<Seniority>,
    pub source: Option<LeadSource>,
    pub status: Option<LeadStatus>,
    /// 0 to 100; default 0.
    pub score: Option<i32>,
    pub temperature: Option<Temperature>,
    pub estimated_deal_value: Option<MoneyInput>,
    /// Percent, 0 to 100.
    pub probability_to_close: Option<i32>,
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<Json<serde_json::Value>>,
    pub linkedin_url: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
    pub company_id: Option<ID>,
    pub assigned_to_id: Option<ID>,
}

/// Fields left out stay as they are; nullable fields set to null are cleared.
#[derive(InputObject, Default)]
pub struct UpdateLeadInput {
    pub id: ID,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: MaybeUndefined<String>,
    pub job_title: MaybeUndefined<String>,
    pub department: MaybeUndefined<String>,
    pub seniority: MaybeUndefined<Seniority>,
    pub source: Option<LeadSource>,
    pub status: Option<LeadStatus>,
    pub score: Option<i32>,
    pub temperature: Option<Temperature>,
    pub estimated_deal_value: MaybeUndefined<MoneyInput>,
    pub probability_to_close: MaybeUndefined<i32>,
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<Json<serde_json::Value>>,
    pub linkedin_url: MaybeUndefined<String>,
    pub expected_close_date: MaybeUndefined<NaiveDate>,
    pub next_follow_up_at: MaybeUndefined<DateTime<Utc>>,
    pub company_id: MaybeUndefined<ID>,
}

#[derive(InputObject)]
pub struct LeadIdInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct AssignLeadInput {
    pub lead_id: ID,
    /// The user to assign; null to unassign.
    pub user_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct LeadPayload {
    pub lead: Lead,
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        input: CreateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let lead = service::create(&ctx.acting()?, input).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        input: UpdateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let id = decode_id(&input.id, NodeKind::Lead, "id")?;
        let lead = service::update(&ctx.acting()?, id, input).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Soft-deletes a lead: it leaves lists and can be restored.
    async fn delete_lead(
        &self,
        ctx: &Context<'_>,
        input: LeadIdInput,
    ) -> async_graphql::Result<LeadPayload> {
        let id = decode_id(&input.id, NodeKind::Lead, "id")?;
        let lead = service::delete(&ctx.acting()?, id).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Brings back a soft-deleted lead.
    async fn restore_lead(
        &self,
        ctx: &Context<'_>,
        input: LeadIdInput,
    ) -> async_graphql::Result<LeadPayload> {
        let id = decode_id(&input.id, NodeKind::Lead, "id")?;
        let lead = service::restore(&ctx.acting()?, id).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Assigns a lead to an active user of the organization, or unassigns it.
    async fn assign_lead(
        &self,
        ctx: &Context<'_>,
        input: AssignLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let id = decode_id(&input.lead_id, NodeKind::Lead, "leadId")?;
        let lead = service::assign(&ctx.acting()?, id, input.user_id.as_ref()).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }
}
