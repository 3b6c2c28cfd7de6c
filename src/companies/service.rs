//! Companies' logic: the generic services, and scoring their leads again when a company
//! changes or goes.

use entity::companies;
use uuid::Uuid;

use super::mutation::UpdateCompanyInput;
use crate::{
    error::ApiResult,
    scoring::{Rescore, rescore, service::leads_of_company},
    service::Acting,
};

/// Applies the fields `input` gives; the company's leads are scored again.
pub async fn update(
    acting: &Acting<'_>,
    id: Uuid,
    input: UpdateCompanyInput,
) -> ApiResult<companies::Model> {
    let company = acting.update("update", id, input.changes()?, "").await?;
    rescore(acting, Rescore::OfCompany(id)).await?;
    Ok(company)
}

/// Deletes a company; its leads stay, without it, and are scored again.
pub async fn delete(acting: &Acting<'_>, id: Uuid) -> ApiResult<Uuid> {
    let leads = leads_of_company(acting, id).await?;
    acting.delete::<companies::Model>(id).await?;
    rescore(acting, Rescore::Leads(leads, "company changed")).await?;
    Ok(id)
}
