use async_graphql::{ID, InputObject};
use entity::companies::{self, Column};

use super::{Company, service};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
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

crate::payloads! {
    CompanyPayload { company: Company }
    DeleteCompanyPayload {
        /// The company's leads stay, without a company.
        deleted_company_id: id of Company
    }
}

crate::mutations! {
    CompanyMutation;
    create_company(input: CreateCompanyInput) -> CompanyPayload,
        member |acting, ctx| acting.insert::<companies::Model>({ input }.changes()?);
    /// Updates a company; its leads are scored again.
    update_company(input: UpdateCompanyInput) -> CompanyPayload,
        member |acting, ctx| {
            service::update(&acting, decode_id(&input.id, NodeKind::Company, "id")?, input)
        };
    /// Deletes a company; its leads remain, with no company, and are scored again.
    delete_company(input: DeleteCompanyInput) -> DeleteCompanyPayload,
        member |acting, ctx| {
            service::delete(&acting, decode_id(&input.id, NodeKind::Company, "id")?)
        };
}
