//! The schema: query, mutation and subscription roots merged from one struct per domain, the limits, and
//! the SDL export that `schema.graphql` is checked against.

use async_graphql::{MergedObject, MergedSubscription, SDLExportOptions, Schema, SchemaBuilder};

use super::node::NodeQuery;
use crate::{
    activities::ActivityMutation,
    api_keys::{ApiKeyMutation, ApiKeyQuery},
    audit::AuditQuery,
    auth::graphql::AuthMutation,
    companies::{CompanyMutation, CompanyQuery},
    config::Limits,
    events::{EventQuery, EventSubscription},
    leads::{LeadMutation, LeadQuery},
    notes::NoteMutation,
    organizations::{OrganizationMutation, OrganizationQuery},
    state::AppState,
    users::{UserMutation, UserQuery},
    webhooks::{WebhookMutation, WebhookQuery},
};

#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    UserQuery,
    OrganizationQuery,
    ApiKeyQuery,
    CompanyQuery,
    LeadQuery,
    EventQuery,
    WebhookQuery,
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
    WebhookMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(EventSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn schema_builder(limits: &Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_directives(limits.max_directives)
}

/// The schema with its limits and the shared state. Per-request data (principal,
/// transaction, loaders) is attached to each request, never to the schema.
pub fn build_schema(app: AppState) -> AppSchema {
    schema_builder(&app.limits.clone()).data(app).finish()
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
