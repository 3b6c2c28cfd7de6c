//! The request's one transaction. It begins by setting the tenant **transaction-locally**
//! (`set_config(..., true)`), so a pooled connection never carries a tenant into the next
//! request, and the policies fail closed when nothing is set.

use std::time::Duration;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement,
    TransactionTrait,
};
use uuid::Uuid;

/// What the transaction-local settings say about the caller.
#[derive(Clone, Copy, Debug)]
pub struct TenantSettings {
    pub organization_id: Uuid,
    pub user_id: Uuid,
}

pub struct TenantTx {
    tx: DatabaseTransaction,
}

impl TenantTx {
    /// Begins a transaction (read-only for queries) with a statement timeout and, when known,
    /// the tenant: one statement after BEGIN.
    pub async fn begin(
        db: &DatabaseConnection,
        read_only: bool,
        statement_timeout: Duration,
        tenant: Option<TenantSettings>,
    ) -> Result<Self, DbErr> {
        Self::begin_with(
            db,
            read_only,
            statement_timeout,
            tenant.map(|t| t.organization_id),
            tenant.map(|t| t.user_id),
        )
        .await
    }

    /// A transaction seeing the organization's rows as no user in particular: for the
    /// server's own background work (the event feed, webhook delivery), never for a client.
    pub async fn begin_for_organization(
        db: &DatabaseConnection,
        organization_id: Uuid,
        statement_timeout: Duration,
        read_only: bool,
    ) -> Result<Self, DbErr> {
        Self::begin_with(
            db,
            read_only,
            statement_timeout,
            Some(organization_id),
            None,
        )
        .await
    }

    async fn begin_with(
        db: &DatabaseConnection,
        read_only: bool,
        statement_timeout: Duration,
        organization_id: Option<Uuid>,
        user_id: Option<Uuid>,
    ) -> Result<Self, DbErr> {
        let mode = if read_only {
            AccessMode::ReadOnly
        } else {
            AccessMode::ReadWrite
        };
        let tx = db.begin_with_config(None, Some(mode)).await?;
        let setting = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        tx.execute_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            "SELECT set_config('statement_timeout', $1, true), \
                    set_config('app.current_organization_id', $2, true), \
                    set_config('app.current_user_id', $3, true)",
            [
                statement_timeout.as_millis().to_string().into(),
                setting(organization_id).into(),
                setting(user_id).into(),
            ],
        ))
        .await?;
        Ok(Self { tx })
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}
