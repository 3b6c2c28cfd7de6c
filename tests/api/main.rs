//! Integration tests: the real server over HTTP, against a real PostgreSQL, one database per
//! test. Run with `scripts/test.sh` (or `cargo test` when PostgreSQL is already up).

mod support;

mod auth;
mod availability;
mod campaigns;
mod cors;
mod deals;
mod event_log;
mod events;
mod examples;
mod filters;
mod fuzz;
mod graphiql;
mod http;
mod input;
mod isolation;
mod joined_pages;
mod leads;
mod limits;
mod list_indexes;
mod metrics;
mod money;
mod orderings;
mod outage;
mod principal_cache;
mod rate_limits;
mod schema;
mod schema_rules;
mod scoring;
mod segments;
mod self_check;
mod services;
mod statements;
mod subscriptions;
mod traces;
mod webhooks;
