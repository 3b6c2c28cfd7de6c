//! GraphQL over HTTP: `POST /graphql` (JSON only) and `GET /graphql` (queries only), and
//! GraphiQL at `/`. Each request: limits → credential → one tenant transaction (read-only for
//! queries) → execution with per-request loaders → commit, or roll back every mutation of the
//! request when any part failed.

use std::{net::SocketAddr, sync::Arc, time::Duration};

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

use super::{
    AppSchema, RequestContext, RequestMeta, RequestTx, TenantLoader, batching::Batches, limits,
};
use crate::{
    auth::{PresentedCredential, authenticate, load_principal},
    error::{ApiError, code},
    events,
    state::AppState,
    tenancy::TenantTx,
};

#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
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
        meta(&headers, peer),
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
        Ok(request) => execute(&state, meta(&headers, peer), &headers, request, Method::GET).await,
        Err(_) => transport_error(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            "invalid GraphQL GET request",
        ),
    }
}

pub(crate) fn meta(headers: &HeaderMap, peer: SocketAddr) -> RequestMeta {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestMeta {
        request_id: header("x-request-id").unwrap_or_default(),
        client_ip: Some(peer.ip()),
        user_agent: header("user-agent"),
    }
}

async fn execute(
    state: &HttpState,
    meta: RequestMeta,
    headers: &HeaderMap,
    request: async_graphql::Request,
    method: Method,
) -> axum::response::Response {
    let limits = &state.app.limits;
    let inspection = limits::inspect(&request.query, request.operation_name.as_deref());
    let parsed = inspection.is_ok();
    let operation = inspection.as_ref().ok().and_then(|i| i.operation);
    let early = match operation {
        Some(OperationType::Mutation) if method == Method::GET => {
            return transport_error(
                StatusCode::METHOD_NOT_ALLOWED,
                code::BAD_USER_INPUT,
                "mutations must use POST",
            );
        }
        Some(OperationType::Subscription) => Some(ApiError::bad_input(
            "query",
            "subscriptions are served over WebSocket",
        )),
        _ => inspection
            .as_ref()
            .ok()
            .filter(|i| i.aliases > limits.max_aliases)
            .map(|_| {
                ApiError::Limit(format!(
                    "the query uses more than {} aliases",
                    limits.max_aliases
                ))
            }),
    };
    let mut response = match early {
        Some(err) => Response::from_errors(vec![server_error(err)]),
        None => {
            let read_only = operation != Some(OperationType::Mutation);
            let run = run(
                state,
                meta,
                headers,
                request,
                read_only,
                limits.request_timeout,
            );
            match tokio::time::timeout(limits.request_timeout, run).await {
                Ok(Ok(response)) => response,
                Ok(Err(err)) => Response::from_errors(vec![server_error(err)]),
                Err(_) => Response::from_errors(vec![server_error(ApiError::Timeout)]),
            }
        }
    };
    classify(&mut response, parsed);
    respond(headers, response)
}

async fn run(
    state: &HttpState,
    meta: RequestMeta,
    headers: &HeaderMap,
    request: async_graphql::Request,
    read_only: bool,
    timeout: Duration,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let identity = match PresentedCredential::from_headers(headers)? {
        Some(presented) => Some(authenticate(&app.db, &app.jwt, presented).await?),
        None => None,
    };
    let tx = TenantTx::begin(
        &app.db,
        read_only,
        timeout,
        identity.as_ref().map(|i| i.tenant),
    )
    .await?;
    let principal = match identity {
        Some(identity) => Some(load_principal(&tx, identity).await?),
        None => None,
    };
    let tx = Arc::new(tx);
    let batches = Batches::default();
    let loader = principal.as_ref().map(|p| {
        DataLoader::new(
            TenantLoader::new(RequestTx::Request(tx.clone()), p.organization_id),
            batches.spawner(),
        )
        .delay(Duration::ZERO)
    });
    let context = RequestContext {
        principal,
        tx: RequestTx::Request(tx.clone()),
        loader,
        meta,
    };
    let mut response = batches
        .drive(state.schema.execute(request.data(context)))
        .await;
    // Execution is over and its loader dropped: the transaction is ours alone again.
    let tx = Arc::try_unwrap(tx)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("request transaction still shared")))?;
    if response.errors.is_empty() {
        if !read_only {
            events::notify_listeners(&tx).await?;
        }
        tx.commit().await?;
    } else {
        tx.rollback().await?;
        if !read_only {
            // Nothing of a failed mutation request was kept; do not show what was not kept.
            response.data = Value::Null;
        }
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
pub(crate) fn classify(response: &mut Response, parsed: bool) {
    for error in &mut response.errors {
        if crate::error::annotate(error) {
            continue;
        }
        let code = if !parsed {
            code::GRAPHQL_PARSE_FAILED
        } else if error.message.contains("nested too deep")
            || error.message.contains("too complex")
            || error.message.contains("number of directives")
            || error.message.contains("recursion depth")
        {
            code::LIMIT_EXCEEDED
        } else if error.message.contains("Invalid value for argument")
            || error.message.contains("Failed to parse")
            || error.message.contains("Variable")
            || !error.path.is_empty()
        {
            code::BAD_USER_INPUT
        } else {
            code::GRAPHQL_VALIDATION_FAILED
        };
        error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("code", code);
    }
}

fn respond(headers: &HeaderMap, response: Response) -> axum::response::Response {
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
    let body = serde_json::to_vec(&response).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

fn transport_error(status: StatusCode, code: &str, message: &str) -> axum::response::Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}
