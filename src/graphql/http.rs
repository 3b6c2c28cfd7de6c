//! GraphQL over HTTP: `POST /graphql` (JSON only) and `GET /graphql` (queries only), and
//! GraphiQL at `/`. Each request: document guard → credential → the organization's turn →
//! one tenant transaction (read-only for queries) → execution with per-request loaders →
//! commit, or roll back every mutation of the request when any part failed; a query is
//! answered without waiting for its transaction to end. A sign-in has no transaction until its
//! resolver has proven the caller.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{
    ErrorExtensionValues, Pos, Response, ServerError, Value, dataloader::DataLoader,
    parser::types::OperationType,
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::IntoResponse,
};
use uuid::Uuid;

use super::{
    AppSchema, RequestContext, RequestMeta, RequestTransaction, RequestTx, Schemas, TenantLoader,
    batching::Batches, document,
};
use crate::{
    admission::{Quota, Turn},
    auth::{
        HashedPasswords, Identity, PresentedCredential, authenticate, begin_as_principal,
        revalidate, verified_principals::ForgetOrganization,
    },
    error::{ApiError, code},
    events,
    metrics::RequestFacts,
    state::AppState,
    tenancy::Credential,
};

#[derive(Clone)]
pub struct HttpState {
    /// Shared, not copied: axum clones the state for every request.
    pub app: Arc<AppState>,
    pub schemas: Schemas,
    /// Documents that passed the guard lately (HTTP and WebSocket).
    pub documents: Arc<document::Documents>,
}

pub async fn graphql_post(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_body {
        // Forms and text/plain are what a cross-site page can send without a preflight.
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::BAD_USER_INPUT,
            "POST /graphql takes Content-Type: application/json",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                code::BAD_USER_INPUT,
                "the body is not a GraphQL JSON request",
            );
        }
    };
    execute(
        &state,
        meta(&state.app, &headers, peer),
        &headers,
        request,
        Method::POST,
    )
    .await
}

/// `GET /graphql`: a query in the URL, or a WebSocket upgrade (see `ws`).
pub async fn graphql_get(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let wants_websocket = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_websocket {
        return super::ws::upgrade_request(state, peer, request).await;
    }
    let headers = request.headers().clone();
    let query = request.uri().query().map(str::to_owned);
    match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
        Ok(request) => {
            let meta = meta(&state.app, &headers, peer);
            execute(&state, meta, &headers, request, Method::GET).await
        }
        Err(_) => transport_error(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            "invalid GraphQL GET request",
        ),
    }
}

pub(crate) fn meta(app: &AppState, headers: &HeaderMap, peer: SocketAddr) -> RequestMeta {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestMeta {
        request_id: header("x-request-id").unwrap_or_default(),
        client_ip: Some(app.client_ip.of(peer.ip(), headers)),
        user_agent: header("user-agent"),
    }
}

/// Answers, and leaves on the answer what the request's log line and metrics need
/// ([`RequestFacts`], read by `server::observe`).
async fn execute(
    state: &HttpState,
    meta: RequestMeta,
    headers: &HeaderMap,
    request: async_graphql::Request,
    method: Method,
) -> axum::response::Response {
    let mut facts = RequestFacts::default();
    let mut http = answer(state, meta, headers, request, method, &mut facts).await;
    if let Some(Outcome(outcome)) = http.extensions_mut().remove::<Outcome>() {
        facts.outcome = outcome;
    }
    http.extensions_mut().insert(facts);
    http
}

/// The first error's code, or `OK`.
#[derive(Clone)]
struct Outcome(String);

/// What running the request learnt that its answer and log line need.
#[derive(Default)]
struct Learnt {
    quota: Option<Quota>,
    organization_id: Option<Uuid>,
}

async fn answer(
    state: &HttpState,
    meta: RequestMeta,
    headers: &HeaderMap,
    request: async_graphql::Request,
    method: Method,
    facts: &mut RequestFacts,
) -> axum::response::Response {
    let limits = &state.app.limits;
    if state.app.tracer.is_some() {
        facts.document = Some(crate::traces::sanitise(&request.query));
    }
    let checked = match state.documents.check(
        &request.query,
        request.operation_name.as_deref(),
        &request.variables,
        limits,
    ) {
        Ok(checked) => checked,
        Err(err) => return respond(headers, Response::from_errors(vec![server_error(err)])),
    };
    facts.operation_type = match checked.operation {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    facts.operation_name = checked.operation_name.clone();
    match checked.operation {
        OperationType::Mutation if method == Method::GET => {
            return transport_error(
                StatusCode::METHOD_NOT_ALLOWED,
                code::BAD_USER_INPUT,
                "mutations must use POST",
            );
        }
        OperationType::Subscription => {
            let err = ApiError::bad_input("query", "subscriptions are served over WebSocket");
            return respond(headers, Response::from_errors(vec![server_error(err)]));
        }
        _ => {}
    }
    let learnt = Mutex::new(Learnt::default());
    let run = run(state, meta, headers, request, checked, &learnt);
    let response = match tokio::time::timeout(limits.request_timeout, run).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => Response::from_errors(vec![server_error(err)]),
        Err(_) => Response::from_errors(vec![server_error(ApiError::Timeout)]),
    };
    let mut http = respond(headers, response);
    let learnt = learnt.into_inner().expect("learnt");
    facts.organization_id = learnt.organization_id;
    if let Some(quota) = learnt.quota {
        for (name, value) in quota.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                http.headers_mut().insert(name, value);
            }
        }
    }
    http
}

async fn run(
    state: &HttpState,
    meta: RequestMeta,
    headers: &HeaderMap,
    request: async_graphql::Request,
    checked: document::Checked,
    learnt: &Mutex<Learnt>,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let read_only = checked.operation != OperationType::Mutation;
    let Some(presented) = PresentedCredential::from_headers(headers)? else {
        // Without credentials a caller may only sign in (or, when allowed, read the schema).
        let allowed = checked.is_credential_operation()
            || checked.root_fields.iter().all(|f| f == "__typename")
            || (app.limits.anonymous_introspection && checked.is_introspection_only());
        if !allowed {
            return Err(ApiError::Unauthenticated);
        }
        // The sign-in resolver begins the transaction once the caller is proven.
        let context = RequestContext {
            principal: None,
            tx: RequestTx::Request(Arc::default()),
            loader: None,
            meta,
        };
        return finish(
            &state.schemas.anonymous,
            checked,
            request,
            context,
            read_only,
            None,
        )
        .await;
    };
    if checked.is_credential_operation() {
        return Err(ApiError::bad_input(
            "input",
            "already authenticated; send this without credentials",
        ));
    }
    let identity = authenticate(&app.tenants, &app.jwt, app.key_credentials(), presented).await?;
    let admitted = match &identity.credential {
        Credential::ApiKey {
            api_key_id,
            rate_limit_per_hour,
            ..
        } => {
            app.rates
                .admit_api_key(*api_key_id, u64::from(*rate_limit_per_hour))
                .await
        }
        Credential::Session { .. } => app.rates.admit_user(identity.tenant.user_id).await,
    };
    {
        let mut learnt = learnt.lock().expect("learnt");
        learnt.organization_id = Some(identity.tenant.organization_id);
        learnt.quota = admitted.as_ref().ok().copied();
    }
    admitted?;
    let passwords = checked.passwords_set(&request.variables);
    let request = match hashed_passwords(app, &identity, passwords).await? {
        Some(hashed) => request.data(hashed),
        None => request,
    };
    // Waits for the organization's turn before taking a connection from the shared pool.
    let waiting = app.metrics.waiting_for_pool();
    let turn = app.shares.turn(identity.tenant.organization_id).await?;
    let (tx, principal) = begin_as_principal(
        &app.tenants,
        Some(&app.principals),
        read_only,
        app.limits.request_timeout,
        identity,
    )
    .await?;
    drop(waiting);
    let organization_id = principal.organization_id;
    let tx: Arc<RequestTransaction> = Arc::new(tx.into());
    let batches = Batches::default();
    let loader = DataLoader::new(
        TenantLoader::new(RequestTx::Request(tx.clone()), organization_id, read_only),
        batches.spawner(),
    )
    .delay(Duration::ZERO);
    let context = RequestContext {
        principal: Some(principal),
        tx: RequestTx::Request(tx),
        loader: Some(loader),
        meta,
    };
    // Once a write has ended (committed or not), a change it made to a principal holds for
    // the next request here, without waiting for the database's notification.
    let _forget = (!read_only).then(|| ForgetOrganization {
        principals: &app.principals,
        organization_id,
    });
    batches
        .drive(finish(
            state.schemas.for_signed_in(&checked),
            checked,
            request,
            context,
            read_only,
            Some(turn),
        ))
        .await
}

/// The passwords the request sets (`createUser`), hashed before its transaction opens so that
/// no pooled connection waits on argon2. Only for a principal that may set them, which the
/// database tells in a short transaction of its own: its connection is back in the pool
/// before hashing starts, and a caller the mutation will refuse costs no hash.
async fn hashed_passwords(
    app: &AppState,
    identity: &Identity,
    passwords: Vec<String>,
) -> Result<Option<HashedPasswords>, ApiError> {
    if passwords.is_empty() {
        return Ok(None);
    }
    let principal = {
        let _turn = app.shares.turn(identity.tenant.organization_id).await?;
        revalidate(&app.tenants, identity, app.limits.request_timeout).await?
    };
    if principal.require_admin().is_err() {
        return Ok(None);
    }
    HashedPasswords::of(passwords).await.map(Some)
}

/// Executes the checked request, then commits its transaction, or rolls back every change of
/// the request when any part failed. A query's transaction ends after the answer has gone,
/// holding the organization's `turn` until then.
async fn finish(
    schema: &AppSchema,
    checked: document::Checked,
    request: async_graphql::Request,
    context: RequestContext,
    read_only: bool,
    turn: Option<Turn>,
) -> Result<Response, ApiError> {
    let RequestTx::Request(tx) = context.tx.clone() else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "HTTP request without its transaction"
        )));
    };
    let (request, order) = checked.into_request(request);
    let mut response = schema.execute(request.data(context)).await;
    order.apply(&mut response.data);
    // Execution is over and its loader dropped: the transaction is ours alone again.
    let tx = Arc::try_unwrap(tx)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("request transaction still shared")))?;
    let Some(tx) = tx.into_inner() else {
        // Nothing was opened (a sign-in that failed before proving the caller).
        return Ok(response);
    };
    if read_only {
        tx.end_read_only_unawaited(turn);
    } else if response.errors.is_empty() {
        events::notify_listeners(&tx).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
        // Nothing of a failed mutation request was kept; do not show what was not kept.
        response.data = Value::Null;
    }
    Ok(response)
}

/// An error raised outside execution: no location in the document.
pub(crate) fn server_error(err: ApiError) -> ServerError {
    let mut error = async_graphql::Error::from(err).into_server_error(Pos::default());
    error.locations.clear();
    error
}

/// Gives every error a code: ours carry an `ApiError`; async-graphql's own parse, validation,
/// limit and input-coercion errors are recognised here.
pub(crate) fn classify(response: &mut Response) {
    for error in &mut response.errors {
        if crate::error::annotate(error) {
            continue;
        }
        let code = if error.message.contains("nested too deep")
            || error.message.contains("too complex")
            || error.message.contains("number of directives")
            || error.message.contains("recursion depth")
        {
            code::LIMIT_EXCEEDED
        } else if error.message.contains("Invalid value for argument")
            || error.message.contains("Failed to parse")
            // An input object given a non-object (async-graphql's validation lets it through).
            || error.message.contains("Expected input type")
            || error.message.contains("Variable")
        {
            code::BAD_USER_INPUT
        } else if !error.path.is_empty() {
            // Raised while resolving, by nothing of ours: a fault, never the client's input.
            tracing::error!(message = %error.message, "unclassified resolver error");
            error.message = "internal error".into();
            code::INTERNAL
        } else {
            code::GRAPHQL_VALIDATION_FAILED
        };
        error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code);
    }
}

fn respond(headers: &HeaderMap, mut response: Response) -> axum::response::Response {
    classify(&mut response);
    let modern = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/graphql-response+json"));
    let (status, content_type) = if modern {
        // GraphQL over HTTP: a request that did not reach execution is a 400.
        let status = if response.data == Value::Null && !response.errors.is_empty() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        (status, "application/graphql-response+json")
    } else {
        (StatusCode::OK, "application/json")
    };
    // A request refused as a whole for load tells HTTP clients (and proxies) when to retry.
    let refused_for_load = (response.data == Value::Null)
        .then(|| refused_for_load(&response))
        .flatten();
    let status = match refused_for_load {
        Some((status, _)) => status,
        None => status,
    };
    let outcome = response
        .errors
        .first()
        .and_then(|error| error.extensions.as_ref()?.get("code").cloned())
        .map_or_else(
            || "OK".to_owned(),
            |code| match code {
                Value::String(code) => code,
                other => other.to_string(),
            },
        );
    let body = serde_json::to_vec(&response).unwrap_or_default();
    let mut http = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if let Some((_, retry_after)) = refused_for_load {
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    http.extensions_mut().insert(Outcome(outcome));
    http
}

/// 429 or 503 with the seconds to wait, when the request was refused as RATE_LIMITED or
/// UNAVAILABLE.
fn refused_for_load(response: &Response) -> Option<(StatusCode, u64)> {
    let error = response.errors.first()?;
    let extensions = error.extensions.as_ref()?;
    let status = match extensions.get("code")? {
        Value::String(code) if code == code::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        Value::String(code) if code == code::UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => return None,
    };
    let retry_after = match extensions.get("retryAfter") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1),
        _ => 1,
    };
    Some((status, retry_after))
}

fn transport_error(status: StatusCode, code: &str, message: &str) -> axum::response::Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut http = (status, axum::Json(body)).into_response();
    http.extensions_mut().insert(Outcome(code.to_owned()));
    http
}
