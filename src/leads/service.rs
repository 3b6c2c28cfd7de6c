//! Leads' logic: create, update, soft-delete, restore and assign over the tenant's transaction,
//! with the audit record of each. Each field is validated once, here, matching its CHECK
//! constraint.

use async_graphql::{ID, Json};
use entity::{
    leads::{self, Column},
    users,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    FromQueryResult,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    LeadSource, LeadStatus, Temperature,
    mutation::{CreateLeadInput, UpdateLeadInput},
};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id, patch},
    numbers::MoneyInput,
    service::Acting,
    sql::Changes,
    validation,
};

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
async fn assignable_user(acting: &Acting<'_>, id: &ID, field: &'static str) -> ApiResult<Uuid> {
    let user_id = decode_id(id, NodeKind::User, field)?;
    let user = crate::sql::find_by_id::<users::Model>(
        acting.db,
        "users",
        acting.organization_id(),
        user_id,
    )
    .await?
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
    acting: &Acting<'_>,
    id: Uuid,
    changes: &Changes,
    state: &str,
) -> ApiResult<leads::Model> {
    leads::Model::find_by_statement(changes.update("leads", acting.organization_id(), id, state))
        .one(acting.db)
        .await?
        .ok_or(ApiError::NotFound("lead"))
}

const LIVE: &str = "AND deleted_at IS NULL";
const DELETED: &str = "AND deleted_at IS NOT NULL";

pub async fn create(acting: &Acting<'_>, input: CreateLeadInput) -> ApiResult<leads::Model> {
    let company_id = input
        .company_id
        .map(|id| decode_id(&id, NodeKind::Company, "companyId"))
        .transpose()?;
    let assigned_to_id = match &input.assigned_to_id {
        Some(id) => Some(assignable_user(acting, id, "assignedToId").await?),
        None => None,
    };
    let deal = input.estimated_deal_value.map(deal_value).transpose()?;
    let lead = leads::ActiveModel {
        organization_id: Set(acting.organization_id()),
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
    .insert(acting.db)
    .await
    .map_err(|err| match ApiError::from(err) {
        ApiError::NotFound(_) => ApiError::NotFound("company"),
        ApiError::Conflict(_) => {
            ApiError::Conflict("a live lead with this e-mail already exists".into())
        }
        other => other,
    })?;
    acting.audit("lead.create", "lead", Some(lead.id), json!({
        "email": lead.email, "status": lead.status, "companyId": company_id, "assignedToId": assigned_to_id,
    }))
    .await?;
    Ok(lead)
}

/// Applies the fields `input` gives (`id` aside) to live lead `id`.
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateLeadInput,
) -> ApiResult<leads::Model> {
    let mut changes = Changes::default();
    changes.field(Column::FirstName, "firstName", input.first_name, |v| {
        validation::text("firstName", &v, 100)
    })?;
    changes.field(Column::LastName, "lastName", input.last_name, |v| {
        validation::text("lastName", &v, 100)
    })?;
    changes.field(Column::Email, "email", input.email, |v| {
        validation::email("email", &v)
    })?;
    changes.nullable_text(Column::Phone, "phone", input.phone, 50)?;
    changes.nullable_text(Column::JobTitle, "jobTitle", input.job_title, 150)?;
    changes.nullable_text(Column::Department, "department", input.department, 100)?;
    changes.nullable(Column::Seniority, "seniority", input.seniority, |v| {
        Ok(v.as_db().to_owned())
    })?;
    changes.field(Column::Source, "source", input.source, |v| {
        Ok(v.as_db().to_owned())
    })?;
    changes.field(Column::Status, "status", input.status, |v| {
        Ok(v.as_db().to_owned())
    })?;
    changes.field(Column::Score, "score", input.score, score)?;
    changes.field(Column::Temperature, "temperature", input.temperature, |v| {
        Ok(v.as_db().to_owned())
    })?;
    if let Some(v) = patch(input.estimated_deal_value) {
        changes.set_money(
            ("estimated_deal_value", "estimated_deal_currency"),
            v.map(deal_value).transpose()?,
            "estimatedDealValue",
        );
    }
    changes.nullable(
        Column::ProbabilityToClose,
        "probabilityToClose",
        input.probability_to_close,
        probability,
    )?;
    changes.field(Column::Tags, "tags", input.tags, tags)?;
    changes.field(
        Column::CustomFields,
        "customFields",
        input.custom_fields,
        custom_fields,
    )?;
    changes.nullable(
        Column::LinkedinUrl,
        "linkedinUrl",
        input.linkedin_url,
        |v| linkedin(&v),
    )?;
    changes.nullable(
        Column::ExpectedCloseDate,
        "expectedCloseDate",
        input.expected_close_date,
        |d| validation::calendar("expectedCloseDate", d),
    )?;
    changes.nullable(
        Column::NextFollowUpAt,
        "nextFollowUpAt",
        input.next_follow_up_at,
        |t| {
            validation::calendar("nextFollowUpAt", t)
                .map(|t| -> chrono::DateTime<chrono::FixedOffset> { t.into() })
        },
    )?;
    changes.nullable(Column::CompanyId, "companyId", input.company_id, |id| {
        decode_id(&id, NodeKind::Company, "companyId")
    })?;
    if changes.is_empty() {
        return Err(ApiError::bad_input("input", "nothing to update"));
    }
    let lead = update_lead(acting, id, &changes, LIVE)
        .await
        .map_err(|err| match err {
            ApiError::Conflict(_) => {
                ApiError::Conflict("a live lead with this e-mail already exists".into())
            }
            other => other,
        })?;
    acting
        .audit("lead.update", "lead", Some(id), changes.audit())
        .await?;
    Ok(lead)
}

/// Soft-deletes a lead: it leaves lists and can be restored.
pub async fn delete(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    let mut changes = Changes::default();
    let now: chrono::DateTime<chrono::FixedOffset> = chrono::Utc::now().into();
    changes.set("deleted_at", now, "deletedAt", json!(now));
    let lead = update_lead(acting, id, &changes, LIVE).await?;
    acting
        .audit("lead.delete", "lead", Some(id), changes.audit())
        .await?;
    Ok(lead)
}

/// Brings back a soft-deleted lead.
pub async fn restore(acting: &Acting<'_>, id: Uuid) -> ApiResult<leads::Model> {
    let mut changes = Changes::default();
    changes.set(
        "deleted_at",
        Option::<chrono::DateTime<chrono::FixedOffset>>::None,
        "deletedAt",
        json!(null),
    );
    let lead = update_lead(acting, id, &changes, DELETED)
        .await
        .map_err(|err| match err {
            ApiError::Conflict(_) => ApiError::Conflict(
                "a live lead with this e-mail exists; it cannot be restored".into(),
            ),
            other => other,
        })?;
    acting
        .audit("lead.restore", "lead", Some(id), changes.audit())
        .await?;
    Ok(lead)
}

/// Assigns a lead to an active user of the organization, or unassigns it.
pub async fn assign(acting: &Acting<'_>, id: Uuid, user: Option<&ID>) -> ApiResult<leads::Model> {
    let user_id = match user {
        Some(user) => Some(assignable_user(acting, user, "userId").await?),
        None => None,
    };
    let mut changes = Changes::default();
    changes.set("assigned_to_id", user_id, "assignedToId", json!(user_id));
    let lead = update_lead(acting, id, &changes, LIVE).await?;
    acting
        .audit("lead.assign", "lead", Some(id), changes.audit())
        .await?;
    Ok(lead)
}
