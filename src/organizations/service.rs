//! The organization's own settings (OWNER and ADMIN): rename it, replace its settings.

use async_graphql::Json;
use entity::organizations;
use serde_json::json;

use super::mutation::UpdateOrganizationInput;
use crate::{
    error::ApiResult,
    service::Acting,
    sql::{SqlBuilder, one_or_not_found},
    validation,
};

/// Applies the fields `input` gives; absent ones stay as they are.
pub async fn update(
    acting: &Acting<'_>,
    input: UpdateOrganizationInput,
) -> ApiResult<organizations::Model> {
    let name = input
        .name
        .as_deref()
        .map(|n| validation::text("name", n, 200))
        .transpose()?;
    let settings = input
        .settings
        .map(|Json(s)| validation::json_object("settings", s, 64 * 1024))
        .transpose()?;
    let mut sql = SqlBuilder::new("");
    let id = sql.bind(acting.organization_id());
    let name_param = sql.bind(name.clone());
    let settings_param = sql.bind(settings.clone());
    // The tenant is the row itself: its id, not an organization_id column.
    sql.push(&format!(
        "UPDATE organizations SET name = coalesce({name_param}, name),
                                  settings = coalesce({settings_param}, settings)
         WHERE id = {id} RETURNING *"
    ));
    let organization: organizations::Model =
        one_or_not_found(acting.db, sql.build(), "organization").await?;
    acting
        .audit(
            "organization.update",
            "organization",
            Some(organization.id),
            json!({ "name": name, "settings": settings }),
        )
        .await?;
    Ok(organization)
}
