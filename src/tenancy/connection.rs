//! The connection a tenant transaction runs on: one pooled connection, driven through sqlx so
//! that the transaction opens in a single round trip (BEGIN, the settings and the request's
//! first statement in one simple-protocol batch: sea-orm always sends BEGIN on its own), and
//! used through sea-orm's `ConnectionTrait` like any other, so services and entities do not know
//! the difference.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement, sea_query::Values,
};
use sea_query_sqlx::SqlxValues;
use sqlx::{Executor, PgConnection, PgPool, Postgres, pool::PoolConnection, postgres::PgRow};
use tokio::sync::Mutex;

/// Told of every statement run on tenant connections: its SQL, how long it took and whether it
/// failed (the statement counters and trace spans).
pub type StatementObserver = Arc<dyn Fn(&str, Duration, bool) + Send + Sync>;

/// Where tenant transactions get their connections, and who is told of their statements.
#[derive(Clone)]
pub struct TenantPool {
    pool: PgPool,
    /// The `statement_timeout` `db`'s connections start with (`PoolSettings`), if known: a
    /// transaction asking for another sets its own.
    pub(super) statement_timeout: Option<Duration>,
    observer: Option<StatementObserver>,
    /// What the statements run before a caller is proven may hold of the pool at once, and how
    /// long one waits for its turn (none: not bounded, for pools that run none of them).
    unproven: Option<(Arc<tokio::sync::Semaphore>, Duration)>,
}

impl TenantPool {
    /// One statement outside any transaction, for what runs before a tenant is known (an API
    /// key's verification, a sign-in's attempt, a refresh token's rotation), told to the
    /// observer: its reply awaited the pool's statement timeout plus [`GRACE`] at most, the
    /// connection closed without one. It runs on a task of its own, so a caller that gives up
    /// first does not leave the connection half-read to the pool (whose release ping waits
    /// unbounded).
    pub async fn query_one_alone(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let (pool, observer) = (self.pool.clone(), self.observer.clone());
        let within = self.statement_timeout.unwrap_or(UNTIMED) + GRACE;
        // Anyone may send these, credentials or not: together they get one tenant's share of
        // the pool, so a flood of sign-ins (which queue on their account's throttle row,
        // each holding its connection) cannot crowd every tenant's transactions out.
        let turn = match &self.unproven {
            Some((turns, wait)) => Some(
                tokio::time::timeout(*wait, turns.clone().acquire_owned())
                    .await
                    .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
                    .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?,
            ),
            None => None,
        };
        tokio::spawn(async move {
            // The turn ends with the statement, not with a caller that gave up first.
            let _turn = turn;
            let mut conn = pool.acquire().await.map_err(acquire_error)?;
            let Statement { sql, values, .. } = stmt;
            let started = Instant::now();
            let row = replied(&mut conn, within, async |c| {
                prepared(&sql, values).fetch_optional(c).await
            })
            .await;
            if let Some(observer) = &observer {
                observer(&sql, started.elapsed(), row.is_err());
            }
            row.map(|row| row.map(QueryResult::from))
                .map_err(query_error)
        })
        .await
        .map_err(|err| DbErr::Custom(format!("a statement's task failed: {err}")))?
    }

    pub fn new(
        db: &DatabaseConnection,
        statement_timeout: Option<Duration>,
        observer: Option<StatementObserver>,
    ) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            statement_timeout,
            observer,
            unproven: None,
        }
    }

    /// Lets the statements run before a caller is proven hold `share` connections at once,
    /// each waiting `wait` at most for its turn (then UNAVAILABLE).
    pub fn with_unproven_share(mut self, share: usize, wait: Duration) -> Self {
        self.unproven = Some((Arc::new(tokio::sync::Semaphore::new(share.max(1))), wait));
        self
    }
}

/// Background work's transactions: nobody counts their statements, and each sets its timeout.
impl From<&DatabaseConnection> for TenantPool {
    fn from(db: &DatabaseConnection) -> Self {
        Self::new(db, None, None)
    }
}

/// A pooled connection inside a transaction that sqlx does not know of. Dropped before the
/// transaction ended (a request cancelled mid-statement, a failed opening), it is rolled back
/// on a task of its own before it goes back to the pool, and closed if that fails: no
/// connection reaches the next user inside a transaction.
///
/// No reply is awaited longer than the transaction's statement timeout plus [`GRACE`]: past
/// that the connection is closed and the transaction over.
pub struct TenantConnection {
    conn: Mutex<Option<PoolConnection<Postgres>>>,
    observer: Option<StatementObserver>,
    reply_within: Duration,
}

/// How much longer than the statement timeout a reply may take. PostgreSQL ends a statement at
/// its timeout, so a reply missing by then means the connection stopped answering without
/// closing (packets dropped on the way, a host failed over): waiting on would hold its place in
/// the pool, shared by every tenant, until TCP gives up, many minutes later.
pub(super) const GRACE: Duration = Duration::from_secs(5);

/// The wait for a pool whose connections start with no statement timeout.
const UNTIMED: Duration = Duration::from_secs(3600);

impl Drop for TenantConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.get_mut().take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            // sqlx first reads whatever a cancelled statement left unread.
            Ok(runtime) => {
                let reply_within = self.reply_within;
                runtime.spawn(async move {
                    let rolled_back = replied(&mut conn, reply_within, async |c| {
                        c.execute("ROLLBACK").await
                    });
                    if rolled_back.await.is_err() {
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

fn query_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

fn exec_error(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))
}

/// A statement each connection prepares once (SQL `PREPARE`, on its first use) and keeps for
/// its lifetime, so that a batch, which the simple protocol sends unprepared, can run it from a
/// kept plan by `EXECUTE`: parsing and planning it for every request cost more than running it.
#[derive(Debug)]
pub struct SessionStatement {
    pub name: &'static str,
    /// `PREPARE <name>(...) AS ...`
    pub prepare: &'static str,
    /// What statement counters and traces are told ran: its `EXECUTE` without the values.
    pub reported: &'static str,
}

/// Runs a simple-protocol batch, returning the rows of all its statements.
async fn batch(conn: &mut PgConnection, sql: &str) -> Result<Vec<PgRow>, sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(conn)
        .await
}

/// `EXECUTE` of a name this connection has not prepared (SQLSTATE 26000).
fn is_not_prepared(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.code().as_deref() == Some("26000"))
}

/// A statement with its values bound (moved, not copied: a batch's values can be a large JSON
/// document), prepared (and cached) on the connection.
fn prepared(sql: &str, values: Option<Values>) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = values.unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(values))
}

/// An opening that failed; on a connection PostgreSQL had closed, it may be tried again.
struct OpeningError {
    lost_connection: bool,
    error: DbErr,
}

impl From<DbErr> for OpeningError {
    fn from(error: DbErr) -> Self {
        Self {
            lost_connection: false,
            error,
        }
    }
}

/// The connection was closed under us: by PostgreSQL (a terminated backend, a shutdown) or on
/// the way (the socket).
fn is_lost(err: &sqlx::Error) -> bool {
    match err.as_database_error() {
        // admin_shutdown, crash_shutdown
        Some(db) => matches!(db.code().as_deref(), Some("57P01" | "57P02")),
        None => matches!(err, sqlx::Error::Io(_)),
    }
}

fn acquire_error(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        err => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))),
    }
}

fn gone() -> DbErr {
    DbErr::Custom("the transaction has ended".into())
}

/// `round_trip`'s outcome, or `None` when PostgreSQL did not answer within `within`: the
/// connection is then marked to be closed, never reused (its reply may still come).
async fn answered<R>(
    conn: &mut PoolConnection<Postgres>,
    within: Duration,
    round_trip: impl AsyncFnOnce(&mut PgConnection) -> R,
) -> Option<R> {
    let reply = tokio::time::timeout(within, round_trip(&mut **conn))
        .await
        .ok();
    if reply.is_none() {
        conn.close_on_drop();
    }
    reply
}

/// As [`answered`], a missing reply told as an error like a lost connection's.
async fn replied<T>(
    conn: &mut PoolConnection<Postgres>,
    within: Duration,
    round_trip: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    answered(conn, within, round_trip)
        .await
        .unwrap_or_else(|| Err(no_reply(within)))
}

/// A reply that did not come: the connection is lost to us (an I/O error, so the client is
/// told the database is unavailable and an opening is made again on another connection).
fn no_reply(within: Duration) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("PostgreSQL did not answer within {within:?}"),
    ))
}

impl TenantConnection {
    /// Takes a connection from `pool` and runs `opening` on it (a batch that begins the
    /// transaction), returning the rows of its last statement. `executes`: the statement the
    /// batch ends by executing, if any; the connection prepares it on first use, and the
    /// statement observer is told of it (the batch itself carries the caller's ids). Replies
    /// are awaited `reply_within` at most.
    pub(super) async fn open(
        pool: &TenantPool,
        opening: &str,
        executes: Option<&SessionStatement>,
        reply_within: Duration,
    ) -> Result<(Self, Vec<QueryResult>), DbErr> {
        // Hot connections are not pinged when taken (`db::connect_with`): one PostgreSQL closed
        // meanwhile (a restart, a terminated backend) shows here, before anything of the
        // transaction happened, and is replaced. Each attempt discards one dead connection.
        let mut attempts = pool.pool.options().get_max_connections() + 1;
        loop {
            attempts -= 1;
            match Self::open_once(pool, opening, executes, reply_within).await {
                Err(err) if attempts > 0 && err.lost_connection => continue,
                result => return result.map_err(|err| err.error),
            }
        }
    }

    async fn open_once(
        pool: &TenantPool,
        opening: &str,
        executes: Option<&SessionStatement>,
        within: Duration,
    ) -> Result<(Self, Vec<QueryResult>), OpeningError> {
        let conn = pool.pool.acquire().await.map_err(acquire_error)?;
        let this = Self {
            conn: Mutex::new(Some(conn)),
            observer: pool.observer.clone(),
            reply_within: within,
        };
        let rows = {
            let mut guard = this.conn.lock().await;
            let conn = guard.as_mut().ok_or_else(gone)?;
            let started = Instant::now();
            let mut rows = replied(conn, within, async |c| batch(c, opening).await).await;
            if let Some(statement) = executes {
                if rows.as_ref().is_err_and(is_not_prepared) {
                    // The connection's first use of it: prepare it and open again.
                    for sql in ["ROLLBACK", statement.prepare] {
                        replied(conn, within, async |c| c.execute(sql).await)
                            .await
                            .map_err(exec_error)?;
                    }
                    rows = replied(conn, within, async |c| batch(c, opening).await).await;
                }
                this.observe(statement.reported, started, rows.is_err());
            }
            match rows {
                Err(err) if is_lost(&err) => {
                    conn.close_on_drop();
                    return Err(OpeningError {
                        lost_connection: true,
                        error: query_error(err),
                    });
                }
                rows => rows.map_err(query_error)?,
            }
        };
        Ok((this, rows.into_iter().map(QueryResult::from).collect()))
    }

    /// Runs `stmt` prepared, its values bound, through `run`, and tells the observer.
    async fn run<T>(
        &self,
        stmt: Statement,
        run: impl AsyncFnOnce(
            sqlx::query::Query<'_, Postgres, SqlxValues>,
            &mut PgConnection,
        ) -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        let Statement { sql, values, .. } = stmt;
        let mut started = None;
        let result = self
            .round_trip(async |conn| {
                started = Some(Instant::now());
                run(prepared(&sql, values), conn).await
            })
            .await;
        if let Some(started) = started {
            self.observe(&sql, started, result.is_err());
        }
        result
    }

    /// One round trip on the transaction's connection. Without a reply in time the connection
    /// is closed and the transaction over.
    async fn round_trip<T>(
        &self,
        trip: impl AsyncFnOnce(&mut PgConnection) -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        let mut guard = self.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(gone)?;
        match answered(conn, self.reply_within, trip).await {
            Some(result) => result,
            None => {
                // Closed as it drops (`answered` marked it), not rolled back.
                drop(guard.take());
                Err(exec_error(no_reply(self.reply_within)))
            }
        }
    }

    fn observe(&self, sql: &str, started: Instant, failed: bool) {
        if let Some(observer) = &self.observer {
            observer(sql, started.elapsed(), failed);
        }
    }

    /// Ends the transaction with `sql` (COMMIT or ROLLBACK), handing the connection back to
    /// the pool only once that has succeeded.
    pub(super) async fn end(&self, sql: &'static str) -> Result<(), DbErr> {
        self.round_trip(async |conn| conn.execute(sql).await.map_err(exec_error))
            .await?;
        // Back to the pool, out of any transaction.
        drop(self.conn.lock().await.take());
        Ok(())
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for TenantConnection {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.run(stmt, async |query, conn| {
            query
                .execute(conn)
                .await
                .map(ExecResult::from)
                .map_err(exec_error)
        })
        .await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.round_trip(async |conn| {
            conn.execute(sqlx::AssertSqlSafe(sql.to_owned()))
                .await
                .map(ExecResult::from)
                .map_err(exec_error)
        })
        .await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.run(stmt, async |query, conn| {
            let row = query.fetch_optional(conn).await.map_err(query_error)?;
            Ok(row.map(QueryResult::from))
        })
        .await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.run(stmt, async |query, conn| {
            let rows = query.fetch_all(conn).await.map_err(query_error)?;
            Ok(rows.into_iter().map(QueryResult::from).collect())
        })
        .await
    }
}
