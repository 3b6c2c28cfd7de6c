use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::leads;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    FromQueryResult,
};
use serde_json::json;
use uuid::Uuid;

use super::{Lead, LeadSource, LeadStatus, Seniority, Temperature};
use crate::{
    audit,
    error::{ApiError, ApiResult},
    graphql::{ContextExt, NodeKind, decode_id, patch},
    numbers::MoneyInput,
    sql::Changes,
    validation,
};

#[derive(InputObject)]
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
#[derive(InputObject)]
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

fn score(value: i32) -> ApiResult<i32> {
    validation::range("score", value, 0, 100)
}

fn probability(value: i32) -> ApiResult<i32> {
    validation::range("probabilityToClose", value, 0, 100)
}

fn deal_value(value: MoneyInput) -> ApiResult<(Decimal, String)> {
    value.validate("estimatedDealValue")
}

fn tags(values: Vec<String>) -> ApiResult<Vec<String>> {
    if values.len() > 50 {
        return Err(ApiError::bad_input("tags", "at most 50 tags"));
    }
    let mut cleaned = values
        .iter()
        .map(|tag| validation::text("tags", tag, 50).map(|t| t.to_lowercase()))
        .collect::<ApiResult<Vec<_>>>()?;
    cleaned.sort();
    cleaned.dedup();
    Ok(cleaned)
}

fn custom_fields(value: Json<serde_json::Value>) -> ApiResult<serde_json::Value> {
    validation::json_object("customFields", value.0, 16 * 1024)
}

fn linkedin(value: &str) -> ApiResult<String> {
    let value = validation::text("linkedinUrl", value, 500)?;
    if !value.starts_with("https://") {
        return Err(ApiError::bad_input(
            "linkedinUrl",
            "`linkedinUrl` must be an https:// URL",
        ));
    }
    Ok(value)
}

/// An active user of the organization, to assign leads to.
async fn assignable_user(ctx: &Context<'_>, id: &ID, field: &'static str) -> ApiResult<Uuid> {
    let user_id = decode_id(id, NodeKind::User, field)?;
    let user = ctx
        .loader()?
        .load_one(crate::users::UserRef::<{ crate::users::via::NODE }>(
            user_id,
        ))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.message)))?
        .ok_or(ApiError::NotFound("user"))?;
    if !user.is_active {
        return Err(ApiError::bad_input(
            field,
            "cannot assign to a deactivated user",
        ));
    }
    Ok(user_id)
}

/// Applies `changes` to a lead in the given state (`deleted_at IS NULL` or `IS NOT NULL`).
async fn update_lead(
    ctx: &Context<'_>,
    id: Uuid,
    changes: &Changes,
    state: &str,
) -> ApiResult<leads::Model> {
    let principal = ctx.principal()?;
    leads::Model::find_by_statement(changes.update("leads", principal.organization_id, id, state))
        .one(ctx.db()?)
        .await?
        .ok_or(ApiError::NotFound("lead"))
}

const LIVE: &str = "AND deleted_at IS NULL";
const DELETED: &str = "AND deleted_at IS NOT NULL";

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        input: CreateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        let principal = ctx.writer()?;
        let company_id = input
            .company_id
            .map(|id| decode_id(&id, NodeKind::Company, "companyId"))
            .transpose()?;
        let assigned_to_id = match &input.assigned_to_id {
            Some(id) => Some(assignable_user(ctx, id, "assignedToId").await?),
            None => None,
        };
        let deal = input.estimated_deal_value.map(deal_value).transpose()?;
        let lead = leads::ActiveModel {
            organization_id: Set(principal.organization_id),
            id: Set(Uuid::new_v4()),
            company_id: Set(company_id),
            assigned_to_id: Set(assigned_to_id),
            first_name: Set(validation::text("firstName", &input.first_name, 100)?),
            last_name: Set(validation::text("lastName", &input.last_name, 100)?),
            email: Set(validation::email("email", &input.email)?),
            phone: Set(validation::optional_text(
                "phone",
                input.phone.as_deref(),
                50,
            )?),
            job_title: Set(validation::optional_text(
                "jobTitle",
                input.job_title.as_deref(),
                150,
            )?),
            department: Set(validation::optional_text(
                "department",
                input.department.as_deref(),
                100,
            )?),
            seniority: Set(input.seniority.map(|s| s.as_db().to_owned())),
            source: Set(input.source.unwrap_or(LeadSource::Other).as_db().to_owned()),
            status: Set(input.status.unwrap_or(LeadStatus::New).as_db().to_owned()),
            score: Set(input.score.map(score).transpose()?.unwrap_or(0)),
            temperature: Set(input
                .temperature
                .unwrap_or(Temperature::Cold)
                .as_db()
                .to_owned()),
            estimated_deal_value: Set(deal.as_ref().map(|(amount, _)| *amount)),
            estimated_deal_currency: deal.map_or(NotSet, |(_, currency)| Set(currency)),
            probability_to_close: Set(input.probability_to_close.map(probability).transpose()?),
            tags: Set(tags(input.tags.unwrap_or_default())?),
            custom_fields: Set(input
                .custom_fields
                .map(custom_fields)
                .transpose()?
                .unwrap_or_else(|| json!({}))),
            linkedin_url: Set(input.linkedin_url.as_deref().map(linkedin).transpose()?),
            expected_close_date: Set(input
                .expected_close_date
                .map(|d| validation::calendar("expectedCloseDate", d))
                .transpose()?),
            next_follow_up_at: Set(input
                .next_follow_up_at
                .map(|t| validation::calendar("nextFollowUpAt", t))
                .transpose()?
                .map(Into::into)),
            ..Default::default()
        }
        .insert(ctx.db()?)
        .await
        .map_err(|err| match ApiError::from(err) {
            ApiError::NotFound(_) => ApiError::NotFound("company"),
            ApiError::Conflict(_) => {
                ApiError::Conflict("a live lead with this e-mail already exists".into())
            }
            other => other,
        })?;
        audit::record(ctx, "lead.create", "lead", Some(lead.id), json!({
            "email": lead.email, "status": lead.status, "companyId": company_id, "assignedToId": assigned_to_id,
        }))
        .await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    async fn update_lead(
        &self,
        ctx: &Context<'_>,
        input: UpdateLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        ctx.writer()?;
        let id = decode_id(&input.id, NodeKind::Lead, "id")?;
        let mut changes = Changes::default();
        if let Some(v) = input.first_name {
            let v = validation::text("firstName", &v, 100)?;
            changes.set("first_name", v.clone(), "firstName", json!(v));
        }
        if let Some(v) = input.last_name {
            let v = validation::text("lastName", &v, 100)?;
            changes.set("last_name", v.clone(), "lastName", json!(v));
        }
        if let Some(v) = input.email {
            let v = validation::email("email", &v)?;
            changes.set("email", v.clone(), "email", json!(v));
        }
        if let Some(v) = patch(input.phone) {
            let v = validation::optional_text("phone", v.as_deref(), 50)?;
            changes.set("phone", v.clone(), "phone", json!(v));
        }
        if let Some(v) = patch(input.job_title) {
            let v = validation::optional_text("jobTitle", v.as_deref(), 150)?;
            changes.set("job_title", v.clone(), "jobTitle", json!(v));
        }
        if let Some(v) = patch(input.department) {
            let v = validation::optional_text("department", v.as_deref(), 100)?;
            changes.set("department", v.clone(), "department", json!(v));
        }
        if let Some(v) = patch(input.seniority) {
            let v = v.map(|s| s.as_db().to_owned());
            changes.set("seniority", v.clone(), "seniority", json!(v));
        }
        if let Some(v) = input.source {
            changes.set("source", v.as_db().to_owned(), "source", json!(v.as_db()));
        }
        if let Some(v) = input.status {
            changes.set("status", v.as_db().to_owned(), "status", json!(v.as_db()));
        }
        if let Some(v) = input.score {
            let v = score(v)?;
            changes.set("score", v, "score", json!(v));
        }
        if let Some(v) = input.temperature {
            changes.set(
                "temperature",
                v.as_db().to_owned(),
                "temperature",
                json!(v.as_db()),
            );
        }
        if let Some(v) = patch(input.estimated_deal_value) {
            changes.set_money(
                ("estimated_deal_value", "estimated_deal_currency"),
                v.map(deal_value).transpose()?,
                "estimatedDealValue",
            );
        }
        if let Some(v) = patch(input.probability_to_close) {
            let v = v.map(probability).transpose()?;
            changes.set("probability_to_close", v, "probabilityToClose", json!(v));
        }
        if let Some(v) = input.tags {
            let v = tags(v)?;
            changes.set("tags", v.clone(), "tags", json!(v));
        }
        if let Some(v) = input.custom_fields {
            let v = custom_fields(v)?;
            changes.set("custom_fields", v.clone(), "customFields", v);
        }
        if let Some(v) = patch(input.linkedin_url) {
            let v = v.as_deref().map(linkedin).transpose()?;
            changes.set("linkedin_url", v.clone(), "linkedinUrl", json!(v));
        }
        if let Some(v) = patch(input.expected_close_date) {
            let v = v
                .map(|d| validation::calendar("expectedCloseDate", d))
                .transpose()?;
            changes.set("expected_close_date", v, "expectedCloseDate", json!(v));
        }
        if let Some(v) = patch(input.next_follow_up_at) {
            let v = v
                .map(|t| validation::calendar("nextFollowUpAt", t))
                .transpose()?;
            changes.set(
                "next_follow_up_at",
                v.map(|t| -> chrono::DateTime<chrono::FixedOffset> { t.into() }),
                "nextFollowUpAt",
                json!(v),
            );
        }
        if let Some(v) = patch(input.company_id) {
            let v = v
                .map(|id| decode_id(&id, NodeKind::Company, "companyId"))
                .transpose()?;
            changes.set("company_id", v, "companyId", json!(v));
        }
        if changes.is_empty() {
            return Err(ApiError::bad_input("input", "nothing to update").into());
        }
        let lead = update_lead(ctx, id, &changes, LIVE)
            .await
            .map_err(|err| match err {
                ApiError::Conflict(_) => {
                    ApiError::Conflict("a live lead with this e-mail already exists".into())
                }
                other => other,
            })?;
        audit::record(ctx, "lead.update", "lead", Some(id), changes.audit()).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Soft-deletes a lead: it leaves lists and can be restored.
    async fn delete_lead(
        &self,
        ctx: &Context<'_>,
        input: LeadIdInput,
    ) -> async_graphql::Result<LeadPayload> {
        ctx.writer()?;
        let id = decode_id(&input.id, NodeKind::Lead, "id")?;
        let mut changes = Changes::default();
        let now: chrono::DateTime<chrono::FixedOffset> = Utc::now().into();
        changes.set("deleted_at", now, "deletedAt", json!(now));
        let lead = update_lead(ctx, id, &changes, LIVE).await?;
        audit::record(ctx, "lead.delete", "lead", Some(id), changes.audit()).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Brings back a soft-deleted lead.
    async fn restore_lead(
        &self,
        ctx: &Context<'_>,
        input: LeadIdInput,
    ) -> async_graphql::Result<LeadPayload> {
        ctx.writer()?;
        let id = decode_id(&input.id, NodeKind::Lead, "id")?;
        let mut changes = Changes::default();
        changes.set(
            "deleted_at",
            Option::<chrono::DateTime<chrono::FixedOffset>>::None,
            "deletedAt",
            json!(null),
        );
        let lead = update_lead(ctx, id, &changes, DELETED)
            .await
            .map_err(|err| match err {
                ApiError::Conflict(_) => ApiError::Conflict(
                    "a live lead with this e-mail exists; it cannot be restored".into(),
                ),
                other => other,
            })?;
        audit::record(ctx, "lead.restore", "lead", Some(id), changes.audit()).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }

    /// Assigns a lead to an active user of the organization, or unassigns it.
    async fn assign_lead(
        &self,
        ctx: &Context<'_>,
        input: AssignLeadInput,
    ) -> async_graphql::Result<LeadPayload> {
        ctx.writer()?;
        let id = decode_id(&input.lead_id, NodeKind::Lead, "leadId")?;
        let user_id = match &input.user_id {
            Some(user) => Some(assignable_user(ctx, user, "userId").await?),
            None => None,
        };
        let mut changes = Changes::default();
        changes.set("assigned_to_id", user_id, "assignedToId", json!(user_id));
        let lead = update_lead(ctx, id, &changes, LIVE).await?;
        audit::record(ctx, "lead.assign", "lead", Some(id), changes.audit()).await?;
        Ok(LeadPayload { lead: Lead(lead) })
    }
}
