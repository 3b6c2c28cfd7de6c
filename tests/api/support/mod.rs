//! The test harness: a database per test (cloned from a template migrated once per run), the
//! real server on a loopback port, a GraphQL client, and builders for tenants and their data.

pub mod app;
mod db;
mod gql;
pub mod key_order;
pub mod private_pg;
pub mod receiver;
pub mod tenant;
pub mod ws;

pub use app::TestApp;
pub use db::{TestDb, admin_url, owner_url, server as database_server};
pub use gql::Gql;
pub use tenant::Tenant;
