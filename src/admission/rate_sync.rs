//! Shares this replica's request rates with the others through the database (migration
//! 000009, `rate_limit_sync`): a loop that, while requests come in, reports what each bucket
//! used and takes this replica's grants. It has its own connection, so the pool
//! every tenant shares never waits on it.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use tokio::sync::watch;
use uuid::Uuid;

use super::rate::{Bucket, Grant, RateLimits, Usage};

/// Past this a sync counts as failed (requests then decide alone until one succeeds).
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);

/// Replicas that shared their use within this long count as live.
const LIVE: &str = "1 minute";

#[derive(Clone)]
pub struct RateSync {
    /// A connection of its own (a pool of one).
    db: DatabaseConnection,
    rates: Arc<RateLimits>,
    /// This process, as the other replicas count it.
    replica: Uuid,
}

impl RateSync {
    pub fn new(db: DatabaseConnection, rates: Arc<RateLimits>) -> Self {
        Self {
            db,
            rates,
            replica: Uuid::new_v4(),
        }
    }

    /// Syncs whenever one is due, until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        // The first sync, with nothing to report, makes this replica count in the shares.
        let mut due = true;
        loop {
            if !due {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = self.rates.sync_due() => {}
                }
            }
            due = false;
            if let Err(err) = self.sync().await {
                tracing::warn!(error = %err, "sharing rate limits failed; limiting locally");
                self.rates.sync_failed();
            }
        }
    }

    async fn sync(&self) -> Result<(), DbErr> {
        let usage = self.rates.take_usage();
        let exchanged = tokio::time::timeout(SYNC_TIMEOUT, self.exchange(&usage))
            .await
            .unwrap_or_else(|_| Err(DbErr::Custom("rate_limit_sync timed out".into())));
        match exchanged {
            Ok(grants) => {
                self.rates.apply(grants, Instant::now());
                Ok(())
            }
            Err(err) => {
                // Reported again at the next sync.
                self.rates.give_back(usage);
                Err(err)
            }
        }
    }

    /// Reports `usage` and takes this replica's grants.
    async fn exchange(&self, usage: &[Usage]) -> Result<Vec<Grant>, DbErr> {
        let names: Vec<String> = usage.iter().map(|u| u.bucket.name()).collect();
        let net: Vec<i64> = usage
            .iter()
            .map(|u| saturating_i64(u.used) - saturating_i64(u.granted))
            .collect();
        let want: Vec<bool> = usage.iter().map(|u| u.want).collect();
        let intervals: Vec<i64> = usage
            .iter()
            .map(|u| saturating_i64(u.interval.as_micros().max(1) as u64))
            .collect();
        let windows: Vec<i64> = usage
            .iter()
            .map(|u| saturating_i64(u.window.as_micros() as u64))
            .collect();
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                format!(
                    "SELECT name, granted, ahead_us \
                     FROM rate_limit_sync($1, interval '{LIVE}', $2, $3, $4, $5, $6)"
                ),
                [
                    self.replica.into(),
                    names.into(),
                    net.into(),
                    want.into(),
                    intervals.into(),
                    windows.into(),
                ],
            ))
            .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get_by_index(0)?;
                let granted: i64 = row.try_get_by_index(1)?;
                let ahead: i64 = row.try_get_by_index(2)?;
                Ok(Bucket::from_name(&name).map(|bucket| Grant {
                    bucket,
                    granted: granted.max(0) as u64,
                    ahead: Duration::from_micros(ahead.max(0) as u64),
                }))
            })
            .filter_map(Result::transpose)
            .collect()
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
