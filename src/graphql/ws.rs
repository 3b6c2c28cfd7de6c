//! GraphQL over WebSocket, at `/graphql/ws` and by upgrade on `/graphql`, speaking
//! `graphql-transport-ws` and the legacy `graphql-ws` (subscriptions-transport-ws).
//! Authentication: the `connection_init` payload (`Authorization: Bearer <token or key>`,
//! `token`, `apiKey`, or the same under `headers`), else the upgrade request's headers. A
//! connection that cannot authenticate is refused (4403 on graphql-transport-ws,
//! `connection_error` on graphql-ws); one that does not initialise within 10 s is closed with
//! 4408. Only subscriptions are served here, at most `LIMIT_SUBSCRIPTIONS_PER_CONNECTION` at
//! once per connection; a second subscription with a running one's id closes the connection
//! with 4409 (graphql-transport-ws). At most `LIMIT_WS_PENDING_INIT` sockets may be waiting to
//! initialise at once; legacy graphql-ws connections get a `ka` keep-alive.
//!
//! Nothing here holds a pooled connection while waiting on the client: a subscription's
//! loaders get a short transaction that is closed as soon as each result is resolved, before
//! it is written to the socket, and a client that stops reading is disconnected after
//! `WS_SEND_TIMEOUT_MS`. Credential checks (at `connection_init`, each subscribe, and every
//! revalidation) are shared per credential and bounded in concurrency.

use std::{
    any::TypeId,
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data, Executor, Response,
    dataloader::DataLoader,
    http::{WebSocketProtocols, WsMessage},
    parser::types::OperationType,
};
use axum::{
    extract::{
        ConnectInfo, FromRequestParts, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures::{SinkExt, StreamExt, future, stream::BoxStream};

use super::{
    RequestContext, RequestMeta, RequestTx, TenantLoader,
    batching::Batches,
    field_order::FieldOrder,
    http::{HttpState, classify, meta, server_error},
};
use crate::{
    auth::{Identity, PresentedCredential, authenticate},
    error::{ApiError, ApiResult, code},
    tenancy::{LazyTenantTx, Principal},
};

/// How long a new socket has to send an accepted `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What each socket reads into at first. tungstenite allocates its read buffer whole when the
/// socket opens (128 KiB by default), which made most of an idle subscription's memory;
/// client messages here are a few hundred bytes, and a larger one grows the buffer as it needs
/// (up to `max_message_size`).
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

/// The credential a connection authenticated with, kept as its session data.
struct Connection {
    identity: Identity,
}

pub async fn graphql_ws(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    upgrade_connection(state, peer, headers, upgrade).await
}

/// `GET /graphql` carrying a WebSocket upgrade.
pub async fn upgrade_request(
    state: HttpState,
    peer: SocketAddr,
    request: axum::extract::Request,
) -> HttpResponse {
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    upgrade_connection(state, peer, parts.headers, upgrade).await
}

/// The first GraphQL subprotocol the client offers.
fn protocol_of(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|offered| offered.trim().parse().ok())
}

async fn upgrade_connection(
    state: HttpState,
    peer: SocketAddr,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    if !state.app.cors.allows_upgrade(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open WebSockets here (CORS_ALLOWED_ORIGINS)",
        )
            .into_response();
    }
    let Some(protocol) = protocol_of(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "offer the graphql-transport-ws or graphql-ws subprotocol",
        )
            .into_response();
    };
    // A socket counts against the cap until it has initialised (or closed).
    let Ok(pending_init) = state.app.pending_ws_inits.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many WebSocket connections are initialising; try again shortly",
        )
            .into_response();
    };
    let header_credential = PresentedCredential::from_headers(&headers);
    let max_message = state.app.limits.max_body_bytes;
    let meta = meta(&state.app, &headers, peer);
    let executor = WsExecutor {
        state,
        meta,
        subscriptions: Arc::default(),
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            serve(socket, protocol, executor, header_credential, pending_init)
        })
}

/// The fields of a graphql-transport-ws client message that id bookkeeping needs.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// Ids of the subscriptions running on a graphql-transport-ws connection.
#[derive(Clone, Default)]
struct RunningIds(Arc<Mutex<HashSet<String>>>);

impl RunningIds {
    /// Records a client message; `false` when it subscribes with an id already running.
    fn client_sent(&self, message: &[u8]) -> bool {
        let Ok(Envelope { kind, id: Some(id) }) = serde_json::from_slice(message) else {
            return true;
        };
        let mut ids = self.0.lock().expect("running ids");
        match kind.as_str() {
            "subscribe" => ids.insert(id),
            "complete" => {
                ids.remove(&id);
                true
            }
            _ => true,
        }
    }

    /// Forgets a subscription the server completed or ended with an error.
    fn server_sent(&self, text: &str) {
        if !(text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#)) {
            return;
        }
        if let Ok(Envelope { id: Some(id), .. }) = serde_json::from_str(text) {
            self.0.lock().expect("running ids").remove(&id);
        }
    }
}

async fn serve(
    socket: WebSocket,
    protocol: WebSocketProtocols,
    executor: WsExecutor,
    header_credential: ApiResult<Option<PresentedCredential>>,
    pending_init: tokio::sync::OwnedSemaphorePermit,
) {
    let modern = protocol == WebSocketProtocols::GraphQLWS;
    // Legacy graphql-ws clients expect a periodic `ka`.
    let mut keep_alive = tokio::time::interval(executor.state.app.limits.ws_keep_alive);
    let send_timeout = executor.state.app.limits.ws_send_timeout;
    let (mut sink, incoming) = socket.split();
    let running_ids = RunningIds::default();
    let (duplicate_tx, mut duplicate_rx) = tokio::sync::mpsc::channel::<String>(1);
    let input = {
        let running_ids = running_ids.clone();
        incoming
            .take_while(|message| future::ready(message.is_ok()))
            .filter_map(move |message| {
                let data = match message {
                    Ok(message @ (Message::Text(_) | Message::Binary(_))) => message.into_data(),
                    _ => return future::ready(None),
                };
                if modern && !running_ids.client_sent(&data) {
                    let _ = duplicate_tx.try_send("Subscriber for this id already exists".into());
                    return future::ready(None);
                }
                future::ready(Some(data))
            })
    };
    // Why connection_init was refused: the close code tells the client whether to retry.
    let refused: Arc<Mutex<Option<&'static str>>> = Arc::default();
    let acknowledged = Arc::new(AtomicBool::new(false));
    let init = {
        let executor = executor.clone();
        let (refused, acknowledged) = (refused.clone(), acknowledged.clone());
        move |payload: serde_json::Value| async move {
            let principal = executor.authenticate(&payload, header_credential).await;
            principal
                .map(|identity| {
                    acknowledged.store(true, Ordering::SeqCst);
                    let mut data = Data::default();
                    data.insert(Connection { identity });
                    data
                })
                .map_err(|err| {
                    *refused.lock().expect("refusal") = Some(err.code());
                    async_graphql::Error::new(err.to_string())
                })
        }
    };
    let outgoing = async_graphql::http::WebSocket::new(executor, input, protocol)
        .on_connection_init(init)
        .map(|message| match message {
            WsMessage::Text(text) => {
                if modern {
                    running_ids.server_sent(&text);
                }
                Message::Text(text.into())
            }
            // graphql-transport-ws: 4403 for a refused connection (1013 "try again later" when
            // the server could not check it now, 1011 on a fault), 4401 for a subscribe before
            // the connection was acknowledged.
            WsMessage::Close(code, reason) => {
                let refusal = *refused.lock().expect("refusal");
                let code = match (code, refusal) {
                    (1002, Some(code::UNAVAILABLE | code::RATE_LIMITED)) if modern => 1013,
                    (1002, Some(code::INTERNAL)) if modern => 1011,
                    (1002, Some(_)) if modern => 4403,
                    (1011, _) if modern => 4401,
                    (other, _) => other,
                };
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
            }
        });
    futures::pin_mut!(outgoing);
    // A socket that never initialises is closed (4408), not kept open forever.
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    futures::pin_mut!(init_deadline);
    let mut pending_init = Some(pending_init);
    keep_alive.tick().await;
    loop {
        let initialised = acknowledged.load(Ordering::SeqCst);
        if initialised {
            pending_init.take();
        }
        let message = tokio::select! {
            message = outgoing.next() => message,
            _ = &mut init_deadline, if !initialised => {
                Some(Message::Close(Some(CloseFrame {
                    code: 4408,
                    reason: "Connection initialisation timeout".into(),
                })))
            }
            Some(reason) = duplicate_rx.recv() => {
                Some(Message::Close(Some(CloseFrame { code: 4409, reason: reason.into() })))
            }
            _ = keep_alive.tick(), if !modern && initialised => {
                Some(Message::Text(r#"{"type":"ka"}"#.into()))
            }
        };
        let Some(message) = message else { break };
        let closing = matches!(message, Message::Close(_));
        // A client that does not read is let go rather than waited on.
        match tokio::time::timeout(send_timeout, sink.send(message)).await {
            Ok(Ok(())) if !closing => {}
            _ => break,
        }
    }
    let _ = tokio::time::timeout(send_timeout, sink.close()).await;
}

/// One per connection.
#[derive(Clone)]
struct WsExecutor {
    state: HttpState,
    meta: RequestMeta,
    /// The connection's running subscriptions.
    subscriptions: Arc<AtomicUsize>,
}

/// Counts a running subscription until dropped with its stream.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WsExecutor {
    fn statement_timeout(&self) -> Duration {
        self.state.app.limits.request_timeout
    }

    /// The connection's identity, confirmed against the database (user active, key live).
    async fn authenticate(
        &self,
        payload: &serde_json::Value,
        from_headers: ApiResult<Option<PresentedCredential>>,
    ) -> ApiResult<Identity> {
        let presented = match credential_in(payload) {
            Some(presented) => presented,
            None => from_headers?.ok_or(ApiError::Unauthenticated)?,
        };
        let app = &self.state.app;
        let identity =
            authenticate(&app.tenants, &app.jwt, app.key_credentials(), presented).await?;
        self.confirm(&identity).await?;
        Ok(identity)
    }

    /// The principal behind a connection's identity, through the checks shared per credential.
    async fn confirm(&self, identity: &Identity) -> ApiResult<Principal> {
        let app = &self.state.app;
        let max_age = app.events.settings().revalidate_interval;
        app.events
            .credentials()
            .check(&app.tenants, identity, self.statement_timeout(), max_age)
            .await
    }

    async fn start(
        self,
        request: async_graphql::Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match self.prepare(request, session.as_deref()).await {
            Ok(Prepared {
                request,
                context,
                batches,
                running,
                order,
            }) => {
                let metrics = self.state.app.metrics.clone();
                let batch_tx = match &context.tx {
                    RequestTx::PerBatch(tx) => Some(tx.clone()),
                    RequestTx::Request(_) => None,
                };
                let responses = self
                    .state
                    .schemas
                    .signed_in
                    .execute_stream_with_session_data(
                        request.data(context),
                        session.unwrap_or_default(),
                    );
                batches
                    .drive_stream(responses)
                    .then(move |mut response| {
                        // Counted as running for as long as its stream exists.
                        let _running = &running;
                        let batch_tx = batch_tx.clone();
                        let order = order.clone();
                        let metrics = metrics.clone();
                        async move {
                            // The result is resolved: its transaction ends before the result
                            // waits on the client.
                            if let Some(tx) = batch_tx
                                && let Err(err) = tx.close().await
                            {
                                tracing::warn!(error = %err, "closing a subscription's transaction");
                            }
                            order.apply(&mut response.data);
                            classify(&mut response);
                            metrics.subscription_result();
                            response
                        }
                    })
                    .boxed()
            }
            Err(err) => {
                let mut response = Response::from_errors(vec![server_error(err)]);
                classify(&mut response);
                futures::stream::once(future::ready(response)).boxed()
            }
        }
    }

    /// Checks the operation and the credential, and builds the subscription's context: its
    /// principal and loaders that run in a short transaction per delivered batch.
    async fn prepare(
        &self,
        request: async_graphql::Request,
        session: Option<&Data>,
    ) -> ApiResult<Prepared> {
        let checked = self.state.documents.check(
            &request.query,
            request.operation_name.as_deref(),
            &request.variables,
            &self.state.app.limits,
        )?;
        if checked.operation != OperationType::Subscription {
            return Err(ApiError::bad_input(
                "query",
                "only subscriptions are served over WebSocket; use POST /graphql",
            ));
        }
        let (request, order) = checked.into_request(request);
        let max_subscriptions = self.state.app.limits.max_subscriptions_per_connection;
        if self.subscriptions.fetch_add(1, Ordering::SeqCst) >= max_subscriptions {
            self.subscriptions.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Limit(format!(
                "a connection may run at most {max_subscriptions} subscriptions"
            )));
        }
        let running = Running(self.subscriptions.clone());
        let connection = session
            .and_then(|data| data.get(&TypeId::of::<Connection>()))
            .and_then(|value| value.downcast_ref::<Connection>())
            .ok_or(ApiError::Unauthenticated)?;
        let app = &self.state.app;
        let principal = self.confirm(&connection.identity).await?;
        let batch_tx = Arc::new(LazyTenantTx::new(
            app.tenants.clone(),
            connection.identity.tenant,
            self.statement_timeout(),
        ));
        let batches = Batches::default();
        let loader = DataLoader::new(
            TenantLoader::new(
                RequestTx::PerBatch(batch_tx.clone()),
                principal.organization_id,
                false,
            ),
            batches.spawner(),
        )
        .delay(Duration::ZERO);
        Ok(Prepared {
            request,
            context: RequestContext {
                principal: Some(principal),
                tx: RequestTx::PerBatch(batch_tx),
                loader: Some(loader),
                meta: self.meta.clone(),
            },
            batches,
            running,
            order,
        })
    }
}

/// A subscription ready to run.
struct Prepared {
    request: async_graphql::Request,
    context: RequestContext,
    batches: Batches,
    running: Running,
    /// Shared by every result of the stream.
    order: Arc<FieldOrder>,
}

impl Executor for WsExecutor {
    async fn execute(&self, _request: async_graphql::Request) -> Response {
        let mut response = Response::from_errors(vec![server_error(ApiError::bad_input(
            "query",
            "only subscriptions are served over WebSocket; use POST /graphql",
        ))]);
        classify(&mut response);
        response
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        futures::stream::once(self.clone().start(request, session))
            .flatten()
            .boxed()
    }
}

/// The credential in a `connection_init` payload, looked for under the usual names.
fn credential_in(payload: &serde_json::Value) -> Option<PresentedCredential> {
    let fields = payload.as_object()?;
    for (name, value) in fields {
        let name = name.to_ascii_lowercase();
        if name == "headers" {
            if let Some(found) = credential_in(value) {
                return Some(found);
            }
            continue;
        }
        let Some(value) = value.as_str() else {
            continue;
        };
        match name.as_str() {
            "x-api-key" | "apikey" => {
                return Some(PresentedCredential::ApiKey(value.trim().into()));
            }
            "authorization" => {
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .unwrap_or(value);
                return Some(PresentedCredential::from_token(token));
            }
            "token" | "accesstoken" => return Some(PresentedCredential::from_token(value)),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_a_bearer_token_in_the_init_payload_whatever_its_case() {
        let found = credential_in(&json!({ "Authorization": "Bearer abc.def.ghi" }));
        assert!(matches!(found, Some(PresentedCredential::AccessToken(t)) if t == "abc.def.ghi"));
    }

    #[test]
    fn finds_an_api_key_nested_under_headers() {
        let found = credential_in(&json!({ "headers": { "x-api-key": "lg_0123456789ab_secret" } }));
        assert!(matches!(found, Some(PresentedCredential::ApiKey(_))));
    }

    #[test]
    fn an_empty_payload_carries_no_credential() {
        assert!(credential_in(&json!({})).is_none());
        assert!(credential_in(&serde_json::Value::Null).is_none());
    }
}
