//! The delivery worker, one per server process. Woken by new events (and every poll interval
//! for retries), it asks which organizations have webhook work, then per organization, in
//! short tenant transactions: turns new events into deliveries (each endpoint's cursor moves
//! past them), claims the next due delivery of each endpoint with a lease (`FOR UPDATE SKIP
//! LOCKED`: replicas never take the same one), POSTs it outside any transaction, and records
//! the attempt. A worker that dies mid-delivery leaves a lease that expires: another (or the
//! restarted one) delivers it again — at least once. One delivery in flight per endpoint
//! keeps each endpoint's deliveries in event order.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, Statement};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::{
    model::{DeliveryRow, EndpointRow},
    payload, signing, ssrf,
};
use crate::{
    config::WebhookSettings, error::ApiResult, metrics::Metrics, sql::SqlBuilder, tenancy::TenantTx,
};

/// Organizations served per round; the rest wait for the next one.
const TENANTS_PER_ROUND: i32 = 50;
/// Claim rounds per organization before others get their turn.
const ROUNDS_PER_TENANT: usize = 20;
/// The longest wait between two retries.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct WebhookWorker {
    db: DatabaseConnection,
    settings: WebhookSettings,
    statement_timeout: Duration,
    metrics: Arc<Metrics>,
}

/// A claimed delivery with what sending it needs.
struct Claimed {
    delivery: DeliveryRow,
    endpoint: EndpointRow,
    body: Vec<u8>,
}

/// What one HTTP attempt came to.
struct Outcome {
    status_code: Option<i32>,
    error: Option<String>,
    duration: Duration,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

impl WebhookWorker {
    pub fn new(
        db: DatabaseConnection,
        settings: WebhookSettings,
        statement_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            db,
            settings,
            statement_timeout,
            metrics,
        }
    }

    /// Delivers until `stop` turns true, waking on `arrivals` and every poll interval.
    pub async fn run(self, arrivals: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        loop {
            // Stopping abandons deliveries in flight: their leases expire and another worker
            // (or this one, restarted) makes them.
            tokio::select! {
                result = self.round() => if let Err(err) = result {
                    tracing::error!(error = ?err, "webhook delivery round failed");
                },
                _ = stop.changed() => return,
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
                _ = arrivals.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    async fn round(&self) -> ApiResult<()> {
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT webhook_tenants_with_work($1)",
                [TENANTS_PER_ROUND.into()],
            ))
            .await?;
        let tenants = rows
            .iter()
            .map(|row| row.try_get_by_index::<Uuid>(0))
            .collect::<Result<Vec<_>, _>>()?;
        let results =
            futures::future::join_all(tenants.into_iter().map(|org| self.serve(org))).await;
        for result in results {
            if let Err(err) = result {
                tracing::error!(error = ?err, "webhook delivery for an organization failed");
            }
        }
        Ok(())
    }

    /// Schedules, claims and delivers one organization's due deliveries.
    async fn serve(&self, organization_id: Uuid) -> ApiResult<()> {
        for _ in 0..ROUNDS_PER_TENANT {
            let claimed = self.claim(organization_id).await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let attempts = claimed.into_iter().map(|claimed| async move {
                let outcome = self.send(&claimed).await;
                self.metrics.webhook_attempt(outcome.succeeded());
                self.record(organization_id, &claimed, &outcome).await
            });
            for result in futures::future::join_all(attempts).await {
                result?;
            }
        }
        Ok(())
    }

    async fn tenant_tx(&self, organization_id: Uuid, read_only: bool) -> ApiResult<TenantTx> {
        Ok(TenantTx::begin_for_organization(
            &(&self.db).into(),
            organization_id,
            self.statement_timeout,
            read_only,
        )
        .await?)
    }

    /// In one transaction: new events become deliveries, then the next due delivery of each
    /// endpoint is leased, and its endpoint, event and subject are read for the body.
    async fn claim(&self, organization_id: Uuid) -> ApiResult<Vec<Claimed>> {
        let tx = self.tenant_tx(organization_id, false).await?;
        let conn = tx.conn();
        conn.execute_raw(schedule(organization_id)).await?;
        let lease = self.settings.timeout * 2;
        let deliveries = DeliveryRow::find_by_statement(claim(organization_id, lease))
            .all(conn)
            .await?;
        if deliveries.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let mut endpoint_ids: Vec<Uuid> = deliveries.iter().map(|d| d.endpoint_id).collect();
        endpoint_ids.dedup();
        let mut sql = SqlBuilder::new("");
        let org = sql.bind(organization_id);
        let ids = sql.bind(endpoint_ids);
        sql.push(&format!(
            "SELECT * FROM webhook_endpoints WHERE organization_id = {org} AND id = ANY({ids})"
        ));
        let endpoints: HashMap<Uuid, EndpointRow> = EndpointRow::find_by_statement(sql.build())
            .all(conn)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let positions: Vec<i64> = deliveries.iter().map(|d| d.event_position).collect();
        let events =
            crate::events::store::read_positions(conn, organization_id, &positions).await?;
        tx.commit().await?;
        let mut claimed = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let Some(endpoint) = endpoints.get(&delivery.endpoint_id).cloned() else {
                continue;
            };
            let body = payload::body(organization_id, &delivery, &events)?;
            claimed.push(Claimed {
                delivery,
                endpoint,
                body,
            });
        }
        Ok(claimed)
    }

    /// POSTs one delivery, signed, to the endpoint's checked address.
    async fn send(&self, claimed: &Claimed) -> Outcome {
        let started = Instant::now();
        let failed = |error: String| Outcome {
            status_code: None,
            error: Some(error),
            duration: started.elapsed(),
        };
        let url = match ssrf::parse(&claimed.endpoint.url) {
            Ok(url) => url,
            Err(refused) => return failed(refused.to_string()),
        };
        let addresses = match ssrf::resolve(&url, self.settings.allow_private_addresses).await {
            Ok(addresses) => addresses,
            Err(refused) => return failed(refused.to_string()),
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = match delivery_client(self.settings.timeout, &host, &addresses) {
            Ok(client) => client,
            Err(err) => return failed(err.to_string()),
        };
        let id = format!("msg_{}", claimed.delivery.id.simple());
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signing::sign(
            &claimed.endpoint.signing_secret,
            &id,
            timestamp,
            &claimed.body,
        );
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "LeadGraph-Webhooks/1")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(claimed.body.clone())
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status();
                Outcome {
                    status_code: Some(i32::from(status.as_u16())),
                    error: (!status.is_success()).then(|| format!("HTTP {status}")),
                    duration: started.elapsed(),
                }
            }
            Err(err) if err.is_timeout() => failed("timed out".to_owned()),
            Err(err) if err.is_connect() => failed("connection failed".to_owned()),
            Err(err) => failed(format!("request failed: {err}")),
        }
    }

    /// Records the attempt: delivered, or retried later (exponential backoff with jitter), or
    /// given up past the horizon; and the endpoint's health.
    async fn record(
        &self,
        organization_id: Uuid,
        claimed: &Claimed,
        outcome: &Outcome,
    ) -> ApiResult<()> {
        let tx = self.tenant_tx(organization_id, false).await?;
        let conn = tx.conn();
        let backend = conn.get_database_backend();
        let delivery = &claimed.delivery;
        let duration_ms = outcome.duration.as_millis().min(i32::MAX as u128) as i32;
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO webhook_attempts (organization_id, delivery_id, status_code, error, duration_ms)
             VALUES ($1, $2, $3, left($4, 1000), $5)",
            [
                organization_id.into(),
                delivery.id.into(),
                outcome.status_code.into(),
                outcome.error.clone().into(),
                duration_ms.into(),
            ],
        ))
        .await?;
        if outcome.succeeded() {
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE webhook_deliveries
                 SET status = 'delivered', delivered_at = now(), lease_until = NULL,
                     last_status_code = $3, last_error = NULL
                 WHERE organization_id = $1 AND id = $2 AND status = 'pending'",
                [
                    organization_id.into(),
                    delivery.id.into(),
                    outcome.status_code.into(),
                ],
            ))
            .await?;
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE webhook_endpoints SET consecutive_failures = 0, health = 'healthy'
                 WHERE organization_id = $1 AND id = $2",
                [organization_id.into(), delivery.endpoint_id.into()],
            ))
            .await?;
        } else {
            let delay = self.retry_delay(delivery.attempt_count);
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE webhook_deliveries
                 SET status = CASE WHEN created_at < now() - make_interval(secs => $5)
                                   THEN 'failed' ELSE 'pending' END,
                     next_attempt_at = now() + make_interval(secs => $6),
                     lease_until = NULL, last_status_code = $3, last_error = left($4, 1000)
                 WHERE organization_id = $1 AND id = $2 AND status = 'pending'",
                [
                    organization_id.into(),
                    delivery.id.into(),
                    outcome.status_code.into(),
                    outcome.error.clone().into(),
                    self.settings.retry_horizon.as_secs_f64().into(),
                    delay.as_secs_f64().into(),
                ],
            ))
            .await?;
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE webhook_endpoints
                 SET consecutive_failures = consecutive_failures + 1,
                     health = CASE WHEN consecutive_failures + 1 >= $3 THEN 'failing'
                                   ELSE health END
                 WHERE organization_id = $1 AND id = $2",
                [
                    organization_id.into(),
                    delivery.endpoint_id.into(),
                    self.settings.failing_after.into(),
                ],
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `base · 2^(attempts-1)`, at most an hour, times a random factor in [0.5, 1).
    fn retry_delay(&self, attempts: i32) -> Duration {
        let exponent = attempts.clamp(1, 20) as u32 - 1;
        let delay = self
            .settings
            .retry_base
            .saturating_mul(1 << exponent)
            .min(MAX_RETRY_DELAY);
        delay.mul_f64(rand::rng().random_range(0.5..1.0))
    }
}

/// The client of one delivery: connects to the checked addresses only (never through a proxy
/// named by `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`, which would resolve the host again,
/// past the SSRF guard), follows no redirect, gives up after `timeout`.
fn delivery_client(
    timeout: Duration,
    host: &str,
    addresses: &[std::net::SocketAddr],
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(host, addresses)
        .build()
}

/// Turns every active endpoint's new events into deliveries (private-note events are never
/// delivered: they belong to their author alone) and moves its cursor past them.
fn schedule(organization_id: Uuid) -> Statement {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    sql.push(&format!(
        "WITH head AS (
             SELECT coalesce((SELECT head FROM event_streams WHERE organization_id = {org}), 0)
                 AS position
         ), endpoints AS (
             SELECT id, event_cursor, event_kinds, subject_types FROM webhook_endpoints
             WHERE organization_id = {org} AND is_active AND event_cursor < (SELECT position FROM head)
             FOR UPDATE SKIP LOCKED
         ), scheduled AS (
             INSERT INTO webhook_deliveries
                 (organization_id, endpoint_id, event_position, event_kind, subject_type,
                  subject_id)
             SELECT {org}, e.id, ev.position, ev.kind, ev.subject_type, ev.subject_id
             FROM endpoints e
             JOIN events ev ON ev.organization_id = {org}
                 AND ev.position > e.event_cursor AND ev.position <= (SELECT position FROM head)
             WHERE ev.private_to IS NULL
               AND (cardinality(e.event_kinds) = 0 OR ev.kind = ANY(e.event_kinds))
               AND (cardinality(e.subject_types) = 0 OR ev.subject_type = ANY(e.subject_types))
             ON CONFLICT DO NOTHING
         )
         UPDATE webhook_endpoints w SET event_cursor = (SELECT position FROM head)
         FROM endpoints e WHERE w.organization_id = {org} AND w.id = e.id"
    ));
    sql.build()
}

/// Leases the earliest pending delivery of each active endpoint, when it is due and not
/// leased. A disabled endpoint's pending deliveries wait until it is enabled again.
fn claim(organization_id: Uuid, lease: Duration) -> Statement {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    let lease = sql.bind(lease.as_secs_f64());
    sql.push(&format!(
        "WITH heads AS (
             SELECT DISTINCT ON (d.endpoint_id) d.id
             FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.organization_id = d.organization_id
                 AND e.id = d.endpoint_id AND e.is_active
             WHERE d.organization_id = {org} AND d.status = 'pending'
             ORDER BY d.endpoint_id, d.event_position
         ), due AS (
             SELECT d.id FROM webhook_deliveries d JOIN heads h ON h.id = d.id
             WHERE d.organization_id = {org} AND d.status = 'pending'
               AND d.next_attempt_at <= now()
               AND (d.lease_until IS NULL OR d.lease_until < now())
             FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries d
         SET lease_until = now() + make_interval(secs => {lease}),
             attempt_count = d.attempt_count + 1
         FROM due WHERE d.organization_id = {org} AND d.id = due.id
         RETURNING d.*"
    ));
    sql.build()
}

#[cfg(test)]
mod tests {
    use std::{
        io::{ErrorKind, Read, Write},
        net::TcpListener,
        process::Command,
    };

    use super::*;

    const PROBE: &str = "webhooks::worker::tests::a_delivery_under_proxy_variables";

    /// A delivery connects to the endpoint's checked addresses itself, never through a proxy
    /// the environment names. Setting variables is unsafe in a running process, so the
    /// delivery runs in a copy of this test binary started with them set, all pointing at a
    /// listener that must see no connection.
    #[test]
    fn deliveries_ignore_proxy_variables() {
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        proxy.set_nonblocking(true).unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let mut probe = Command::new(std::env::current_exe().unwrap());
        probe.args(["--exact", PROBE, "--ignored", "--test-threads", "1"]);
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            probe.env(name, &proxy_url);
            probe.env(name.to_lowercase(), &proxy_url);
        }
        probe.env_remove("NO_PROXY").env_remove("no_proxy");
        let output = probe.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(stdout.contains("1 passed"), "the probe ran: {stdout}");
        assert_eq!(
            proxy.accept().map(|_| ()).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "the delivery went to the proxy"
        );
    }

    #[tokio::test]
    #[ignore = "run by deliveries_ignore_proxy_variables, with proxy variables set"]
    async fn a_delivery_under_proxy_variables() {
        let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = receiver.local_addr().unwrap();
        let answered = std::thread::spawn(move || {
            let (mut socket, _) = receiver.accept().unwrap();
            let mut request = [0; 4096];
            let _ = socket.read(&mut request).unwrap();
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .unwrap();
        });
        let client = delivery_client(Duration::from_secs(3), "receiver.test", &[addr]).unwrap();
        let response = client
            .post(format!("http://receiver.test:{}/hook", addr.port()))
            .body("{}")
            .send()
            .await
            .expect("delivered directly");
        assert_eq!(response.status().as_u16(), 204);
        answered.join().unwrap();
    }
}
