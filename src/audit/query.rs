use async_graphql::{Context, Object};
use entity::audit_logs;

use super::AuditLog;
use crate::graphql::{ContextExt, Page, PageArgs, list_by_created};

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The organization's audit trail, newest first. OWNER and ADMIN only.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    async fn audit_logs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<AuditLog>> {
        ctx.admin()?;
        list_by_created::<audit_logs::Model, _>(
            ctx,
            true,
            PageArgs::new(first, after, last, before),
            AuditLog,
        )
        .await
    }
}
