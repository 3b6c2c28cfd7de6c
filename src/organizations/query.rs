use async_graphql::{Context, Object};

use super::{Organization, find};
use crate::graphql::ContextExt;

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// The caller's organization.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let principal = ctx.principal()?;
        Ok(Organization(
            find(ctx.db()?, principal.organization_id).await?,
        ))
    }
}
