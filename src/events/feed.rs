//! The instance's event feed. One `LISTEN` connection per server process; a notification
//! (tenant and new head) makes the feed read that tenant's new events once, in one short
//! tenant transaction, and hand the batch to each of the tenant's subscribers. Subscribers
//! get a bounded buffer: one that falls a whole buffer behind is dropped from the feed (its
//! subscription then ends, telling the client to resume), so a slow reader never holds up the
//! others nor makes the server's memory grow. The same connection tells the instance's
//! confirmed principals of changes that end them (`auth::verified_principals`).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::DatabaseConnection;
use sqlx::{Executor as _, postgres::PgListener};
use tokio::sync::{Notify, mpsc, watch};
use uuid::Uuid;

use super::{
    credentials::CredentialChecks,
    store::{self, EventBatch},
};
use crate::{
    auth::{VerifiedPrincipals, verified_principals as principals},
    config::EventSettings,
    error::ApiResult,
};

/// The channel the database notifies on (see `notify_events`).
const CHANNEL: &str = "events";

/// What the `LISTEN` connection calls itself (`pg_stat_activity.application_name`).
pub const LISTENER_NAME: &str = "leadgraph-listener";

/// How often the `LISTEN` connection is asked a trivial query, and how long its answer may take
/// before the connection counts as lost. A connection that only receives never learns that it
/// stopped answering without closing (a network dropping its packets, a NAT or load balancer
/// forgetting an idle flow): notifications would stop silently, events reach subscribers only at
/// the next sweep, and kept principals only at their time's end. Asking also keeps the flow
/// from looking idle.
const LISTENER_HEARTBEAT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct EventFeed(Arc<Feed>);

struct Feed {
    db: DatabaseConnection,
    settings: EventSettings,
    statement_timeout: Duration,
    tenants: Mutex<HashMap<Uuid, TenantFeed>>,
    next_id: AtomicU64,
    /// Signalled on every notification or sweep, for other readers of the log (webhooks).
    arrivals: Arc<Notify>,
    credentials: CredentialChecks,
    /// One per tenant that subscribers are joining, so the first join reads the head once.
    joining: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    /// Kept only while this feed listens (see `listen`).
    principals: Arc<VerifiedPrincipals>,
}

struct TenantFeed {
    /// The last position handed to subscribers.
    head: i64,
    subscribers: HashMap<u64, Subscriber>,
    /// A read is under way; `again` asks it to look once more when done.
    reading: bool,
    again: bool,
}

struct Subscriber {
    batches: mpsc::Sender<Arc<EventBatch>>,
    overflowed: Arc<AtomicBool>,
}

/// A subscriber's end of the feed; leaving the feed when dropped.
pub struct FeedSubscription {
    feed: EventFeed,
    organization_id: Uuid,
    id: u64,
    batches: mpsc::Receiver<Arc<EventBatch>>,
    overflowed: Arc<AtomicBool>,
}

impl FeedSubscription {
    /// The next batch, or `None` once the feed has let this subscriber go (see
    /// [`Self::overflowed`]) or is shutting down.
    pub async fn recv(&mut self) -> Option<Arc<EventBatch>> {
        self.batches.recv().await
    }

    /// True when the feed let go of this subscriber because its buffer was full.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::SeqCst)
    }
}

impl Drop for FeedSubscription {
    fn drop(&mut self) {
        self.feed.leave(self.organization_id, self.id);
    }
}

impl EventFeed {
    /// `credential_checks`: how many credential checks may use the pool at once.
    pub fn new(
        db: DatabaseConnection,
        settings: EventSettings,
        statement_timeout: Duration,
        credential_checks: usize,
        principals: Arc<VerifiedPrincipals>,
    ) -> Self {
        Self(Arc::new(Feed {
            db,
            settings,
            statement_timeout,
            tenants: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            arrivals: Arc::new(Notify::new()),
            credentials: CredentialChecks::new(credential_checks),
            joining: Mutex::default(),
            principals,
        }))
    }

    /// Notified whenever new events may have arrived (a notification, a sweep, a reconnect).
    pub fn arrivals(&self) -> Arc<Notify> {
        self.0.arrivals.clone()
    }

    /// Subscribers' periodic credential checks, shared per credential.
    pub fn credentials(&self) -> &CredentialChecks {
        &self.0.credentials
    }

    pub fn settings(&self) -> &EventSettings {
        &self.0.settings
    }

    /// Joins the tenant's feed. `seen` is the last position the subscriber already has; a
    /// tenant new to the feed starts there (the subscriber fills any gap from the log).
    pub fn subscribe(&self, organization_id: Uuid, seen: i64) -> FeedSubscription {
        let (sender, batches) = mpsc::channel(self.0.settings.subscriber_buffer);
        let overflowed = Arc::new(AtomicBool::new(false));
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        self.tenants()
            .entry(organization_id)
            .or_insert_with(|| TenantFeed {
                head: seen,
                subscribers: HashMap::new(),
                reading: false,
                again: false,
            })
            .subscribers
            .insert(
                id,
                Subscriber {
                    batches: sender,
                    overflowed: overflowed.clone(),
                },
            );
        // Whatever was committed before the tenant's feed existed was not announced to it.
        self.wake(organization_id);
        FeedSubscription {
            feed: self.clone(),
            organization_id,
            id,
            batches,
            overflowed,
        }
    }

    /// Subscribers this instance serves, for tests and metrics.
    /// Joins the tenant's feed from now on: at the position this instance's feed has handed
    /// out, when it follows the tenant already (no statement: the log is dense, so anything
    /// the subscriber then misses shows as a gap and is read), else at the head `read_head`
    /// reads. Concurrent first subscribers of a tenant (a reconnect storm) wait for one read.
    pub async fn join_live(
        &self,
        organization_id: Uuid,
        read_head: impl Future<Output = ApiResult<i64>>,
    ) -> ApiResult<(i64, FeedSubscription)> {
        if let Some(head) = self.head(organization_id) {
            return Ok((head, self.subscribe(organization_id, head)));
        }
        let gate = {
            let mut gates = self.0.joining.lock().expect("joining gates");
            if gates.len() > 1024 {
                gates.retain(|_, gate| Arc::strong_count(gate) > 1);
            }
            gates.entry(organization_id).or_default().clone()
        };
        let _first = gate.lock().await;
        let head = match self.head(organization_id) {
            Some(head) => head,
            None => read_head.await?,
        };
        Ok((head, self.subscribe(organization_id, head)))
    }

    fn head(&self, organization_id: Uuid) -> Option<i64> {
        self.tenants().get(&organization_id).map(|t| t.head)
    }

    pub fn subscriber_count(&self) -> usize {
        self.tenants().values().map(|t| t.subscribers.len()).sum()
    }

    fn tenants(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, TenantFeed>> {
        self.0.tenants.lock().expect("feed lock")
    }

    fn leave(&self, organization_id: Uuid, id: u64) {
        let mut tenants = self.tenants();
        if let Some(tenant) = tenants.get_mut(&organization_id) {
            tenant.subscribers.remove(&id);
            if tenant.subscribers.is_empty() && !tenant.reading {
                tenants.remove(&organization_id);
            }
        }
    }

    /// Makes the tenant's feed read its new events, unless nobody here listens to it.
    pub fn wake(&self, organization_id: Uuid) {
        let mut tenants = self.tenants();
        let Some(tenant) = tenants.get_mut(&organization_id) else {
            return;
        };
        if tenant.reading {
            tenant.again = true;
            return;
        }
        tenant.reading = true;
        tokio::spawn(self.clone().read(organization_id));
    }

    fn wake_all(&self) {
        self.0.arrivals.notify_one();
        let tenants: Vec<Uuid> = self.tenants().keys().copied().collect();
        for organization_id in tenants {
            self.wake(organization_id);
        }
    }

    /// Reads and hands out batches until the tenant's log has nothing newer.
    async fn read(self, organization_id: Uuid) {
        loop {
            let Some(head) = self.tenants().get(&organization_id).map(|t| t.head) else {
                return;
            };
            let batch = store::read_batch(
                &(&self.0.db).into(),
                organization_id,
                head,
                self.0.settings.batch_size,
                self.0.statement_timeout,
            )
            .await;
            let mut tenants = self.tenants();
            let Some(tenant) = tenants.get_mut(&organization_id) else {
                return;
            };
            let full = match batch {
                Ok(batch) => {
                    let full = batch.events.len() as u64 == self.0.settings.batch_size;
                    if let Some(last) = batch.last_position() {
                        tenant.head = last;
                        tenant.hand_out(Arc::new(batch));
                    }
                    full
                }
                Err(err) => {
                    tracing::error!(%organization_id, error = ?err, "reading events failed");
                    // Retry later rather than spin; the sweep wakes the tenant again.
                    tenant.reading = false;
                    return;
                }
            };
            if full || std::mem::take(&mut tenant.again) {
                continue;
            }
            tenant.reading = false;
            if tenant.subscribers.is_empty() {
                tenants.remove(&organization_id);
            }
            return;
        }
    }

    /// Listens for notifications until `stop` turns true; every `sweep_interval` (and after a
    /// lost connection) wakes every tenant with subscribers, to catch events no notification
    /// announced.
    pub async fn listen(self, stop: watch::Receiver<bool>) {
        // However the listening ends (a panic too), what it vouched for is not used after it.
        let _stop_keeping = StopKeeping(&self.0.principals);
        self.listen_until(stop).await;
        // Ends every subscription this instance serves; clients resume elsewhere.
        self.tenants().clear();
    }

    async fn listen_until(&self, mut stop: watch::Receiver<bool>) {
        let mut sweep = tokio::time::interval(self.0.settings.sweep_interval);
        let mut heartbeat = tokio::time::interval(LISTENER_HEARTBEAT);
        let mut listener: Option<PgListener> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let Some(active) = listener.as_mut() else {
                match self.connect().await {
                    Ok(connected) => {
                        listener = Some(connected);
                        self.0.principals.listening();
                        self.wake_all();
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "cannot LISTEN for events; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            changed = stop.changed() => if changed.is_err() { return },
                        }
                    }
                }
                continue;
            };
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { return },
                _ = sweep.tick() => self.wake_all(),
                _ = heartbeat.tick() => {
                    let answered =
                        tokio::time::timeout(LISTENER_HEARTBEAT, active.execute("SELECT 1")).await;
                    if !matches!(answered, Ok(Ok(_))) {
                        tracing::warn!("event listener stopped answering; reconnecting");
                        self.0.principals.not_listening();
                        listener = None;
                    }
                }
                notification = active.try_recv() => match notification {
                    Ok(Some(notification)) if notification.channel() == principals::CHANNEL => {
                        self.0.principals.on_notification(notification.payload())
                    }
                    Ok(Some(notification)) => self.on_notification(notification.payload()),
                    // The connection was lost: notifications may have been missed meanwhile.
                    // Connected again above, which wakes every tenant.
                    Ok(None) => {
                        self.0.principals.not_listening();
                        listener = None;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event listener failed; reconnecting");
                        self.0.principals.not_listening();
                        listener = None;
                    }
                },
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        // A connection of its own, outside the pool requests share: LISTEN holds it for good.
        let options = self.0.db.get_postgres_connection_pool().connect_options();
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with((*options).clone().application_name(LISTENER_NAME));
        let mut listener = PgListener::connect_with(&own).await?;
        // A lost connection is reported at once (`Ok(None)`), not after reconnecting, which
        // may wait long on a database that is down: until then nothing may be kept.
        listener.eager_reconnect(false);
        listener.listen_all([CHANNEL, principals::CHANNEL]).await?;
        Ok(listener)
    }

    fn on_notification(&self, payload: &str) {
        self.0.arrivals.notify_one();
        let parsed = payload
            .split_once(':')
            .and_then(|(org, head)| Some((org.parse::<Uuid>().ok()?, head.parse::<i64>().ok()?)));
        match parsed {
            Some((organization_id, head)) => {
                let behind = self
                    .tenants()
                    .get(&organization_id)
                    .is_some_and(|t| t.head < head);
                if behind {
                    self.wake(organization_id);
                }
            }
            None => tracing::warn!(payload, "unexpected event notification"),
        }
    }
}

/// Tells the principals that nobody listens any more, when dropped.
struct StopKeeping<'a>(&'a VerifiedPrincipals);

impl Drop for StopKeeping<'_> {
    fn drop(&mut self) {
        self.0.not_listening();
    }
}

impl TenantFeed {
    /// Gives the batch to every subscriber with room for it; one without room is let go.
    fn hand_out(&mut self, batch: Arc<EventBatch>) {
        self.subscribers.retain(
            |_, subscriber| match subscriber.batches.try_send(batch.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    subscriber.overflowed.store(true, Ordering::SeqCst);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            },
        );
    }
}
