//! What every request can reach: the pool, the signing keys, the configured limits and the
//! event feed.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use crate::{
    admission::{ClientIp, RateLimits, RateSync, TenantShares},
    auth::JwtKeys,
    config::{Limits, Secret, WebhookSettings},
    cors::AllowedOrigins,
    events::{EventFeed, Retention},
    metrics::Metrics,
    tenancy::TenantPool,
    traces::Tracer,
    webhooks::WebhookWorker,
};

#[derive(Clone)]
pub struct AppState {
    /// The app role's pool. Requests use it through their tenant transaction; only the
    /// pre-authentication functions and health checks use it directly.
    pub db: DatabaseConnection,
    /// The same pool, as tenant transactions take it: their statements counted and traced.
    pub tenants: TenantPool,
    pub jwt: JwtKeys,
    pub refresh_token_ttl: Duration,
    pub limits: Limits,
    /// Each organization's share of the pool.
    pub shares: Arc<TenantShares>,
    /// Request rates per API key and per user.
    pub rates: Arc<RateLimits>,
    /// API keys' uses, counted here and written every few seconds.
    pub key_usage: Arc<crate::auth::KeyUsage>,
    pub verified_keys: Arc<crate::auth::VerifiedKeys>,
    /// Principals confirmed lately (forgotten on every change the database announces).
    pub principals: Arc<crate::auth::VerifiedPrincipals>,
    /// Who the client is, behind trusted proxies.
    pub client_ip: ClientIp,
    /// Browser origins allowed to call the API (HTTP and WebSocket).
    pub cors: AllowedOrigins,
    /// Counters and histograms for `/metrics`, and the token that reads them.
    pub metrics: Arc<Metrics>,
    pub metrics_token: Option<Secret>,
    /// Records request and statement spans when trace export is on.
    pub tracer: Option<Tracer>,
    /// Room for WebSocket connections that have not initialised yet.
    pub pending_ws_inits: Arc<tokio::sync::Semaphore>,
    /// This instance's event feed (one LISTEN connection, fan-out to subscribers).
    pub events: EventFeed,
    /// Background jobs `serve` runs alongside requests.
    pub retention: Retention,
    pub webhook_worker: WebhookWorker,
    pub scoring_worker: crate::scoring::jobs::ScoringWorker,
    /// Shares `rates` with the other replicas (off when `RATE_LIMIT_SYNC_MS` is 0).
    pub rate_sync: Option<RateSync>,
    pub webhooks: WebhookSettings,
}

impl AppState {
    /// What verifying an API key consults and records: the keys verified lately, and uses.
    pub fn key_credentials(&self) -> (&crate::auth::VerifiedKeys, &crate::auth::KeyUsage) {
        (&self.verified_keys, &self.key_usage)
    }
}
