//! The Relay `Node` interface and `node(id:)`.

use async_graphql::{Context, ID, Interface, Object};
use entity::{
    activities, api_keys, audit_logs, campaigns, companies, deals, lead_notes, leads, partners,
    pipeline_stages, scoring_jobs, scoring_rules, segments, users,
};

use super::{ById, ContextExt, decode_any, via};
use crate::{
    activities::Activity,
    api_keys::ApiKey,
    audit::AuditLog,
    campaigns::Campaign,
    companies::Company,
    deals::Deal,
    leads::Lead,
    notes::Note,
    organizations::Organization,
    partners::Partner,
    pipeline::PipelineStage,
    scoring::{ScoringJob, ScoringRule},
    segments::Segment,
    users::User,
    webhooks::{
        WebhookDelivery, WebhookEndpoint,
        model::{DeliveryRow, EndpointRow},
    },
};

/// Every kind of object with a global id, declared once: its GraphQL type, its row (loaded
/// by id through the request's loader, via relation `VIA`) and who may look it up with
/// `node(id:)` (`member`: anyone of the organization; `admin`: OWNER and ADMIN). From this
/// come `NodeKind` (the kinds of global ids), the `Node` interface and `node(id:)`. The
/// organization, the tenant itself, is not a row of a tenant table and comes first.
macro_rules! nodes {
    ($( $kind:ident($object:ident) = $row:ty => $via:ident, $access:ident; )+) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum NodeKind {
            Organization,
            $($kind),+
        }

        impl NodeKind {
            pub const ALL: &'static [NodeKind] = &[Self::Organization, $(Self::$kind),+];

            /// The GraphQL type's name, as global ids carry it.
            pub(super) fn name(self) -> &'static str {
                match self {
                    Self::Organization => "Organization",
                    $(Self::$kind => stringify!($kind),)+
                }
            }
        }

        #[derive(Interface)]
        #[allow(clippy::large_enum_variant)] // built once per `node` lookup; boxing would buy nothing
        #[graphql(field(name = "id", ty = "ID"))]
        pub enum Node {
            Organization(Organization),
            $($kind($object)),+
        }

        impl Node {
            /// The object of this kind and id in the caller's organization, if any (and if the
            /// caller may look up objects of this kind).
            pub async fn find(
                ctx: &Context<'_>,
                kind: NodeKind,
                uuid: uuid::Uuid,
            ) -> async_graphql::Result<Option<Node>> {
                let org = ctx.principal()?.organization_id;
                Ok(match kind {
                    NodeKind::Organization if uuid == org => Some(Node::Organization(
                        Organization(crate::organizations::find(ctx.db()?, org).await?),
                    )),
                    NodeKind::Organization => None,
                    $(NodeKind::$kind => {
                        nodes!(@access $access ctx);
                        let loader = ctx.loader()?;
                        // A node's fragments are not looked ahead: it reads every column.
                        loader.loader().wants::<$row, { via::$via }>(crate::graphql::Columns::ALL);
                        loader
                            .load_one(ById::<$row, { via::$via }>::new(uuid))
                            .await?
                            .map(|row| Node::$kind($object(std::sync::Arc::unwrap_or_clone(row))))
                    })+
                })
            }
        }
    };
    (@access member $ctx:ident) => {};
    (@access admin $ctx:ident) => {
        $ctx.admin()?;
    };
}

nodes! {
    User(User) = users::Model => NODE, member;
    ApiKey(ApiKey) = api_keys::Model => ANY, admin;
    Company(Company) = companies::Model => ANY, member;
    Lead(Lead) = leads::Model => ANY, member;
    Activity(Activity) = activities::Model => ANY, member;
    Note(Note) = lead_notes::Model => ANY, member;
    PipelineStage(PipelineStage) = pipeline_stages::Model => ANY, member;
    Deal(Deal) = deals::Model => ANY, member;
    Partner(Partner) = partners::Model => ANY, member;
    Campaign(Campaign) = campaigns::Model => ANY, member;
    Segment(Segment) = segments::Model => ANY, member;
    ScoringRule(ScoringRule) = scoring_rules::Model => ANY, member;
    ScoringJob(ScoringJob) = scoring_jobs::Model => ANY, member;
    AuditLog(AuditLog) = audit_logs::Model => ANY, admin;
    WebhookEndpoint(WebhookEndpoint) = EndpointRow => ANY, admin;
    WebhookDelivery(WebhookDelivery) = DeliveryRow => ANY, admin;
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
