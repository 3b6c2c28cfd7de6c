//! The test harness: a database per test (cloned from a template migrated once per run), the
//! real server on a loopback port, a GraphQL client, and builders for tenants and their data.

pub mod app;
mod db;
mod gql;
pub mod key_order;
pub mod private_pg;
pub mod proxy;
pub mod receiver;
pub mod tenant;
pub mod ws;

pub use app::TestApp;
pub use db::{TestDb, admin_url, owner_url, server as database_server};
pub use gql::Gql;
pub use tenant::Tenant;

/// What `probe` gives once it gives something, asked again every 50 ms until `limit`; the
/// test fails naming `what` after that. For conditions that background work brings about.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    limit: std::time::Duration,
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    let wait = async {
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(limit, wait)
        .await
        .unwrap_or_else(|_| panic!("{what} within {limit:?}"))
}

/// The one number `sql` (a `SELECT count(...)`, say) answers on `db`: how tests read what only the
/// database can tell (its activity, rows the API does not show).
pub async fn scalar(db: &impl sea_orm::ConnectionTrait, sql: impl Into<String>) -> i64 {
    let sql = sql.into();
    db.query_one_raw(sea_orm::Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        sql.clone(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .unwrap_or_else(|| panic!("{sql}: no row"))
    .try_get_by_index::<i64>(0)
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
