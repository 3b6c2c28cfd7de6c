//! The request's one transaction. It begins by setting the tenant **transaction-locally**
//! (`SET LOCAL`, which Citus forwards to its workers, unlike `set_config`), so a pooled
//! connection never carries a tenant into the next request, and the policies fail closed when
//! nothing is set.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
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
    /// the tenant: one round trip after BEGIN.
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
        let db = db.clone();
        let settings = settings(read_only, statement_timeout, organization_id, user_id);
        // A request is cancelled when its client goes away. Cancelled during BEGIN's round
        // trip, the driver would hand the connection back to the pool inside a transaction it
        // does not know of (it counts a transaction only once BEGIN has answered), and the
        // next user of that connection would run inside it: its writes uncommitted, holding
        // locks. Begun on a task of its own, BEGIN always completes; a transaction begun for a
        // caller that is gone is dropped with the task's output, which rolls it back.
        tokio::spawn(async move {
            let tx = db.begin().await?;
            tx.execute_unprepared(&settings).await?;
            Ok(Self { tx })
        })
        .await
        .map_err(|err| DbErr::Custom(format!("beginning a transaction failed: {err}")))?
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Commits on a task of its own, like BEGIN: a COMMIT abandoned halfway would still be
    /// followed by a rollback the driver queues for the connection's next user.
    pub async fn commit(self) -> Result<(), DbErr> {
        Self::finish(self.tx.commit()).await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        Self::finish(self.tx.rollback()).await
    }

    async fn finish(
        end: impl Future<Output = Result<(), DbErr>> + Send + 'static,
    ) -> Result<(), DbErr> {
        tokio::spawn(end)
            .await
            .map_err(|err| DbErr::Custom(format!("ending a transaction failed: {err}")))?
    }
}

/// The transaction's settings as one simple-protocol batch (SET takes no parameters). Every
/// value is formatted from a parsed type (UUIDs, milliseconds), never from client text; an
/// unknown tenant or user is the empty string, which the policies treat as none.
fn settings(
    read_only: bool,
    statement_timeout: Duration,
    organization_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> String {
    let setting = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    format!(
        "{}SET LOCAL statement_timeout = {}; \
         SET LOCAL app.current_organization_id = '{}'; \
         SET LOCAL app.current_user_id = '{}'",
        if read_only {
            "SET TRANSACTION READ ONLY; "
        } else {
            ""
        },
        statement_timeout.as_millis(),
        setting(organization_id),
        setting(user_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_are_formatted_from_parsed_values_only() {
        let org = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(
            settings(true, Duration::from_secs(5), Some(org), None),
            "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = 5000; \
             SET LOCAL app.current_organization_id = '01234567-89ab-cdef-0123-456789abcdef'; \
             SET LOCAL app.current_user_id = ''"
        );
        assert!(!settings(false, Duration::from_millis(250), None, None).contains("READ ONLY"));
    }
}
