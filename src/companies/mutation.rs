use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::{Company, service};
use crate::{
    graphql::{ContextExt, NodeKind, decode_id},
    numbers::MoneyInput,
};

#[derive(InputObject, Default)]
pub struct CreateCompanyInput {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i32>,
    pub annual_revenue: Option<MoneyInput>,
    pub fortune_rank: Option<i32>,
    pub headquarters_location: Option<String>,
    pub website: Option<String>,
}

/// Fields left out stay as they are; fields set to null are cleared.
#[derive(InputObject)]
pub struct UpdateCompanyInput {
    pub id: ID,
    pub name: Option<String>,
    pub domain: MaybeUndefined<String>,
    pub industry: MaybeUndefined<String>,
    pub employee_count: MaybeUndefined<i32>,
    pub annual_revenue: MaybeUndefined<MoneyInput>,
    pub fortune_rank: MaybeUndefined<i32>,
    pub headquarters_location: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
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
