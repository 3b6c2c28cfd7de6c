use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::companies::Column;

use super::{Company, service};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{ContextExt, NodeKind, decode_id},
    numbers::MoneyInput,
    validation::{between, max_text, not_negative},
};

crate::inputs! {
    create CreateCompanyInput;
    /// Fields left out stay as they are; fields set to null are cleared.
    update UpdateCompanyInput;
    fields {
        name "name": String = required(Column::Name, max_text(255)),
        /// Lower-cased; unique in the organization.
        domain "domain": String = nullable(Column::Domain, domain),
        industry "industry": String = text(Column::Industry, 100),
        employee_count "employeeCount": i32 = nullable(Column::EmployeeCount, not_negative),
        annual_revenue "annualRevenue": MoneyInput =
            money(Column::AnnualRevenue, Column::AnnualRevenueCurrency),
        fortune_rank "fortuneRank": i32 = nullable(Column::FortuneRank, between(1, 100_000)),
        headquarters_location "headquartersLocation": String =
            text(Column::HeadquartersLocation, 255),
        website "website": String = text(Column::Website, 500),
    }
}

fn domain(field: &'static str, value: String) -> ApiResult<String> {
    let value = crate::validation::text(field, &value, 253)?.to_lowercase();
    if value.contains(char::is_whitespace) || !value.contains('.') {
        return Err(ApiError::bad_input(
            field,
            "`domain` must look like example.com",
        ));
    }
    Ok(value)
}

#[derive(InputObject)]
pub struct DeleteCompanyInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct CompanyPayload {
    pub company: Company,
}

#[derive(SimpleObject)]
pub struct DeleteCompanyPayload {
    /// The company's leads stay, without a company.
    pub deleted_company_id: ID,
}

#[derive(Default)]
pub struct CompanyMutation;

#[Object]
impl CompanyMutation {
    async fn create_company(
        &self,
        ctx: &Context<'_>,
        input: CreateCompanyInput,
    ) -> async_graphql::Result<CompanyPayload> {
        let company = service::create(&ctx.acting()?, input).await?;
        Ok(CompanyPayload {
            company: Company(company),
        })
    }

    async fn update_company(
        &self,
        ctx: &Context<'_>,
        input: UpdateCompanyInput,
    ) -> async_graphql::Result<CompanyPayload> {
        let id = decode_id(&input.id, NodeKind::Company, "id")?;
        let company = service::update(&ctx.acting()?, id, input).await?;
        Ok(CompanyPayload {
            company: Company(company),
        })
    }

    /// Deletes a company; its leads remain, with no company.
    async fn delete_company(
        &self,
        ctx: &Context<'_>,
        input: DeleteCompanyInput,
    ) -> async_graphql::Result<DeleteCompanyPayload> {
        let id = decode_id(&input.id, NodeKind::Company, "id")?;
        service::delete(&ctx.acting()?, id).await?;
        Ok(DeleteCompanyPayload {
            deleted_company_id: input.id,
        })
    }
}
