//! `webhookEndpoints` and `webhookDeliveries` (OWNER and ADMIN).

use async_graphql::{Context, ID, Object};

use super::{WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, model::DeliveryRow};
use crate::{
    graphql::{ContextExt, Creation, NodeKind, Page, PageArgs, Sorted, decode_id, list},
    sql::SqlBuilder,
};

crate::queries! {
    WebhookQuery {
        by_creation {
            /// The organization's webhook endpoints, newest first. OWNER and ADMIN only.
            webhook_endpoints: admin WebhookEndpoint(Desc);
        }
    }
}

/// `webhookDeliveries`: a list with arguments of its own, beside the declared ones.
#[derive(Default)]
pub struct WebhookDeliveryQuery;

#[Object]
impl WebhookDeliveryQuery {
    /// Deliveries of one endpoint, newest first, optionally of one status. OWNER and ADMIN.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // the four paging arguments are Relay's
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<WebhookDelivery>> {
        ctx.admin()?;
        let endpoint = decode_id(&endpoint_id, NodeKind::WebhookEndpoint, "endpointId")?;
        let filter = move |sql: &mut SqlBuilder| {
            let endpoint = sql.bind(endpoint);
            sql.push(&format!(" AND t.endpoint_id = {endpoint}"));
            if let Some(status) = status {
                let status = sql.bind(status.as_db());
                sql.push(&format!(" AND t.status = {status}"));
            }
        };
        let args = PageArgs::new(first, after, last, before);
        let newest_first = Sorted {
            by: Creation::<DeliveryRow>::default(),
            descending: true,
        };
        list::<_, WebhookDelivery>(ctx, args, newest_first, &filter).await
    }
}
