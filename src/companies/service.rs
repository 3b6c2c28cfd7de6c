//! Companies' logic: create, update and delete over the tenant's transaction, with the audit
//! record of each. Each field is validated once, here, matching its CHECK constraint.

use entity::companies::{self, Column};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ConnectionTrait, FromQueryResult, Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::mutation::{CreateCompanyInput, UpdateCompanyInput};
use crate::{
    error::{ApiError, ApiResult},
    graphql::patch,
    service::Acting,
    sql::Changes,
    validation,
};

fn domain(value: &str) -> ApiResult<String> {
    let value = validation::text("domain", value, 253)?.to_lowercase();
    if value.contains(char::is_whitespace) || !value.contains('.') {
        return Err(ApiError::bad_input(
            "domain",
            "`domain` must look like example.com",
        ));
    }
    Ok(value)
}

fn non_negative<T: PartialOrd + Default + std::fmt::Display>(
    field: &'static str,
    value: T,
) -> ApiResult<T> {
    if value < T::default() {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must not be negative"),
        ));
    }
    Ok(value)
}

fn fortune_rank(value: i32) -> ApiResult<i32> {
    validation::range("fortuneRank", value, 1, 100_000)
}

pub async fn create(acting: &Acting<'_>, input: CreateCompanyInput) -> ApiResult<companies::Model> {
    let revenue = input
        .annual_revenue
        .map(|v| v.validate("annualRevenue"))
        .transpose()?;
    let company = companies::ActiveModel {
        organization_id: Set(acting.organization_id()),
        id: Set(Uuid::new_v4()),
        name: Set(validation::text("name", &input.name, 255)?),
        domain: Set(input.domain.as_deref().map(domain).transpose()?),
        industry: Set(validation::optional_text(
            "industry",
            input.industry.as_deref(),
            100,
        )?),
        employee_count: Set(input
            .employee_count
            .map(|v| non_negative("employeeCount", v))
            .transpose()?),
        annual_revenue: Set(revenue.as_ref().map(|(amount, _)| *amount)),
        annual_revenue_currency: revenue.map_or(NotSet, |(_, currency)| Set(currency)),
        fortune_rank: Set(input.fortune_rank.map(fortune_rank).transpose()?),
        headquarters_location: Set(validation::optional_text(
            "headquartersLocation",
            input.headquarters_location.as_deref(),
            255,
        )?),
        website: Set(validation::optional_text(
            "website",
            input.website.as_deref(),
            500,
        )?),
        ..Default::default()
    }
    .insert(acting.db)
    .await?;
    acting
        .audit(
            "company.create",
            "company",
            Some(company.id),
            json!({ "name": company.name }),
        )
        .await?;
    Ok(company)
}

/// Applies the fields `input` gives (`id` aside) to company `id`.
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateCompanyInput,
) -> ApiResult<companies::Model> {
    let mut changes = Changes::default();
    changes.field(Column::Name, "name", input.name, |v| {
        validation::text("name", &v, 255)
    })?;
    changes.nullable(Column::Domain, "domain", input.domain, |v| domain(&v))?;
    changes.nullable_text(Column::Industry, "industry", input.industry, 100)?;
    changes.nullable(
        Column::EmployeeCount,
        "employeeCount",
        input.employee_count,
        |v| non_negative("employeeCount", v),
    )?;
    if let Some(value) = patch(input.annual_revenue) {
        changes.set_money(
            ("annual_revenue", "annual_revenue_currency"),
            value.map(|v| v.validate("annualRevenue")).transpose()?,
            "annualRevenue",
        );
    }
    changes.nullable(
        Column::FortuneRank,
        "fortuneRank",
        input.fortune_rank,
        fortune_rank,
    )?;
    changes.nullable_text(
        Column::HeadquartersLocation,
        "headquartersLocation",
        input.headquarters_location,
        255,
    )?;
    changes.nullable_text(Column::Website, "website", input.website, 500)?;
    if changes.is_empty() {
        return Err(ApiError::bad_input("input", "nothing to update"));
    }
    let company = companies::Model::find_by_statement(changes.update(
        "companies",
        acting.organization_id(),
        id,
        "",
    ))
    .one(acting.db)
    .await?
    .ok_or(ApiError::NotFound("company"))?;
    acting
        .audit("company.update", "company", Some(id), changes.audit())
        .await?;
    Ok(company)
}

/// Deletes company `id`; its leads remain, with no company.
pub async fn delete(acting: &Acting<'_>, id: Uuid) -> ApiResult<()> {
    let deleted = acting
        .db
        .execute_raw(Statement::from_sql_and_values(
            acting.db.get_database_backend(),
            "DELETE FROM companies WHERE organization_id = $1 AND id = $2",
            [acting.organization_id().into(), id.into()],
        ))
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::NotFound("company"));
    }
    acting
        .audit("company.delete", "company", Some(id), json!({}))
        .await
}
