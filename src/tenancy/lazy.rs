//! A tenant transaction opened on first use and closed on demand: what a subscription's
//! loaders run in. A subscription lives for hours; holding one transaction (and a pooled
//! connection) that long is not an option, so each delivered batch gets its own short one,
//! and only if resolving it needs the database at all.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};
use tokio::sync::Mutex;

use super::{TenantPool, TenantSettings, TenantTx};

pub struct LazyTenantTx {
    pool: TenantPool,
    tenant: TenantSettings,
    statement_timeout: Duration,
    open: Mutex<Option<TenantTx>>,
}

impl LazyTenantTx {
    pub fn new(pool: TenantPool, tenant: TenantSettings, statement_timeout: Duration) -> Self {
        Self {
            pool,
            tenant,
            statement_timeout,
            open: Mutex::new(None),
        }
    }

    /// Runs a read in the current transaction, beginning one (read-only, this tenant and user)
    /// when none is open.
    pub async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut open = self.open.lock().await;
        if open.is_none() {
            *open = Some(
                TenantTx::begin(&self.pool, true, self.statement_timeout, Some(self.tenant))
                    .await?,
            );
        }
        let tx = open.as_ref().expect("opened above");
        tx.conn().query_all_raw(statement).await
    }

    /// Ends the current transaction, if one is open.
    pub async fn close(&self) -> Result<(), DbErr> {
        match self.open.lock().await.take() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}
