//! The scoring worker: works through the rescoring jobs `rescoreLeads` queued, oldest first,
//! one batch of leads per short transaction. A batch takes its job `FOR UPDATE SKIP LOCKED`,
//! scores the next leads after the job's cursor, and moves the cursor and the progress in the
//! same transaction: no transaction spans a tenant, a stopped process loses no work, and
//! workers of several processes never work one job at once.

use std::time::Duration;

use entity::scoring_jobs;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, Statement};
use tokio::sync::watch;
use uuid::Uuid;

use super::service::{Reason, active_rules, rescore_batch};
use crate::{error::ApiResult, events::notify_listeners, sql::SqlBuilder, tenancy::TenantTx};

/// Leads per batch: each batch is one transaction of about this many updates.
pub const BATCH_SIZE: i64 = 1000;

/// How often the worker looks for jobs.
const POLL: Duration = Duration::from_millis(250);

/// Batches one organization gets before the next is served.
const BATCHES_PER_TURN: usize = 10;

#[derive(Clone)]
pub struct ScoringWorker {
    pub db: DatabaseConnection,
    pub statement_timeout: Duration,
}

#[derive(FromQueryResult)]
struct Tenant {
    organization_id: Uuid,
}

impl ScoringWorker {
    /// Works until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    if let Err(err) = self.work().await {
                        tracing::error!(error = ?err, "scoring jobs failed");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// A turn for each organization with a job.
    async fn work(&self) -> ApiResult<()> {
        let tenants = Tenant::find_by_statement(Statement::from_string(
            self.db.get_database_backend(),
            "SELECT scoring_tenants_with_work(16) AS organization_id",
        ))
        .all(&self.db)
        .await?;
        for tenant in tenants {
            for _ in 0..BATCHES_PER_TURN {
                if !self.batch(tenant.organization_id).await? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// One batch of the organization's oldest job; false when it has none left to work on.
    async fn batch(&self, organization_id: Uuid) -> ApiResult<bool> {
        let tx = TenantTx::begin_for_organization(
            &(&self.db).into(),
            organization_id,
            self.statement_timeout,
            false,
        )
        .await?;
        let mut sql = SqlBuilder::new("");
        let org = sql.bind(organization_id);
        sql.push(&format!(
            "SELECT * FROM scoring_jobs WHERE organization_id = {org}
               AND state IN ('queued', 'running')
             ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
        ));
        let Some(job) = scoring_jobs::Model::find_by_statement(sql.build())
            .one(tx.conn())
            .await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        match self.advance(&tx, &job).await {
            Ok(()) => {
                notify_listeners(&tx).await?;
                tx.commit().await?;
            }
            Err(err) => {
                tx.rollback().await?;
                tracing::error!(error = ?err, job = %job.id, "a rescoring job failed");
                self.fail(&job).await?;
            }
        }
        Ok(true)
    }

    /// Scores the job's next batch as its creator, and moves its cursor and progress.
    async fn advance(&self, tx: &TenantTx, job: &scoring_jobs::Model) -> ApiResult<()> {
        let conn = tx.conn();
        if let Some(user) = job.created_by_id {
            conn.execute_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                "SELECT set_config('app.current_user_id', $1, true)",
                [user.to_string().into()],
            ))
            .await?;
        }
        let rules = active_rules(conn, job.organization_id).await?;
        let after = job.after_created_at.zip(job.after_id);
        let batch = rescore_batch(
            conn,
            job.organization_id,
            &rules,
            &job.filter,
            after,
            BATCH_SIZE,
            Reason::of(job.rule_id),
        )
        .await?;
        // Done when a batch comes short (or no rule is left to score by).
        let done = rules.is_empty() || batch.rescored < BATCH_SIZE;
        let (last_at, last_id) = match batch.last {
            Some((at, id)) => (Some(at), Some(id)),
            None => (job.after_created_at, job.after_id),
        };
        let mut sql = SqlBuilder::new("");
        let (org, id) = (sql.bind(job.organization_id), sql.bind(job.id));
        let (rescored, changed) = (sql.bind(batch.rescored), sql.bind(batch.changed));
        let (at, last, done) = (sql.bind(last_at), sql.bind(last_id), sql.bind(done));
        sql.push(&format!(
            "UPDATE scoring_jobs SET processed = processed + {rescored},
                 changed = changed + {changed}, after_created_at = {at}, after_id = {last},
                 state = CASE WHEN {done} THEN 'done' ELSE 'running' END,
                 finished_at = CASE WHEN {done} THEN now() END
             WHERE organization_id = {org} AND id = {id}"
        ));
        conn.execute_raw(sql.build()).await?;
        Ok(())
    }

    /// Marks a job failed, in a transaction of its own.
    async fn fail(&self, job: &scoring_jobs::Model) -> ApiResult<()> {
        let tx = TenantTx::begin_for_organization(
            &(&self.db).into(),
            job.organization_id,
            self.statement_timeout,
            false,
        )
        .await?;
        tx.conn()
            .execute_raw(Statement::from_sql_and_values(
                tx.conn().get_database_backend(),
                "UPDATE scoring_jobs SET state = 'failed', finished_at = now(),
                     error = 'the rescoring failed: see the server log at this time'
                 WHERE organization_id = $1 AND id = $2",
                [job.organization_id.into(), job.id.into()],
            ))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
