//! Prometheus metrics (`GET /metrics`, OpenMetrics text, behind `METRICS_TOKEN`) and the one
//! log line per GraphQL request. What is counted: requests by operation type, operation name
//! and outcome code, their latency and SQL statements, the pool, the busiest tenants,
//! subscribers and the results delivered to them, webhook attempts. Label values are bounded:
//! operation names beyond the first few hundred seen are counted as `other`, and tenants are
//! the ten busiest only.

use std::{
    cell::Cell,
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use uuid::Uuid;

/// Distinct operation names kept as label values.
const MAX_OPERATION_NAMES: usize = 300;
/// Tenants shown by request count.
const TOP_TENANTS: usize = 10;
/// Tenants counted before the quietest are forgotten.
const MAX_TRACKED_TENANTS: usize = 10_000;

tokio::task_local! {
    /// Statements of the request running on this task.
    static STATEMENTS: Cell<u32>;
}

/// Runs `request`, counting the SQL statements it runs on its task (its loaders run there).
pub async fn count_statements<F: Future>(request: F) -> (F::Output, u32) {
    STATEMENTS
        .scope(Cell::new(0), async {
            let output = request.await;
            (output, STATEMENTS.with(Cell::get))
        })
        .await
}

/// What one GraphQL request was and how it ended, for the log line and the metrics.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub operation_type: &'static str,
    pub operation_name: Option<String>,
    pub organization_id: Option<Uuid>,
    /// `OK`, or the first error's code.
    pub outcome: String,
    /// The sanitised document, when traces are exported.
    pub document: Option<String>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation_type: &'static str,
    operation_name: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    organization_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    outcome: &'static str,
}

/// A request waiting for the pool (see [`Metrics::waiting_for_pool`]).
pub struct Waiting(Gauge);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Readings taken when scraped.
pub struct Readings {
    pub pool_max: u32,
    pub pool_open: u32,
    pub pool_idle: u32,
    pub subscribers: usize,
    /// Webhook deliveries due and not yet made, when the database could say.
    pub webhook_backlog: Option<i64>,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<OperationLabels, Histogram>,
    statements: Family<OperationLabels, Histogram>,
    statements_total: AtomicU64,
    pool: Family<StateLabels, Gauge>,
    waiting: Gauge,
    busiest_tenants: Family<TenantLabels, Gauge>,
    subscribers: Gauge,
    subscription_results: Counter,
    webhook_attempts: Family<AttemptLabels, Counter>,
    webhook_backlog: Gauge,
    operation_names: Mutex<HashSet<String>>,
    per_tenant: Mutex<HashMap<Uuid, u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("leadgraph");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests over HTTP by operation type, name and outcome code",
            requests.clone(),
        );
        let duration = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 33 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP",
            duration.clone(),
        );
        let statements = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
        });
        registry.register(
            "graphql_request_statements",
            "SQL statements per GraphQL request",
            statements.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "pool_connections",
            "The shared pool: its size (max), open connections (open), idle ones (idle), \
             in use by requests (in_use)",
            pool.clone(),
        );
        let waiting = Gauge::default();
        registry.register(
            "pool_waiting",
            "GraphQL requests waiting for their organization's turn or for a pooled connection",
            waiting.clone(),
        );
        let busiest_tenants = Family::<TenantLabels, Gauge>::default();
        registry.register(
            "tenant_graphql_requests",
            "GraphQL requests of the ten busiest organizations since the server started",
            busiest_tenants.clone(),
        );
        let subscribers = Gauge::default();
        registry.register(
            "subscriptions",
            "Running leadEvents subscriptions",
            subscribers.clone(),
        );
        let subscription_results = Counter::default();
        registry.register(
            "subscription_results",
            "Results sent to subscribers",
            subscription_results.clone(),
        );
        let webhook_attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, failed)",
            webhook_attempts.clone(),
        );
        let webhook_backlog = Gauge::default();
        registry.register(
            "webhook_backlog",
            "Webhook deliveries due and not yet made, all organizations",
            webhook_backlog.clone(),
        );
        Self {
            registry,
            requests,
            duration,
            statements,
            statements_total: AtomicU64::new(0),
            pool,
            waiting,
            busiest_tenants,
            subscribers,
            subscription_results,
            webhook_attempts,
            webhook_backlog,
            operation_names: Mutex::default(),
            per_tenant: Mutex::default(),
        }
    }

    /// A statement ran (the pool's callback): counted for the process and for the request on
    /// this task, if any.
    pub fn statement(&self) {
        self.statements_total.fetch_add(1, Ordering::Relaxed);
        let _ = STATEMENTS.try_with(|count| count.set(count.get() + 1));
    }

    /// Statements run through the pool since start.
    pub fn statements_total(&self) -> u64 {
        self.statements_total.load(Ordering::Relaxed)
    }

    /// Logs and counts one GraphQL request.
    pub fn request(&self, request_id: &str, facts: &RequestFacts, took: Duration, statements: u32) {
        tracing::info!(
            request_id,
            operation_type = facts.operation_type,
            operation_name = facts.operation_name.as_deref().unwrap_or(""),
            organization_id = %facts.organization_id.map(|id| id.to_string()).unwrap_or_default(),
            duration_ms = took.as_secs_f64() * 1000.0,
            outcome = %facts.outcome,
            statements,
            "graphql request"
        );
        let operation_type = facts.operation_type;
        self.requests
            .get_or_create(&RequestLabels {
                operation_type,
                operation_name: self.operation_name_label(facts.operation_name.as_deref()),
                outcome: facts.outcome.clone(),
            })
            .inc();
        let labels = OperationLabels { operation_type };
        self.duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.statements
            .get_or_create(&labels)
            .observe(f64::from(statements));
        if let Some(organization_id) = facts.organization_id {
            let mut per_tenant = self.per_tenant.lock().expect("tenant counts");
            if per_tenant.len() >= MAX_TRACKED_TENANTS && !per_tenant.contains_key(&organization_id)
            {
                // Forget the quieter half: the busiest stay.
                let mut counts: Vec<u64> = per_tenant.values().copied().collect();
                counts.sort_unstable();
                let median = counts[counts.len() / 2];
                per_tenant.retain(|_, count| *count > median);
            }
            *per_tenant.entry(organization_id).or_default() += 1;
        }
    }

    /// An operation name as a label value: the first names seen, as sent (GraphQL names are
    /// `[_A-Za-z][_0-9A-Za-z]*`), then `other`.
    fn operation_name_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return String::new();
        };
        let mut names = self.operation_names.lock().expect("operation names");
        if names.contains(name) || names.len() < MAX_OPERATION_NAMES && names.insert(name.into()) {
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// Counts a request as waiting for the pool until the guard is dropped.
    pub fn waiting_for_pool(&self) -> Waiting {
        self.waiting.inc();
        Waiting(self.waiting.clone())
    }

    pub fn subscription_result(&self) {
        self.subscription_results.inc();
    }

    pub fn webhook_attempt(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.webhook_attempts
            .get_or_create(&AttemptLabels { outcome })
            .inc();
    }

    /// The exposition, with the readings taken now.
    pub fn encode(&self, readings: Readings) -> String {
        for (state, value) in [
            ("max", readings.pool_max),
            ("open", readings.pool_open),
            ("idle", readings.pool_idle),
            (
                "in_use",
                readings.pool_open.saturating_sub(readings.pool_idle),
            ),
        ] {
            self.pool
                .get_or_create(&StateLabels { state })
                .set(i64::from(value));
        }
        self.subscribers.set(readings.subscribers as i64);
        if let Some(backlog) = readings.webhook_backlog {
            self.webhook_backlog.set(backlog);
        }
        let mut busiest: Vec<(Uuid, u64)> = self
            .per_tenant
            .lock()
            .expect("tenant counts")
            .iter()
            .map(|(id, count)| (*id, *count))
            .collect();
        busiest.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.busiest_tenants.clear();
        for (organization_id, count) in busiest.into_iter().take(TOP_TENANTS) {
            self.busiest_tenants
                .get_or_create(&TenantLabels {
                    organization_id: organization_id.to_string(),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: Option<&str>, organization_id: Option<Uuid>) -> RequestFacts {
        RequestFacts {
            operation_type: "query",
            operation_name: name.map(str::to_owned),
            organization_id,
            outcome: "OK".into(),
            document: None,
        }
    }

    fn reading() -> Readings {
        Readings {
            pool_max: 10,
            pool_open: 3,
            pool_idle: 1,
            subscribers: 4,
            webhook_backlog: Some(7),
        }
    }

    #[tokio::test]
    async fn statements_are_counted_for_the_request_on_their_task() {
        let metrics = Metrics::new();
        let ((), counted) = count_statements(async {
            metrics.statement();
            metrics.statement();
        })
        .await;
        assert_eq!(counted, 2);
        // Outside a request: only the process total.
        metrics.statement();
        assert_eq!(metrics.statements_total(), 3);
    }

    #[test]
    fn each_request_is_one_info_line_with_what_an_operator_needs() {
        #[derive(Clone, Default)]
        struct Lines(std::sync::Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let organization = Uuid::new_v4();
        tracing::subscriber::with_default(subscriber, || {
            Metrics::new().request(
                "req-1",
                &RequestFacts {
                    outcome: "RATE_LIMITED".into(),
                    ..facts(Some("Dashboard"), Some(organization))
                },
                Duration::from_millis(12),
                7,
            );
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        for part in [
            " INFO ",
            "graphql request",
            "request_id=\"req-1\"",
            "operation_type=\"query\"",
            "operation_name=\"Dashboard\"",
            &format!("organization_id={organization}"),
            "duration_ms=12",
            "outcome=RATE_LIMITED",
            "statements=7",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }

    #[test]
    fn operation_names_are_bounded() {
        let metrics = Metrics::new();
        for i in 0..MAX_OPERATION_NAMES {
            assert_eq!(
                metrics.operation_name_label(Some(&format!("Op{i}"))),
                format!("Op{i}")
            );
        }
        assert_eq!(metrics.operation_name_label(Some("OneTooMany")), "other");
        assert_eq!(metrics.operation_name_label(Some("Op0")), "Op0");
    }

    #[test]
    fn only_the_busiest_tenants_are_shown() {
        let metrics = Metrics::new();
        let tenants: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
        // Under a subscriber that wants the log line: registering its callsite with none
        // could, racing the log-line test's subscriber, cache it as of interest to nobody.
        let sink = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(sink, || {
            for (i, tenant) in tenants.iter().enumerate() {
                for _ in 0..=i {
                    metrics.request("r", &facts(Some("Dash"), Some(*tenant)), Duration::ZERO, 1);
                }
            }
        });
        let text = metrics.encode(reading());
        assert_eq!(
            text.matches("leadgraph_tenant_graphql_requests{").count(),
            10
        );
        assert!(text.contains(&format!("organization_id=\"{}\"}} 12", tenants[11])));
        assert!(!text.contains(&tenants[0].to_string()));
        assert!(text.contains("leadgraph_pool_connections{state=\"in_use\"} 2"));
        assert!(text.contains("leadgraph_subscriptions 4"));
        assert!(text.contains("leadgraph_webhook_backlog 7"));
        let waiting = metrics.waiting_for_pool();
        assert!(
            metrics
                .encode(reading())
                .contains("leadgraph_pool_waiting 1")
        );
        drop(waiting);
        assert!(
            metrics
                .encode(reading())
                .contains("leadgraph_pool_waiting 0")
        );
        assert!(text.contains(
            "leadgraph_graphql_requests_total{operation_type=\"query\",operation_name=\"Dash\",outcome=\"OK\"} 78"
        ));
    }
}
