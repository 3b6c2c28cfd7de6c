//! What every request can reach: the pool, the signing keys and the configured limits.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::{auth::JwtKeys, config::Limits};

#[derive(Clone)]
pub struct AppState {
    /// The app role's pool. Requests use it through their tenant transaction; only the
    /// pre-authentication functions and health checks use it directly.
    pub db: DatabaseConnection,
    pub jwt: JwtKeys,
    pub refresh_token_ttl: Duration,
    pub limits: Limits,
}
