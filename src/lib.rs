//! LeadGraph: a multi-tenant GraphQL backend for lead management, with tenant isolation
//! enforced by PostgreSQL Row Level Security. README.md has the map; in short:
//!
//! - shared machinery: [`config`], [`db`], [`tenancy`] (principal, tenant transaction,
//!   self-check), [`auth`], [`graphql`] (schema, HTTP, document guard, pagination, loaders),
//!   [`admission`] (each tenant's share of the pool, rate limits), [`cors`], [`error`],
//!   [`metrics`], [`traces`] (OpenTelemetry), [`server`], [`graphiql`] (the embedded GraphiQL page);
//! - domains, each with its GraphQL types, queries, mutations and loaders: [`organizations`],
//!   [`users`], [`api_keys`], [`companies`], [`leads`], [`activities`], [`notes`], [`audit`],
//!   the sales pipeline: [`pipeline`] (stages, the board), [`deals`], [`partners`]; and
//!   [`campaigns`], [`segments`], [`scoring`];
//! - [`events`]: the event log, the per-instance feed and the `events`/`leadEvents` subscriptions;
//! - [`webhooks`]: endpoints, signed deliveries with retries, the SSRF guard;
//! - [`seed`]: the demo data of `leadgraph seed-demo`.

pub mod activities;
pub mod admission;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod cli;
pub mod companies;
pub mod config;
pub mod cors;
pub mod db;
pub mod deals;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod leads;
pub mod metrics;
pub mod notes;
pub mod numbers;
pub mod organizations;
pub mod partners;
pub mod pipeline;
pub mod scoring;
pub mod seed;
pub mod segments;
pub mod server;
pub mod service;
pub mod sql;
pub mod state;
pub mod telemetry;
pub mod tenancy;
mod text_enum;
pub mod traces;
pub mod users;
pub mod validation;
pub mod webhooks;
