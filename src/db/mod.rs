//! Database connections and the operational commands around them: bootstrap (`db-init`),
//! migrations, and the migration status `/readyz` reports.

mod bootstrap;

pub use bootstrap::{BootstrapError, bootstrap};

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};

use crate::config::Secret;

/// How the server's pool behaves: the pool is shared by every tenant, so waiting for it is
/// bounded and a connection left idle inside a transaction is ended by PostgreSQL.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// `idle_in_transaction_session_timeout` of every connection: the backstop that frees a
    /// connection a bug left idle inside a transaction.
    pub idle_in_transaction_timeout: Duration,
}

impl PoolSettings {
    pub fn with_size(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(15),
        }
    }
}

/// Opens a small pool with the default settings (commands and tests).
pub async fn connect(url: &Secret, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, &PoolSettings::with_size(max_connections)).await
}

/// Opens a pool. Statement logging is off: statements carry user data.
pub async fn connect_with(
    url: &Secret,
    settings: &PoolSettings,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.expose().to_owned());
    let idle_ms = settings.idle_in_transaction_timeout.as_millis().to_string();
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(settings.acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(move |pg| {
            pg.options([("idle_in_transaction_session_timeout", idle_ms.as_str())])
        });
    Database::connect(options).await
}

/// Names of migrations defined in code that the database has not applied.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let applied: Vec<String> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    Ok(Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}
