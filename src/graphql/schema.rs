//! The schema: query, mutation and subscription roots merged from one struct per domain, the limits, and
//! the SDL export that `schema.graphql` is checked against.

use async_graphql::{MergedObject, MergedSubscription, SDLExportOptions, Schema, SchemaBuilder};

use super::{listing::ListOrderings, node::NodeQuery};
use crate::{
    activities::{ActivityMutation, LeadActivities},
    api_keys::{ApiKeyMutation, ApiKeyQuery},
    audit::AuditQuery,
    auth::graphql::AuthMutation,
    campaigns::{CampaignMembers, CampaignMutation, CampaignOrderField, CampaignQuery},
    companies::{CompanyLeads, CompanyMutation, CompanyOrderField, CompanyQuery},
    config::Limits,
    deals::{CompanyDeals, DealMutation, DealOrderField, DealQuery, DealStageChanges, LeadDeals},
    events::{EventQuery, EventSubscription},
    leads::{FollowUpQuery, LeadAssignments, LeadMutation, LeadOrderField, LeadQuery},
    notes::{LeadNotes, NoteMutation},
    organizations::{OrganizationMutation, OrganizationQuery},
    partners::{PartnerMutation, PartnerQuery},
    pipeline::{PipelineMutation, PipelineQuery},
    scoring::{LeadScoreChanges, ScoringMutation, ScoringQuery},
    segments::{SegmentMutation, SegmentQuery},
    state::AppState,
    users::{UserMutation, UserQuery},
    webhooks::{DeliveryAttempts, WebhookDeliveryQuery, WebhookMutation, WebhookQuery},
};

#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    UserQuery,
    OrganizationQuery,
    ApiKeyQuery,
    CompanyQuery,
    LeadQuery,
    FollowUpQuery,
    PipelineQuery,
    DealQuery,
    PartnerQuery,
    CampaignQuery,
    SegmentQuery,
    ScoringQuery,
    EventQuery,
    WebhookQuery,
    WebhookDeliveryQuery,
    AuditQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    UserMutation,
    OrganizationMutation,
    ApiKeyMutation,
    CompanyMutation,
    LeadMutation,
    ActivityMutation,
    NoteMutation,
    PipelineMutation,
    DealMutation,
    PartnerMutation,
    CampaignMutation,
    SegmentMutation,
    ScoringMutation,
    WebhookMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(EventSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Depth, aliases and nesting are checked by the document guard before a document reaches
/// the schema (`graphql::document`), where introspection's own nesting is exempt from depth.
fn schema_builder(limits: &Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_complexity(limits.max_complexity)
    .limit_directives(limits.max_directives)
}

/// The same schema three times: signed-in callers get introspection and "did you mean"
/// suggestions; callers without credentials (who may only sign in) get neither, unless
/// `ANONYMOUS_INTROSPECTION` opens them for development. Mutations with several root fields
/// run each in a savepoint (`savepoints`); that extension hooks every field's resolution, so
/// only those operations get the schema that has it.
#[derive(Clone)]
pub struct Schemas {
    pub signed_in: AppSchema,
    pub several_mutations: AppSchema,
    pub anonymous: AppSchema,
}

impl Schemas {
    /// The schema a signed-in caller's operation runs on.
    pub fn for_signed_in(&self, checked: &super::document::Checked) -> &AppSchema {
        if checked.operation == async_graphql::parser::types::OperationType::Mutation
            && checked.root_fields.len() > 1
        {
            &self.several_mutations
        } else {
            &self.signed_in
        }
    }
}

/// The schemas with their limits and the shared state. Per-request data (principal,
/// transaction, loaders) is attached to each request, never to the schema.
pub fn build_schemas(app: AppState) -> Schemas {
    let limits = app.limits.clone();
    let anonymous = schema_builder(&limits).data(app.clone());
    let anonymous = if limits.anonymous_introspection {
        anonymous
    } else {
        anonymous.disable_introspection().disable_suggestions()
    };
    Schemas {
        signed_in: schema_builder(&limits).data(app.clone()).finish(),
        several_mutations: schema_builder(&limits)
            .extension(super::savepoints::MutationSavepoints)
            .data(app)
            .finish(),
        anonymous: anonymous.finish(),
    }
}

/// The SDL, fields and enum values sorted, as committed in `schema.graphql`.
pub fn export_sdl() -> String {
    schema_builder(&Limits::default())
        .finish()
        .sdl_with_options(
            SDLExportOptions::new()
                .sorted_fields()
                .sorted_arguments()
                .sorted_enum_items(),
        )
}

/// Every list of the schema with the orderings it offers: the list-ordering test holds each
/// to an index and checks this against the lists introspection shows, so none is missed.
pub fn list_orderings() -> Vec<ListOrderings> {
    use crate::graphql::ChildRelation;
    let nested = |field, children: super::ChildTable| {
        ListOrderings::by_creation(field, children.table, Some(children.parent_column))
    };
    vec![
        ListOrderings::declared::<CompanyOrderField>("Query.companies"),
        ListOrderings::declared::<LeadOrderField>("Query.leads"),
        ListOrderings {
            field: "Query.myFollowUps",
            table: "leads",
            parent: Some("assigned_to_id"),
            columns: vec!["next_follow_up_at"],
        },
        ListOrderings::declared::<DealOrderField>("Query.deals"),
        ListOrderings::by_creation("Query.partners", "partners", None),
        ListOrderings::declared::<CampaignOrderField>("Query.campaigns"),
        ListOrderings::by_creation("Query.segments", "segments", None),
        ListOrderings::by_creation("Query.scoringRules", "scoring_rules", None),
        // Newest first over the tenant's leads, as `leads(orderBy: CREATED_AT)`.
        ListOrderings {
            field: "Segment.leads",
            table: "leads",
            parent: None,
            columns: vec!["created_at"],
        },
        ListOrderings::by_creation("Query.users", "users", None),
        ListOrderings::by_creation("Query.apiKeys", "api_keys", None),
        ListOrderings::by_creation("Query.auditLogs", "audit_logs", None),
        ListOrderings::by_creation("Query.webhookEndpoints", "webhook_endpoints", None),
        ListOrderings::by_creation(
            "Query.webhookDeliveries",
            "webhook_deliveries",
            Some("endpoint_id"),
        ),
        nested("Company.leads", CompanyLeads::CHILDREN),
        nested("Lead.activities", LeadActivities::CHILDREN),
        nested("Lead.notes", LeadNotes::CHILDREN),
        nested("Lead.assignmentHistory", LeadAssignments::CHILDREN),
        nested("Lead.deals", LeadDeals::CHILDREN),
        nested("Lead.scoreHistory", LeadScoreChanges::CHILDREN),
        nested("Company.deals", CompanyDeals::CHILDREN),
        nested("Deal.stageHistory", DealStageChanges::CHILDREN),
        nested("Campaign.members", CampaignMembers::CHILDREN),
        nested("WebhookDelivery.attempts", DeliveryAttempts::CHILDREN),
    ]
}
