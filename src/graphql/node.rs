//! The Relay `Node` interface and `node(id:)`.

use async_graphql::{Context, ID, Interface, Object};
use entity::{activities, api_keys, audit_logs, lead_notes};

use super::{ContextExt, NodeKind, decode_any};
use crate::{
    activities::Activity,
    api_keys::ApiKey,
    audit::AuditLog,
    companies::{Company, CompanyId},
    leads::{Lead, LeadId},
    notes::Note,
    organizations::Organization,
    sql::find_by_id,
    users::{User, UserRef, via},
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

impl Node {
    /// The object of this kind and id in the caller's organization, if any (and if the caller
    /// may see objects of this kind).
    pub async fn find(
        ctx: &Context<'_>,
        kind: NodeKind,
        uuid: uuid::Uuid,
    ) -> async_graphql::Result<Option<Node>> {
        let org = ctx.principal()?.organization_id;
        let loader = ctx.loader()?;
        let db = ctx.db()?;
        Ok(match kind {
            NodeKind::Organization if uuid == org => Some(Node::Organization(Organization(
                crate::organizations::find(db, org).await?,
            ))),
            NodeKind::Organization => None,
            NodeKind::User => loader
                .load_one(UserRef::<{ via::NODE }>(uuid))
                .await?
                .map(|m| Node::User(User(m))),
            NodeKind::Company => loader
                .load_one(CompanyId(uuid))
                .await?
                .map(|m| Node::Company(Company(m))),
            NodeKind::Lead => loader
                .load_one(LeadId(uuid))
                .await?
                .map(|m| Node::Lead(Lead(m))),
            NodeKind::Activity => find_by_id::<activities::Model>(db, "activities", org, uuid)
                .await?
                .map(|m| Node::Activity(Activity(m))),
            NodeKind::Note => find_by_id::<lead_notes::Model>(db, "lead_notes", org, uuid)
                .await?
                .map(|m| Node::Note(Note(m))),
            NodeKind::ApiKey => {
                ctx.admin()?;
                find_by_id::<api_keys::Model>(db, "api_keys", org, uuid)
                    .await?
                    .map(|m| Node::ApiKey(ApiKey(m)))
            }
            NodeKind::AuditLog => {
                ctx.admin()?;
                find_by_id::<audit_logs::Model>(db, "audit_logs", org, uuid)
                    .await?
                    .map(|m| Node::AuditLog(AuditLog(m)))
            }
            NodeKind::WebhookEndpoint => {
                ctx.admin()?;
                find_by_id::<EndpointRow>(db, "webhook_endpoints", org, uuid)
                    .await?
                    .map(|m| Node::WebhookEndpoint(WebhookEndpoint(m)))
            }
            NodeKind::WebhookDelivery => {
                ctx.admin()?;
                find_by_id::<DeliveryRow>(db, "webhook_deliveries", org, uuid)
                    .await?
                    .map(|m| Node::WebhookDelivery(WebhookDelivery(m)))
            }
        })
    }
}
