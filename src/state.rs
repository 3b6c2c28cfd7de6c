//! What every request can reach: the pool, the signing keys, the configured limits and the
//! event feed.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::{
    auth::JwtKeys,
    config::{Limits, WebhookSettings},
    events::{EventFeed, Retention},
    webhooks::WebhookWorker,
};

#[derive(Clone)]
pub struct AppState {
    /// The app role's pool. Requests use it through their tenant transaction; only the
    /// pre-authentication functions and health checks use it directly.
    pub db: DatabaseConnection,
    pub jwt: JwtKeys,
    pub refresh_token_ttl: Duration,
    pub limits: Limits,
    /// This instance's lead event feed (one LISTEN connection, fan-out to subscribers).
    pub events: EventFeed,
    /// Background jobs `serve` runs alongside requests.
    pub retention: Retention,
    pub webhook_worker: WebhookWorker,
    pub webhooks: WebhookSettings,
}
