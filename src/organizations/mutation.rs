use async_graphql::{Context, InputObject, Json, Object, SimpleObject};

use super::{Organization, service, types::LeadAutoAssignment};
use crate::graphql::ContextExt;

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub name: Option<String>,
    /// Replaces the settings object as a whole.
    pub settings: Option<Json<serde_json::Value>>,
    /// How new unassigned leads are assigned from now on.
    pub lead_auto_assignment: Option<LeadAutoAssignment>,
}

#[derive(SimpleObject)]
pub struct OrganizationPayload {
    pub organization: Organization,
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Renames the organization, replaces its settings or chooses its leads' auto-assignment.
    /// OWNER and ADMIN only.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> async_graphql::Result<OrganizationPayload> {
        let organization = service::update(&ctx.acting_admin()?, input).await?;
        Ok(OrganizationPayload {
            organization: Organization(organization),
        })
    }
}
