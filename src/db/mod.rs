//! Database connections and the operational commands around them: bootstrap (`db-init`),
//! migrations, and the migration status `/readyz` reports.

mod bootstrap;

pub use bootstrap::{BootstrapError, bootstrap};

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};
use sqlx::postgres::{PgConnectOptions, PgSslMode};

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
    /// `statement_timeout` every connection starts with (none: PostgreSQL's). The server's
    /// pool starts with the request timeout, so a request's transaction need not set it.
    pub statement_timeout: Option<Duration>,
}

impl PoolSettings {
    pub fn with_size(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(15),
            statement_timeout: None,
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
    let mut startup = vec![(
        "idle_in_transaction_session_timeout",
        settings.idle_in_transaction_timeout.as_millis().to_string(),
    )];
    if let Some(timeout) = settings.statement_timeout {
        startup.push(("statement_timeout", timeout.as_millis().to_string()));
    }
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(settings.acquire_timeout)
        // sqlx pings a connection (a round trip) each time it is taken, by default: only those
        // idle long enough to have been dropped on the way are; a hot one found closed when a
        // transaction opens is replaced there (`tenancy::TenantConnection::open`).
        .test_before_acquire_if_idle_for(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(move |pg| plain_on_loopback(pg).options(startup.clone()));
    Database::connect(options).await
}

/// TLS to a PostgreSQL on this machine protects nothing a local observer could not read
/// anyway, and under load it cost about a tenth of the server's CPU. So a loopback host whose
/// URL does not ask for TLS (no `sslmode`, which is `prefer`, or `allow`) is reached in plain
/// TCP. A URL that asks for it (`sslmode=require`, `verify-ca`, `verify-full`) keeps it, and
/// any other host keeps sqlx's behaviour: nothing remote is downgraded.
fn plain_on_loopback(pg: PgConnectOptions) -> PgConnectOptions {
    let host = pg.get_host().trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback && matches!(pg.get_ssl_mode(), PgSslMode::Prefer | PgSslMode::Allow) {
        pg.ssl_mode(PgSslMode::Disable)
    } else {
        pg
    }
}

/// A connection that failed, said once and plainly: what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach PostgreSQL at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("database \"{0}\" does not exist: run `leadgraph db-init` (scripts/demo.sh does)")]
    NoDatabase(String),
    #[error(
        "PostgreSQL refused role \"{role}\": {reason}; check the URL's user and password \
         (`leadgraph db-init` creates the roles)"
    )]
    LoginRefused { role: String, reason: String },
    #[error("cannot connect to PostgreSQL: {0}")]
    Other(String),
}

/// Why connecting with `url` fails, found by one direct attempt: the pool only reports that it
/// timed out.
pub async fn diagnose(url: &Secret) -> ConnectError {
    use sqlx::{ConnectOptions, postgres::PgConnectOptions};
    let options: PgConnectOptions = match url.expose().parse() {
        Ok(options) => options,
        Err(err) => return ConnectError::Other(format!("the URL is not valid: {err}")),
    };
    let address = format!("{}:{}", options.get_host(), options.get_port());
    let attempt = tokio::time::timeout(Duration::from_secs(5), options.connect()).await;
    let err = match attempt {
        Err(_) => {
            return ConnectError::Unreachable {
                address,
                reason: "no answer within 5 s".into(),
            };
        }
        Ok(Ok(_connection)) => {
            return ConnectError::Other("it answers now; it did not a moment ago".into());
        }
        Ok(Err(err)) => err,
    };
    match err {
        sqlx::Error::Io(io) => ConnectError::Unreachable {
            address,
            reason: match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                _ => io.to_string(),
            },
        },
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("3D000") => {
                ConnectError::NoDatabase(options.get_database().unwrap_or_default().to_owned())
            }
            Some("28P01" | "28000") => ConnectError::LoginRefused {
                role: options.get_username().to_owned(),
                reason: db.message().to_owned(),
            },
            _ => ConnectError::Other(db.message().to_owned()),
        },
        other => ConnectError::Other(other.to_string()),
    }
}

/// Connects for a command, or says plainly why it cannot.
pub async fn connect_or_explain(
    url: &Secret,
    settings: &PoolSettings,
) -> Result<DatabaseConnection, ConnectError> {
    match connect_with(url, settings).await {
        Ok(db) => Ok(db),
        Err(_) => Err(diagnose(url).await),
    }
}

/// The database has every migration, or the command is told to run them first.
pub async fn require_migrated(db: &DatabaseConnection) -> Result<(), NotMigrated> {
    match pending_migrations(db).await {
        Ok(pending) if pending.is_empty() => Ok(()),
        Ok(pending) => Err(NotMigrated(format!(
            "{} migration(s) pending, first {}",
            pending.len(),
            pending[0]
        ))),
        Err(_) => Err(NotMigrated("no migration has run".into())),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the database is not migrated ({0}): run `leadgraph migrate up` first")]
pub struct NotMigrated(String);

/// Names of migrations defined in code that the database has not applied.
pub async fn pending_migrations(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> PgSslMode {
        plain_on_loopback(url.parse().unwrap()).get_ssl_mode()
    }

    #[test]
    fn loopback_without_a_tls_request_is_plain_tcp() {
        for url in [
            "postgres://app@127.0.0.1:5432/db",
            "postgres://app@localhost/db",
            "postgres://app@[::1]:5432/db",
            "postgres://app@127.0.0.1/db?sslmode=prefer",
            "postgres://app@127.0.0.1/db?sslmode=allow",
        ] {
            assert!(matches!(mode(url), PgSslMode::Disable), "{url}");
        }
    }

    #[test]
    fn a_tls_request_or_a_remote_host_is_left_as_it_is() {
        assert!(matches!(
            mode("postgres://app@127.0.0.1/db?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode("postgres://app@localhost/db?sslmode=verify-full"),
            PgSslMode::VerifyFull
        ));
        assert!(matches!(
            mode("postgres://app@db.internal:5432/db"),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://app@10.0.0.5/db"),
            PgSslMode::Prefer
        ));
    }
}
