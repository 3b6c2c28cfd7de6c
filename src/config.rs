//! Typed configuration, read once from the environment (and an optional `.env`).
//! Every variable is documented in `.env.example`; a missing or invalid one stops start-up
//! with an error naming it.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

/// A value that must never be printed: `Debug` shows `[redacted]`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Limits on what one GraphQL request may ask for. Each breach is answered with an error code.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_directives: usize,
    pub max_body_bytes: usize,
    /// Subscriptions one WebSocket connection may run at once.
    pub max_subscriptions_per_connection: usize,
    /// WebSocket connections that may be waiting to initialise at once (server-wide).
    pub max_pending_ws_inits: usize,
    /// How often legacy graphql-ws connections are sent a `ka` keep-alive.
    pub ws_keep_alive: Duration,
    /// How long writing to a WebSocket client that does not read may take before the
    /// connection is closed (the client resumes from its last cursor).
    pub ws_send_timeout: Duration,
    /// Wall-clock budget of a request; also its `statement_timeout`.
    pub request_timeout: Duration,
    /// The share of the pool (percent) one organization's requests may hold at once.
    pub tenant_pool_share_percent: u32,
    /// How long a request past its organization's share waits before RATE_LIMITED.
    pub tenant_queue_wait: Duration,
    /// Lets callers without credentials read the schema (and get "did you mean"
    /// suggestions): for development only.
    pub anonymous_introspection: bool,
    /// Requests one signed-in user may make per minute (API keys have their own limit).
    pub user_rate_limit_per_minute: u64,
    /// How often the replicas pool their request counts; zero: each limits on its own.
    pub rate_limit_sync: Duration,
    pub sign_in: SignInLimits,
    /// How often API keys' counted uses are written to them.
    pub api_key_usage_flush: Duration,
    /// How long a verified API key is kept in memory (zero: not kept).
    pub api_key_cache: Duration,
    /// How long a confirmed principal is kept in memory (zero: every request checks).
    pub principal_cache: Duration,
}

/// Sign-in throttling, counted in the database so it holds across replicas.
#[derive(Clone, Debug)]
pub struct SignInLimits {
    /// Consecutive failures an account may have before it must wait (1 s, doubling).
    pub free_failures: i32,
    /// The longest an account waits.
    pub max_backoff: Duration,
    /// Failures one client address may have per window before it waits for the window's end.
    pub address_failures_per_window: i32,
    pub address_window: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            free_failures: 5,
            max_backoff: Duration::from_secs(900),
            address_failures_per_window: 100,
            address_window: Duration::from_secs(900),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 20_000,
            max_aliases: 30,
            max_directives: 20,
            max_body_bytes: 256 * 1024,
            max_subscriptions_per_connection: 50,
            max_pending_ws_inits: 16_384,
            ws_keep_alive: Duration::from_secs(15),
            ws_send_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            tenant_pool_share_percent: 50,
            tenant_queue_wait: Duration::from_secs(1),
            anonymous_introspection: false,
            user_rate_limit_per_minute: 1_200,
            rate_limit_sync: Duration::from_secs(1),
            sign_in: SignInLimits::default(),
            api_key_usage_flush: Duration::from_secs(5),
            api_key_cache: Duration::from_secs(5),
            principal_cache: Duration::from_secs(5),
        }
    }
}

/// How events are kept and delivered.
#[derive(Clone, Debug)]
pub struct EventSettings {
    /// Events older than this are removed; a cursor pointing before them gets CURSOR_EXPIRED.
    pub retention: Duration,
    /// Events read per statement (by the feed and by catching-up subscribers).
    pub batch_size: u64,
    /// Batches a subscriber may have waiting; one more and it is closed with RESUME_REQUIRED.
    pub subscriber_buffer: usize,
    /// How often a subscription re-checks that its user is active and its key not revoked.
    pub revalidate_interval: Duration,
    /// How often the feed looks for events no notification announced (written by another
    /// path than the server, or while its listening connection was down).
    pub sweep_interval: Duration,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(30 * 86_400),
            batch_size: 200,
            subscriber_buffer: 32,
            revalidate_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(10),
        }
    }
}

/// How webhooks are delivered.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// One delivery attempt's time budget.
    pub timeout: Duration,
    /// The first retry's delay; each later one doubles (with jitter), up to an hour.
    pub retry_base: Duration,
    /// A delivery still failing this long after its event is given up (status FAILED).
    pub retry_horizon: Duration,
    /// Consecutive failures after which an endpoint is marked FAILING.
    pub failing_after: i32,
    /// Lets endpoints point at loopback and private addresses (tests, on-premises receivers).
    pub allow_private_addresses: bool,
    /// How often the worker looks for due retries (new events wake it at once).
    pub poll_interval: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            retry_horizon: Duration::from_secs(3 * 86_400),
            failing_after: 5,
            allow_private_addresses: false,
            poll_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The app role's connection (NOSUPERUSER, NOBYPASSRLS): what `serve` and `seed-demo` use.
    pub database_url: Secret,
    /// The owner role's connection: what `migrate` uses.
    pub migration_database_url: Option<Secret>,
    /// A superuser connection, used only by `db-init` to create roles and the database.
    pub admin_database_url: Option<Secret>,
    pub pool: crate::db::PoolSettings,
    pub bind_addr: SocketAddr,
    /// Signs access tokens (HS256); `serve` requires it, at least 32 characters.
    pub jwt_secret: Option<Secret>,
    /// Bearer token that `GET /metrics` requires; unset, metrics are not served.
    pub metrics_token: Option<Secret>,
    /// OpenTelemetry trace export; off unless an OTLP endpoint is set.
    pub traces: Option<crate::traces::TraceSettings>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub limits: Limits,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies, load balancers).
    pub trusted_proxies: Vec<ipnetwork::IpNetwork>,
    /// Browser origins other than this server's own that may call the API.
    pub cors_allowed_origins: crate::cors::AllowedOrigins,
    pub events: EventSettings,
    pub webhooks: WebhookSettings,
    pub shutdown_timeout: Duration,
    pub log_json: bool,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can supply variables without
    /// touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let defaults = Limits::default();
        let event_defaults = EventSettings::default();
        let webhook_defaults = WebhookSettings::default();
        let jwt_secret = env.optional("JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|secret| secret.len() < 32) {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: "must be at least 32 characters".into(),
            });
        }
        let access_secs: u64 = env.parse_or("ACCESS_TOKEN_TTL_SECONDS", 900)?;
        if !(1..=900).contains(&access_secs) {
            return Err(ConfigError::Invalid {
                name: "ACCESS_TOKEN_TTL_SECONDS",
                reason: "must be between 1 and 900 (15 minutes)".into(),
            });
        }
        let bind_addr = env.parse_or("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?;
        Ok(Self {
            database_url: Secret::new(env.required("DATABASE_URL")?),
            migration_database_url: env.optional("MIGRATION_DATABASE_URL").map(Secret::new),
            admin_database_url: env.optional("ADMIN_DATABASE_URL").map(Secret::new),
            pool: crate::db::PoolSettings {
                max_connections: env.positive_or("DB_POOL_SIZE", 10)? as u32,
                acquire_timeout: Duration::from_millis(
                    env.positive_or("DB_ACQUIRE_TIMEOUT_MS", 2_000)?,
                ),
                idle_in_transaction_timeout: Duration::from_millis(
                    env.positive_or("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 15_000)?,
                ),
                // The server opens its pool with the request timeout (`server::prepare`).
                statement_timeout: None,
            },
            bind_addr,
            jwt_secret: jwt_secret.map(Secret::new),
            metrics_token: match env.optional("METRICS_TOKEN") {
                Some(token) if token.len() < 16 => {
                    return Err(ConfigError::Invalid {
                        name: "METRICS_TOKEN",
                        reason: "must be at least 16 characters".into(),
                    });
                }
                token => token.map(Secret::new),
            },
            access_token_ttl: Duration::from_secs(access_secs),
            refresh_token_ttl: Duration::from_secs(
                86_400 * env.parse_or::<u64>("REFRESH_TOKEN_TTL_DAYS", 30)?,
            ),
            limits: Limits {
                max_depth: env.parse_or("LIMIT_QUERY_DEPTH", defaults.max_depth)?,
                max_complexity: env.parse_or("LIMIT_QUERY_COMPLEXITY", defaults.max_complexity)?,
                max_aliases: env.parse_or("LIMIT_QUERY_ALIASES", defaults.max_aliases)?,
                max_directives: env.parse_or("LIMIT_QUERY_DIRECTIVES", defaults.max_directives)?,
                max_body_bytes: env.parse_or("LIMIT_BODY_BYTES", defaults.max_body_bytes)?,
                max_subscriptions_per_connection: env.parse_or(
                    "LIMIT_SUBSCRIPTIONS_PER_CONNECTION",
                    defaults.max_subscriptions_per_connection,
                )?,
                max_pending_ws_inits: env.positive_or(
                    "LIMIT_WS_PENDING_INIT",
                    defaults.max_pending_ws_inits as u64,
                )? as usize,
                ws_keep_alive: env
                    .positive_millis_or("WS_KEEP_ALIVE_MS", defaults.ws_keep_alive)?,
                ws_send_timeout: env
                    .positive_millis_or("WS_SEND_TIMEOUT_MS", defaults.ws_send_timeout)?,
                request_timeout: env.millis_or("REQUEST_TIMEOUT_MS", defaults.request_timeout)?,
                tenant_pool_share_percent: match env.positive_or(
                    "TENANT_POOL_SHARE_PERCENT",
                    defaults.tenant_pool_share_percent.into(),
                )? {
                    percent @ 1..=100 => percent as u32,
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: "TENANT_POOL_SHARE_PERCENT",
                            reason: "must be between 1 and 100".into(),
                        });
                    }
                },
                tenant_queue_wait: env
                    .millis_or("TENANT_QUEUE_WAIT_MS", defaults.tenant_queue_wait)?,
                anonymous_introspection: env
                    .parse_or("ANONYMOUS_INTROSPECTION", defaults.anonymous_introspection)?,
                user_rate_limit_per_minute: env.positive_or(
                    "USER_RATE_LIMIT_PER_MINUTE",
                    defaults.user_rate_limit_per_minute,
                )?,
                rate_limit_sync: env.millis_or("RATE_LIMIT_SYNC_MS", defaults.rate_limit_sync)?,
                sign_in: SignInLimits {
                    free_failures: env
                        .positive_or("LOGIN_FREE_FAILURES", defaults.sign_in.free_failures as u64)?
                        as i32,
                    max_backoff: Duration::from_secs(env.positive_or(
                        "LOGIN_MAX_BACKOFF_SECONDS",
                        defaults.sign_in.max_backoff.as_secs(),
                    )?),
                    address_failures_per_window: env.positive_or(
                        "LOGIN_ADDRESS_FAILURES_PER_WINDOW",
                        defaults.sign_in.address_failures_per_window as u64,
                    )? as i32,
                    address_window: Duration::from_secs(env.positive_or(
                        "LOGIN_ADDRESS_WINDOW_SECONDS",
                        defaults.sign_in.address_window.as_secs(),
                    )?),
                },
                api_key_usage_flush: env
                    .positive_millis_or("API_KEY_USAGE_FLUSH_MS", defaults.api_key_usage_flush)?,
                api_key_cache: env.millis_or("API_KEY_CACHE_MS", defaults.api_key_cache)?,
                principal_cache: env.millis_or("PRINCIPAL_CACHE_MS", defaults.principal_cache)?,
            },
            trusted_proxies: match env.optional("TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(list) => crate::admission::ClientIp::parse_list(&list).map_err(|reason| {
                    ConfigError::Invalid {
                        name: "TRUSTED_PROXIES",
                        reason,
                    }
                })?,
            },
            traces: traces_from(&env)?,
            cors_allowed_origins: match env.optional("CORS_ALLOWED_ORIGINS") {
                None => crate::cors::AllowedOrigins::of_server(bind_addr),
                Some(list) => crate::cors::AllowedOrigins::parse(&list).map_err(|reason| {
                    ConfigError::Invalid {
                        name: "CORS_ALLOWED_ORIGINS",
                        reason,
                    }
                })?,
            },
            events: EventSettings {
                retention: Duration::from_secs(
                    86_400 * env.positive_or("EVENT_RETENTION_DAYS", 30)?,
                ),
                batch_size: env.positive_or("EVENT_BATCH_SIZE", event_defaults.batch_size)?,
                subscriber_buffer: env.positive_or(
                    "SUBSCRIPTION_BUFFER_BATCHES",
                    event_defaults.subscriber_buffer as u64,
                )? as usize,
                revalidate_interval: env.positive_millis_or(
                    "SUBSCRIPTION_REVALIDATE_MS",
                    event_defaults.revalidate_interval,
                )?,
                sweep_interval: env
                    .positive_millis_or("EVENT_SWEEP_MS", event_defaults.sweep_interval)?,
            },
            webhooks: WebhookSettings {
                timeout: env.positive_millis_or("WEBHOOK_TIMEOUT_MS", webhook_defaults.timeout)?,
                retry_base: env
                    .positive_millis_or("WEBHOOK_RETRY_BASE_MS", webhook_defaults.retry_base)?,
                retry_horizon: Duration::from_secs(
                    3600 * env.positive_or("WEBHOOK_RETRY_HORIZON_HOURS", 72)?,
                ),
                failing_after: env.positive_or("WEBHOOK_FAILING_AFTER", 5)? as i32,
                allow_private_addresses: env.parse_or("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", false)?,
                poll_interval: env
                    .positive_millis_or("WEBHOOK_POLL_MS", webhook_defaults.poll_interval)?,
            },
            shutdown_timeout: Duration::from_secs(env.parse_or("SHUTDOWN_TIMEOUT_SECONDS", 30)?),
            log_json: match env.optional("LOG_FORMAT").as_deref() {
                None | Some("pretty") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "LOG_FORMAT",
                        reason: format!("{other:?} is neither \"pretty\" nor \"json\""),
                    });
                }
            },
        })
    }

    pub fn require_migration_url(&self) -> Result<&Secret, ConfigError> {
        self.migration_database_url
            .as_ref()
            .ok_or(ConfigError::Missing("MIGRATION_DATABASE_URL"))
    }

    pub fn require_jwt_secret(&self) -> Result<&Secret, ConfigError> {
        self.jwt_secret
            .as_ref()
            .ok_or(ConfigError::Missing("JWT_SECRET"))
    }

    pub fn require_admin_url(&self) -> Result<&Secret, ConfigError> {
        self.admin_database_url
            .as_ref()
            .ok_or(ConfigError::Missing("ADMIN_DATABASE_URL"))
    }
}

/// The standard OpenTelemetry variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (a full URL) or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, `/v1/traces` added), `OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`.
fn traces_from(env: &Env) -> Result<Option<crate::traces::TraceSettings>, ConfigError> {
    let endpoint = match (
        env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        env.optional("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(full), _) => full,
        (None, Some(base)) => format!("{}/v1/traces", base.trim_end_matches('/')),
        (None, None) => return Ok(None),
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(ConfigError::Invalid {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            reason: "must be an http(s) URL (OTLP over HTTP)".into(),
        });
    }
    let headers = match env.optional("OTEL_EXPORTER_OTLP_HEADERS") {
        None => Vec::new(),
        Some(list) => {
            crate::traces::parse_headers(&list).map_err(|reason| ConfigError::Invalid {
                name: "OTEL_EXPORTER_OTLP_HEADERS",
                reason,
            })?
        }
    };
    Ok(Some(crate::traces::TraceSettings {
        endpoint,
        headers,
        service_name: env
            .optional("OTEL_SERVICE_NAME")
            .unwrap_or_else(|| "leadgraph".into()),
        flush_every: Duration::from_millis(env.positive_or("OTEL_BSP_SCHEDULE_DELAY", 5_000)?),
    }))
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// A count or duration that must be greater than zero.
    fn positive_or(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.parse_or(name, default)? {
            0 => Err(ConfigError::Invalid {
                name,
                reason: "must be greater than 0".into(),
            }),
            value => Ok(value),
        }
    }

    /// A duration in milliseconds (`<NAME>_MS`), greater than zero.
    fn positive_millis_or(
        &self,
        name: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let millis = self.positive_or(name, default.as_millis() as u64)?;
        Ok(Duration::from_millis(millis))
    }

    /// A duration in milliseconds (`<NAME>_MS`); 0 allowed where it means "off".
    fn millis_or(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        let millis = self.parse_or(name, default.as_millis() as u64)?;
        Ok(Duration::from_millis(millis))
    }

    fn parse_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const SECRET: (&str, &str) = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");

    #[test]
    fn missing_database_url_is_named() {
        let err = Config::from_lookup(lookup(&[SECRET])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable DATABASE_URL is required but not set"
        );
    }

    #[test]
    fn jwt_secret_is_required_only_when_asked_for() {
        let config = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://x")])).unwrap();
        let err = config.require_jwt_secret().unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable JWT_SECRET is required but not set"
        );
    }

    #[test]
    fn missing_database_url_message_is_exact() {
        let err = Config::from_lookup(lookup(&[SECRET])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable DATABASE_URL is required but not set"
        );
    }

    #[test]
    fn invalid_number_is_named() {
        let err = Config::from_lookup(lookup(&[
            SECRET,
            ("DATABASE_URL", "postgres://x"),
            ("DB_POOL_SIZE", "many"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable DB_POOL_SIZE is invalid")
        );
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let err = Config::from_lookup(lookup(&[("JWT_SECRET", "short")])).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"));
    }

    #[test]
    fn secrets_do_not_print() {
        let config =
            Config::from_lookup(lookup(&[SECRET, ("DATABASE_URL", "postgres://u:pw@h/db")]))
                .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("pw@h") && !printed.contains("0123456789abcdef"));
    }
}
