use async_graphql::{Context, Object};
use entity::audit_logs;

use super::AuditLog;
use crate::graphql::{
    ContextExt, CountSource, KeysetCursor, Page, PageArgs, Sort, connection, encode_cursor,
    keyset_page, timestamp_key,
};

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
        let principal = ctx.admin()?;
        let window = PageArgs {
            first,
            after,
            last,
            before,
        }
        .window()?;
        let sort = Sort {
            column: "created_at",
            sql_type: "timestamptz",
            descending: true,
        };
        let (slice, count) = keyset_page::<audit_logs::Model>(
            ctx.db(),
            "audit_logs",
            principal.organization_id,
            &|_| {},
            sort,
            &window,
        )
        .await?;
        Ok(connection(
            slice,
            CountSource::Sql(count),
            |m| encode_cursor(&KeysetCursor(timestamp_key(&m.created_at), m.id)),
            AuditLog,
        ))
    }
}
