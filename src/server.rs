//! The HTTP server: routes, middleware (request ids, tracing, body limit, panics), health
//! checks, the start-up self-check, and graceful shutdown.

use std::{
    future::Future,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{Request, StatusCode},
    response::IntoResponse,
    routing::get,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    admission::{ClientIp, RateLimits, RateSync, TenantShares},
    auth::JwtKeys,
    config::{Config, ConfigError},
    db,
    events::{EventFeed, Retention},
    graphiql,
    graphql::{
        build_schemas,
        http::{HttpState, graphql_get, graphql_post},
        ws::graphql_ws,
    },
    metrics::{self, Metrics, Readings, RequestFacts},
    state::AppState,
    tenancy::{
        SelfCheckError, StatementObserver, TenantConnection, TenantPool, TenantTx, self_check,
    },
    traces::Tracer,
    webhooks::WebhookWorker,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("DATABASE_URL: {0}")]
    Connect(db::ConnectError),
    #[error(transparent)]
    NotMigrated(#[from] db::NotMigrated),
    #[error(transparent)]
    SelfCheck(#[from] SelfCheckError),
}

/// Connects as the app role and runs the self-check: nothing is served when it fails.
pub async fn prepare(config: &Config) -> Result<AppState, StartupError> {
    let jwt = JwtKeys::new(config.require_jwt_secret()?, config.access_token_ttl);
    // Every connection starts with the request timeout as its statement timeout, so a
    // request's transaction does not set it (one statement less per request); work that needs
    // another sets its own.
    let pool = db::PoolSettings {
        statement_timeout: Some(config.limits.request_timeout),
        ..config.pool.clone()
    };
    let mut db = db::connect_or_explain(&config.database_url, &pool)
        .await
        .map_err(StartupError::Connect)?;
    db::require_migrated(&db).await?;
    self_check(&db).await?;
    let metrics = Arc::new(Metrics::new());
    let sync_interval = config.limits.rate_limit_sync;
    let user_per_minute = config.limits.user_rate_limit_per_minute;
    let (rates, rate_sync) = if sync_interval.is_zero() {
        (Arc::new(RateLimits::new(user_per_minute)), None)
    } else {
        let rates = Arc::new(RateLimits::shared(user_per_minute, sync_interval));
        // Its own connection: the shared pool never waits on the sync.
        let sync_db = db::connect_or_explain(&config.database_url, &db::PoolSettings::with_size(1))
            .await
            .map_err(StartupError::Connect)?;
        (rates.clone(), Some(RateSync::new(sync_db, rates)))
    };
    let principals = Arc::new(crate::auth::VerifiedPrincipals::new(
        config.limits.principal_cache,
    ));
    let events = EventFeed::new(
        db.clone(),
        config.events.clone(),
        config.limits.request_timeout,
        // Half the pool at most, so HTTP requests are served through a reconnect storm.
        (config.pool.max_connections / 2).max(1) as usize,
        principals.clone(),
    );
    let retention = Retention {
        db: db.clone(),
        keep: config.events.retention,
    };
    let webhook_worker = WebhookWorker::new(
        db.clone(),
        config.webhooks.clone(),
        config.limits.request_timeout,
        metrics.clone(),
    );
    let scoring_worker = crate::scoring::jobs::ScoringWorker {
        db: db.clone(),
        statement_timeout: config.limits.request_timeout,
    };
    let key_usage = Arc::new(crate::auth::KeyUsage::new(
        db.clone(),
        config.limits.api_key_usage_flush,
        config.limits.request_timeout,
    ));
    let tracer = config.traces.clone().map(|settings| {
        let (tracer, exporter) = Tracer::new(settings);
        tokio::spawn(exporter.run());
        tracer
    });
    // Statements are counted (and traced) where requests and subscriptions run them: through
    // this handle (the background jobs above have their own).
    let counter = metrics.clone();
    let statement_spans = tracer.clone();
    let observer: StatementObserver = Arc::new(move |sql, elapsed, failed| {
        counter.statement();
        if let Some(tracer) = &statement_spans {
            tracer.statement(sql, elapsed, failed);
        }
    });
    let shares = Arc::new(TenantShares::of_pool(
        config.pool.max_connections,
        config.limits.tenant_pool_share_percent,
        config.limits.tenant_queue_wait,
    ));
    // Callers not yet proven (sign-ins, refreshes, API keys being verified) share one
    // tenant's share of the pool.
    let tenants = TenantPool::new(&db, pool.statement_timeout, Some(observer.clone()))
        .with_unproven_share(shares.per_tenant(), config.limits.tenant_queue_wait);
    db.set_metric_callback(move |info| observer(&info.statement.sql, info.elapsed, info.failed));
    Ok(AppState {
        jwt,
        refresh_token_ttl: config.refresh_token_ttl,
        limits: config.limits.clone(),
        shares,
        rates,
        rate_sync,
        key_usage,
        verified_keys: Arc::new(crate::auth::VerifiedKeys::new(config.limits.api_key_cache)),
        principals,
        client_ip: ClientIp::new(config.trusted_proxies.clone()),
        cors: config.cors_allowed_origins.clone(),
        pending_ws_inits: Arc::new(tokio::sync::Semaphore::new(
            config.limits.max_pending_ws_inits,
        )),
        retention,
        webhook_worker,
        scoring_worker,
        metrics,
        metrics_token: config.metrics_token.clone(),
        tracer,
        events,
        webhooks: config.webhooks.clone(),
        db,
        tenants,
    })
}

pub fn router(app: AppState) -> Router {
    let schemas = build_schemas(app.clone());
    let body_limit = app.limits.max_body_bytes;
    let health = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(TenantPool::from(&app.db));
    let cors = app.cors.layer();
    let observed = axum::middleware::from_fn_with_state(
        Observer {
            metrics: app.metrics.clone(),
            tracer: app.tracer.clone(),
        },
        observe,
    );
    let metrics = Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(app.clone());
    let api = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .layer(observed)
        .layer(cors)
        .with_state(HttpState {
            app: Arc::new(app),
            schemas,
            documents: Arc::default(),
        });
    Router::new()
        .merge(graphiql::router())
        .merge(api)
        .merge(metrics)
        .merge(health)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

#[derive(Clone)]
struct Observer {
    metrics: Arc<Metrics>,
    tracer: Option<Tracer>,
}

/// One log line, the metrics and (when exporting) the trace span of each GraphQL request.
/// WebSocket upgrades carry no facts: their subscriptions are counted as they deliver.
async fn observe(
    State(observer): State<Observer>,
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let headers = request.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let request_id = header("x-request-id").unwrap_or_default().to_owned();
    let span = observer
        .tracer
        .as_ref()
        .map(|tracer| tracer.start_request(header("traceparent")));
    let counted = metrics::count_statements(next.run(request));
    let (response, statements) = match span {
        Some(span) => Tracer::within(span, counted).await,
        None => counted.await,
    };
    let Some(facts) = response.extensions().get::<RequestFacts>() else {
        return response;
    };
    observer
        .metrics
        .request(&request_id, facts, started.elapsed(), statements);
    if let (Some(tracer), Some(span)) = (&observer.tracer, span) {
        // Named as the OTel GraphQL conventions say: `query Dashboard`.
        let name = match (facts.operation_type, &facts.operation_name) {
            ("", _) => "GraphQL".to_owned(),
            (kind, Some(name)) => format!("{kind} {name}"),
            (kind, None) => kind.to_owned(),
        };
        let mut attributes = vec![
            ("graphql.operation.type", json!(facts.operation_type)),
            (
                "http.response.status_code",
                json!(response.status().as_u16()),
            ),
            ("leadgraph.outcome", json!(facts.outcome)),
            ("leadgraph.statements", json!(statements)),
            ("leadgraph.request_id", json!(request_id)),
        ];
        if let Some(name) = &facts.operation_name {
            attributes.push(("graphql.operation.name", json!(name)));
        }
        if let Some(document) = &facts.document {
            attributes.push(("graphql.document", json!(document)));
        }
        if let Some(organization_id) = facts.organization_id {
            attributes.push((
                "leadgraph.organization_id",
                json!(organization_id.to_string()),
            ));
        }
        tracer.end_request(span, name, attributes, facts.outcome != "OK");
    }
    response
}

/// `GET /metrics` for a scraper presenting `Authorization: Bearer <METRICS_TOKEN>`; without
/// the setting, metrics are not served (they name the busiest tenants).
async fn metrics_text(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let Some(token) = &app.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let matches = presented.is_some_and(|presented| {
        // Constant time: the comparison does not tell how much of a guess was right.
        let (a, b) = (
            Sha256::digest(presented.as_bytes()),
            Sha256::digest(token.expose().as_bytes()),
        );
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    });
    if !matches {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let pool = app.db.get_postgres_connection_pool();
    let backlog = probe(&TenantPool::from(&app.db), async |conn| {
        conn.query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT webhook_backlog()",
        ))
        .await
    })
    .await;
    let webhook_backlog = match backlog {
        Some(Ok(Some(row))) => row.try_get_by_index::<i64>(0).ok(),
        _ => {
            tracing::warn!("the webhook backlog could not be read for /metrics");
            None
        }
    };
    let text = app.metrics.encode(Readings {
        pool_max: pool.options().get_max_connections(),
        pool_open: pool.size(),
        pool_idle: pool.num_idle() as u32,
        subscribers: app.events.subscriber_count(),
        webhook_backlog,
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Ready when the database answers and every migration has run.
/// How long a probe (`/readyz`, `/metrics`) waits on the database, all told.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `read` in a short read-only transaction of no tenant (no tenant's row is visible), within
/// `PROBE_TIMEOUT`; `None` when the database did not answer in time. Probes come often (and
/// `/readyz` without credentials): each holds a connection briefly, and, as a tenant
/// transaction's replies are bounded, none is left waiting on one that stopped answering.
async fn probe<T>(
    pool: &TenantPool,
    read: impl AsyncFnOnce(&TenantConnection) -> Result<T, DbErr>,
) -> Option<Result<T, DbErr>> {
    let run = async {
        let tx = TenantTx::begin(pool, true, PROBE_TIMEOUT, None)
            .await
            .ok()?;
        let read = read(tx.conn()).await;
        tx.commit().await.ok()?;
        Some(read)
    };
    tokio::time::timeout(PROBE_TIMEOUT, run)
        .await
        .ok()
        .flatten()
}

async fn readyz(State(pool): State<TenantPool>) -> impl IntoResponse {
    match probe(&pool, async |conn| db::pending_migrations(conn).await).await {
        Some(Ok(pending)) if pending.is_empty() => (StatusCode::OK, "ready"),
        Some(Ok(_)) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Some(Err(_)) => (StatusCode::SERVICE_UNAVAILABLE, "migration status unknown"),
        None => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// Connections the kernel queues before they are accepted: a reconnect storm (every
/// subscriber of a deploy at once) must not overflow the queue and be dropped (capped by
/// `net.core.somaxconn`).
const ACCEPT_BACKLOG: u32 = 8192;

/// Binds the server's socket with a backlog fit for reconnect storms.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish for at most
/// `grace`. The background work (the event feed's listener, retention, webhook delivery,
/// sharing rate limits, writing API keys' usage, rescoring jobs) runs alongside and stops
/// with it.
pub async fn serve(
    listener: TcpListener,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stop_background, background_stop) = tokio::sync::watch::channel(false);
    tokio::spawn(app.events.clone().listen(background_stop.clone()));
    tokio::spawn(app.retention.clone().run(background_stop.clone()));
    tokio::spawn(app.key_usage.clone().run(background_stop.clone()));
    if let Some(rate_sync) = app.rate_sync.clone() {
        tokio::spawn(rate_sync.run(background_stop.clone()));
    }
    tokio::spawn(app.scoring_worker.clone().run(background_stop.clone()));
    tokio::spawn(
        app.webhook_worker
            .clone()
            .run(app.events.arrivals(), background_stop),
    );
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_background.send(true);
        let _ = stopping_tx.send(());
    });
    tokio::select! {
        result = server => result,
        _ = async {
            let _ = stopping_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(?grace, "in-flight requests did not finish in time; exiting");
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
