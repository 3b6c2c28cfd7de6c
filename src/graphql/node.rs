//! The Relay `Node` interface and `node(id:)`.

use async_graphql::{Context, ID, Interface, Object};
use entity::{activities, api_keys, audit_logs, companies, lead_notes, leads, users};

use super::{ById, ContextExt, NodeKind, TenantRow, decode_any, via};
use crate::{
    activities::Activity,
    api_keys::ApiKey,
    audit::AuditLog,
    companies::Company,
    leads::Lead,
    notes::Note,
    organizations::Organization,
    users::User,
    webhooks::{
        WebhookDelivery, WebhookEndpoint,
        model::{DeliveryRow, EndpointRow},
    },
};

#[derive(Interface)]
#[allow(clippy::large_enum_variant)] // built once per `node` lookup; boxing would buy nothing
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Organization(Organization),
    User(User),
    ApiKey(ApiKey),
    Company(Company),
    Lead(Lead),
    Activity(Activity),
    Note(Note),
    AuditLog(AuditLog),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when it does not exist in your organization.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let (kind, uuid) = decode_any(&id)?;
        Node::find(ctx, kind, uuid).await
    }
}

/// The row of `M` with this id, through the request's by-id loader.
async fn row<M: TenantRow, const VIA: u8>(
    ctx: &Context<'_>,
    id: uuid::Uuid,
) -> async_graphql::Result<Option<M>> {
    ctx.loader()?.load_one(ById::<M, VIA>::new(id)).await
}

impl Node {
    /// The object of this kind and id in the caller's organization, if any (and if the caller
    /// may see objects of this kind).
    pub async fn find(
        ctx: &Context<'_>,
        kind: NodeKind,
        uuid: uuid::Uuid,
    ) -> async_graphql::Result<Option<Node>> {
        const ANY: u8 = via::ANY;
        let org = ctx.principal()?.organization_id;
        if matches!(
            kind,
            NodeKind::ApiKey
                | NodeKind::AuditLog
                | NodeKind::WebhookEndpoint
                | NodeKind::WebhookDelivery
        ) {
            ctx.admin()?;
        }
        Ok(match kind {
            NodeKind::Organization if uuid == org => Some(Node::Organization(Organization(
                crate::organizations::find(ctx.db()?, org).await?,
            ))),
            NodeKind::Organization => None,
            NodeKind::User => row::<users::Model, { via::NODE }>(ctx, uuid)
                .await?
                .map(|m| Node::User(User(m))),
            NodeKind::Company => row::<companies::Model, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::Company(Company(m))),
            NodeKind::Lead => row::<leads::Model, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::Lead(Lead(m))),
            NodeKind::Activity => row::<activities::Model, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::Activity(Activity(m))),
            NodeKind::Note => row::<lead_notes::Model, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::Note(Note(m))),
            NodeKind::ApiKey => row::<api_keys::Model, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::ApiKey(ApiKey(m))),
            NodeKind::AuditLog => row::<audit_logs::Model, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::AuditLog(AuditLog(m))),
            NodeKind::WebhookEndpoint => row::<EndpointRow, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::WebhookEndpoint(WebhookEndpoint(m))),
            NodeKind::WebhookDelivery => row::<DeliveryRow, ANY>(ctx, uuid)
                .await?
                .map(|m| Node::WebhookDelivery(WebhookDelivery(m))),
        })
    }
}
