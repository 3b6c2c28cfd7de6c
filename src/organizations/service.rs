//! The organization's own settings (OWNER and ADMIN): rename it, replace its settings, choose
//! its leads' auto-assignment.

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
    let auto_assignment = input.lead_auto_assignment.map(|mode| mode.as_db());
    let mut sql = SqlBuilder::new("");
    let id = sql.bind(acting.organization_id());
    let name_param = sql.bind(name.clone());
    let settings_param = sql.bind(settings.clone());
    let auto_assignment_param = sql.bind(auto_assignment);
    // The tenant is the row itself: its id, not an organization_id column.
    sql.push(&format!(
        "UPDATE organizations SET name = coalesce({name_param}, name),
                                  settings = coalesce({settings_param}, settings),
                                  lead_auto_assignment =
                                      coalesce({auto_assignment_param}, lead_auto_assignment)
         WHERE id = {id} RETURNING *"
    ));
    let organization: organizations::Model =
        one_or_not_found(acting.db, sql.build(), "organization").await?;
    acting
        .audit(
            "organization.update",
            "organization",
            Some(organization.id),
            json!({ "name": name, "settings": settings, "leadAutoAssignment": auto_assignment }),
        )
        .await?;
    Ok(organization)
}
