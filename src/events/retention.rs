//! Retention: removes events older than the configured period, across tenants, through the
//! `prune_events` function (the only cross-tenant write the server makes).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait};
use tokio::sync::watch;

/// Removes expired events; returns how many. Across every tenant a prune may run longer than
/// a request may, and the server's connections start with the request timeout: it runs in a
/// transaction of its own without one, as it always has.
pub async fn prune_expired(db: &DatabaseConnection, retention: Duration) -> Result<i64, DbErr> {
    let tx = db.begin().await?;
    tx.execute_unprepared("SET LOCAL statement_timeout = 0")
        .await?;
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT prune_events(make_interval(secs => $1))",
            [(retention.as_secs() as f64).into()],
        ))
        .await?;
    tx.commit().await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0))
}

/// The hourly retention job.
#[derive(Clone)]
pub struct Retention {
    pub db: DatabaseConnection,
    pub keep: Duration,
}

impl Retention {
    /// Prunes every hour (and at start) until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = every.tick() => match prune_expired(&self.db, self.keep).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "pruned expired events"),
                    Err(err) => tracing::error!(error = ?err, "pruning events failed"),
                },
                _ = stop.changed() => return,
            }
        }
    }
}
