use async_graphql::{ID, InputObject, Json};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use entity::leads::Column;

use super::{Lead, LeadSource, LeadStatus, Seniority, Temperature, service};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    numbers::MoneyInput,
    validation::{self, between, id_of, max_text, stored},
};

crate::inputs! {
    create CreateLeadInput;
    /// Fields left out stay as they are; nullable fields set to null are cleared.
    update UpdateLeadInput;
    fields {
        first_name "firstName": String = required(Column::FirstName, max_text(100)),
        last_name "lastName": String = required(Column::LastName, max_text(100)),
        /// Unique among the organization's live leads.
        email "email": String = required(Column::Email, email),
        phone "phone": String = text(Column::Phone, 50),
        job_title "jobTitle": String = text(Column::JobTitle, 150),
        department "department": String = text(Column::Department, 100),
        seniority "seniority": Seniority = nullable(Column::Seniority, stored),
        /// Default OTHER.
        source "source": LeadSource = defaulted(Column::Source, stored),
        /// Default NEW.
        status "status": LeadStatus = defaulted(Column::Status, stored),
        /// 0 to 100; default 0.
        score "score": i32 = defaulted(Column::Score, between(0, 100)),
        /// Default COLD.
        temperature "temperature": Temperature = defaulted(Column::Temperature, stored),
        estimated_deal_value "estimatedDealValue": MoneyInput =
            money(Column::EstimatedDealValue, Column::EstimatedDealCurrency),
        /// Percent, 0 to 100.
        probability_to_close "probabilityToClose": i32 =
            nullable(Column::ProbabilityToClose, between(0, 100)),
        /// At most 50, each 1 to 50 characters; stored lower-cased, sorted, each once.
        tags "tags": Vec<String> = defaulted(Column::Tags, tags),
        /// A JSON object of at most 16 KiB.
        custom_fields "customFields": Json<serde_json::Value> =
            defaulted(Column::CustomFields, custom_fields),
        linkedin_url "linkedinUrl": String = nullable(Column::LinkedinUrl, linkedin),
        expected_close_date "expectedCloseDate": NaiveDate =
            nullable(Column::ExpectedCloseDate, validation::calendar),
        next_follow_up_at "nextFollowUpAt": DateTime<Utc> =
            nullable(Column::NextFollowUpAt, follow_up),
        company_id "companyId": ID = nullable(Column::CompanyId, id_of(NodeKind::Company)),
    }
    create_extra {
        /// An active user of the organization.
        assigned_to_id: Option<ID>,
    }
}

fn email(field: &'static str, value: String) -> ApiResult<String> {
    validation::email(field, &value)
}

fn tags(field: &'static str, values: Vec<String>) -> ApiResult<Vec<String>> {
    if values.len() > 50 {
        return Err(ApiError::bad_input(field, "at most 50 tags"));
    }
    let mut cleaned = values
        .iter()
        .map(|tag| validation::text(field, tag, 50).map(|t| t.to_lowercase()))
        .collect::<ApiResult<Vec<_>>>()?;
    cleaned.sort();
    cleaned.dedup();
    Ok(cleaned)
}

fn custom_fields(
    field: &'static str,
    value: Json<serde_json::Value>,
) -> ApiResult<serde_json::Value> {
    validation::json_object(field, value.0, 16 * 1024)
}

fn linkedin(field: &'static str, value: String) -> ApiResult<String> {
    let value = validation::text(field, &value, 500)?;
    if !value.starts_with("https://") {
        return Err(ApiError::bad_input(
            field,
            "`linkedinUrl` must be an https:// URL",
        ));
    }
    Ok(value)
}

fn follow_up(field: &'static str, value: DateTime<Utc>) -> ApiResult<DateTime<FixedOffset>> {
    validation::calendar(field, value).map(Into::into)
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
    /// Why, for `assignmentHistory`: 1 to 500 characters.
    pub reason: Option<String>,
}

crate::payloads! {
    LeadPayload { lead: Lead }
}

crate::mutations! {
    LeadMutation;
    create_lead(input: CreateLeadInput) -> LeadPayload,
        member |acting, ctx| service::create(&acting, input);
    update_lead(input: UpdateLeadInput) -> LeadPayload,
        member |acting, ctx| service::update(&acting, lead_id(&input.id, "id")?, input);
    /// Soft-deletes a lead: it leaves lists and can be restored.
    delete_lead(input: LeadIdInput) -> LeadPayload,
        member |acting, ctx| service::delete(&acting, lead_id(&input.id, "id")?);
    /// Brings back a soft-deleted lead.
    restore_lead(input: LeadIdInput) -> LeadPayload,
        member |acting, ctx| service::restore(&acting, lead_id(&input.id, "id")?);
    /// Assigns a lead to an active user of the organization, or unassigns it.
    assign_lead(input: AssignLeadInput) -> LeadPayload,
        member |acting, ctx| {
            let id = lead_id(&input.lead_id, "leadId")?;
            service::assign(&acting, id, input.user_id.as_ref(), input.reason)
        };
}

fn lead_id(id: &ID, field: &'static str) -> ApiResult<uuid::Uuid> {
    decode_id(id, NodeKind::Lead, field)
}
