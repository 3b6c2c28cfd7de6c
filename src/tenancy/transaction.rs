//! The request's one transaction. It begins by setting the tenant **transaction-locally**
//! (`SET LOCAL`, which Citus forwards to its workers, unlike `set_config`), so a pooled
//! connection never carries a tenant into the next request, and the policies fail closed when
//! nothing is set.

use std::time::Duration;

use sea_orm::{DbErr, QueryResult};
use uuid::Uuid;

use super::connection::{GRACE, SessionStatement, TenantConnection, TenantPool};

/// What the transaction-local settings say about the caller.
#[derive(Clone, Copy, Debug)]
pub struct TenantSettings {
    pub organization_id: Uuid,
    pub user_id: Uuid,
}

pub struct TenantTx {
    conn: TenantConnection,
}

impl TenantTx {
    /// Begins a transaction (read-only for queries) with a statement timeout and, when known,
    /// the tenant: one round trip.
    pub async fn begin(
        pool: &TenantPool,
        read_only: bool,
        statement_timeout: Duration,
        tenant: Option<TenantSettings>,
    ) -> Result<Self, DbErr> {
        let opening = settings(
            read_only,
            pool.timeout_to_set(statement_timeout),
            tenant.map(|t| t.organization_id),
            tenant.map(|t| t.user_id),
        );
        Ok(Self::open(pool, opening, None, statement_timeout).await?.0)
    }

    /// As [`begin`](Self::begin), with `statement` executed in the same round trip once the
    /// settings are in place; its rows are returned. `execute` (`EXECUTE <name>(...)`) is
    /// formatted from parsed values only: the batch takes no parameters.
    pub async fn begin_with(
        pool: &TenantPool,
        read_only: bool,
        statement_timeout: Duration,
        tenant: TenantSettings,
        (execute, statement): (&str, &'static SessionStatement),
    ) -> Result<(Self, Vec<QueryResult>), DbErr> {
        let opening = format!(
            "{}; {execute}",
            settings(
                read_only,
                pool.timeout_to_set(statement_timeout),
                Some(tenant.organization_id),
                Some(tenant.user_id),
            )
        );
        Self::open(pool, opening, Some(statement), statement_timeout).await
    }

    /// A transaction seeing the organization's rows as no user in particular: for the
    /// server's own background work (the event feed, webhook delivery), never for a client.
    pub async fn begin_for_organization(
        pool: &TenantPool,
        organization_id: Uuid,
        statement_timeout: Duration,
        read_only: bool,
    ) -> Result<Self, DbErr> {
        let opening = settings(
            read_only,
            pool.timeout_to_set(statement_timeout),
            Some(organization_id),
            None,
        );
        Ok(Self::open(pool, opening, None, statement_timeout).await?.0)
    }

    async fn open(
        pool: &TenantPool,
        opening: String,
        executes: Option<&'static SessionStatement>,
        statement_timeout: Duration,
    ) -> Result<(Self, Vec<QueryResult>), DbErr> {
        let pool = pool.clone();
        let reply_within = statement_timeout + GRACE;
        // A request is cancelled when its client goes away. Opened on a task of its own, the
        // opening always completes (or gives up on a connection that does not answer); a
        // transaction opened for a caller that is gone is dropped with the task's output, which
        // rolls it back (see `TenantConnection`).
        tokio::spawn(async move {
            let (conn, rows) =
                TenantConnection::open(&pool, &opening, executes, reply_within).await?;
            Ok((Self { conn }, rows))
        })
        .await
        .map_err(|err| DbErr::Custom(format!("beginning a transaction failed: {err}")))?
    }

    pub fn conn(&self) -> &TenantConnection {
        &self.conn
    }

    /// Commits on a task of its own, like the opening: a COMMIT abandoned halfway would leave
    /// the connection's fate to its drop.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.finish("COMMIT").await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.finish("ROLLBACK").await
    }

    /// Ends a read-only transaction on a task of its own without waiting for it: what it read
    /// is final before its end (a read-only transaction has nothing to lose there), so the
    /// answer need not wait a round trip. `held` (the organization's turn) is let go only once
    /// the connection is back in the pool, so the tenant's share still counts it meanwhile.
    pub fn end_read_only_unawaited(self, held: impl Send + 'static) {
        tokio::spawn(async move {
            if let Err(err) = self.conn.end("COMMIT").await {
                tracing::warn!(error = %err, "ending a read-only transaction failed");
            }
            drop(held);
        });
    }

    async fn finish(self, end: &'static str) -> Result<(), DbErr> {
        tokio::spawn(async move { self.conn.end(end).await })
            .await
            .map_err(|err| DbErr::Custom(format!("ending a transaction failed: {err}")))?
    }
}

impl TenantPool {
    /// `statement_timeout` when the pool's connections do not already start with it.
    fn timeout_to_set(&self, statement_timeout: Duration) -> Option<Duration> {
        (self.statement_timeout != Some(statement_timeout)).then_some(statement_timeout)
    }
}

/// BEGIN and the transaction's settings as one simple-protocol batch (SET takes no
/// parameters). Every value is formatted from a parsed type (UUIDs, milliseconds), never from
/// client text; an unknown tenant or user is the empty string, which the policies treat as none.
fn settings(
    read_only: bool,
    statement_timeout: Option<Duration>,
    organization_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> String {
    let setting = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    let timeout = statement_timeout
        .map(|timeout| format!("SET LOCAL statement_timeout = {}; ", timeout.as_millis()))
        .unwrap_or_default();
    format!(
        "BEGIN{}; {timeout}SET LOCAL app.current_organization_id = '{}'; \
         SET LOCAL app.current_user_id = '{}'",
        if read_only { " READ ONLY" } else { "" },
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
            settings(true, Some(Duration::from_secs(5)), Some(org), None),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = 5000; \
             SET LOCAL app.current_organization_id = '01234567-89ab-cdef-0123-456789abcdef'; \
             SET LOCAL app.current_user_id = ''"
        );
        assert_eq!(
            settings(false, None, None, Some(org)),
            "BEGIN; SET LOCAL app.current_organization_id = ''; \
             SET LOCAL app.current_user_id = '01234567-89ab-cdef-0123-456789abcdef'"
        );
    }
}
