//! API-key usage (`usageCount`, `lastUsedAt`), counted in memory and written to the keys every
//! `API_KEY_USAGE_FLUSH_MS`: a request with a key no longer pays for an UPDATE of the key's
//! row and its WAL flush, and a busy key's row is no longer a point every request contends on.
//! A write is one short transaction per organization, under its policies. The cost: the
//! figures trail by up to one interval, and a process that dies loses its last interval's
//! counts (a graceful stop writes them).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{error::ApiResult, sql::SqlBuilder, tenancy::TenantTx};

#[derive(Clone, Copy, Debug)]
struct Pending {
    uses: i64,
    last_used_at: DateTime<Utc>,
}

/// Uses of each key since the last write, by organization.
pub struct KeyUsage {
    db: DatabaseConnection,
    interval: Duration,
    statement_timeout: Duration,
    pending: Mutex<HashMap<Uuid, HashMap<Uuid, Pending>>>,
}

impl KeyUsage {
    pub fn new(db: DatabaseConnection, interval: Duration, statement_timeout: Duration) -> Self {
        Self {
            db,
            interval,
            statement_timeout,
            pending: Mutex::default(),
        }
    }

    /// Counts one use of `api_key_id` now.
    pub fn record(&self, organization_id: Uuid, api_key_id: Uuid) {
        let now = Utc::now();
        let mut pending = self.pending.lock().expect("key usage");
        let key = pending
            .entry(organization_id)
            .or_default()
            .entry(api_key_id)
            .or_insert(Pending {
                uses: 0,
                last_used_at: now,
            });
        key.uses += 1;
        key.last_used_at = key.last_used_at.max(now);
    }

    /// Writes what was counted: one transaction per organization. What could not be written
    /// is counted again for the next time.
    pub async fn flush(&self) {
        let taken = std::mem::take(&mut *self.pending.lock().expect("key usage"));
        for (organization_id, keys) in taken {
            if let Err(err) = write(&self.db, self.statement_timeout, organization_id, &keys).await
            {
                tracing::warn!(%organization_id, error = %err, "writing API-key usage failed; kept for the next write");
                self.restore(organization_id, keys);
            }
        }
    }

    fn restore(&self, organization_id: Uuid, keys: HashMap<Uuid, Pending>) {
        let mut pending = self.pending.lock().expect("key usage");
        let organization = pending.entry(organization_id).or_default();
        for (id, missed) in keys {
            let key = organization.entry(id).or_insert(Pending {
                uses: 0,
                last_used_at: missed.last_used_at,
            });
            key.uses += missed.uses;
            key.last_used_at = key.last_used_at.max(missed.last_used_at);
        }
    }

    /// Writes every interval until `stop`, then once more.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.interval);
        loop {
            tokio::select! {
                _ = tick.tick() => self.flush().await,
                _ = stop.changed() => {
                    self.flush().await;
                    return;
                }
            }
        }
    }
}

async fn write(
    db: &DatabaseConnection,
    statement_timeout: Duration,
    organization_id: Uuid,
    keys: &HashMap<Uuid, Pending>,
) -> ApiResult<()> {
    let tx =
        TenantTx::begin_for_organization(&db.into(), organization_id, statement_timeout, false)
            .await?;
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    let ids = sql.bind(keys.keys().copied().collect::<Vec<Uuid>>());
    let uses = sql.bind(keys.values().map(|k| k.uses).collect::<Vec<i64>>());
    let last = sql.bind(
        keys.values()
            .map(|k| DateTime::<FixedOffset>::from(k.last_used_at))
            .collect::<Vec<_>>(),
    );
    sql.push(&format!(
        "UPDATE api_keys k SET usage_count = k.usage_count + u.uses,
                last_used_at = greatest(k.last_used_at, u.last)
         FROM unnest({ids}::uuid[], {uses}::bigint[], {last}::timestamptz[]) AS u(id, uses, last)
         WHERE k.organization_id = {org} AND k.id = u.id"
    ));
    tx.conn().execute_raw(sql.build()).await?;
    tx.commit().await?;
    Ok(())
}
