//! Companies' logic: create, update and delete over the tenant's transaction, with the audit
//! record of each. The fields and their rules are declared once, with the inputs
//! (`mutation.rs`).

use entity::companies;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use super::mutation::{CreateCompanyInput, UpdateCompanyInput};
use crate::{
    error::{ApiError, ApiResult},
    service::Acting,
    sql::one_or_not_found,
};

pub async fn create(
    acting: &Acting<'_>,
    mut input: CreateCompanyInput,
) -> ApiResult<companies::Model> {
    let changes = input.changes()?;
    let insert = changes.insert("companies", acting.organization_id());
    let company: companies::Model = one_or_not_found(acting.db, insert, "company").await?;
    acting
        .audit(
            "company.create",
            "company",
            Some(company.id),
            changes.audit(),
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
    let changes = input.changes()?;
    let update = changes.update("companies", acting.organization_id(), id, "");
    let company: companies::Model = one_or_not_found(acting.db, update, "company").await?;
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
