//! GraphQL over WebSocket, at `/graphql/ws` and by upgrade on `/graphql`, speaking
//! `graphql-transport-ws` and the legacy `graphql-ws` (subscriptions-transport-ws).
//! Authentication: the `connection_init` payload (`Authorization: Bearer <token or key>`,
//! `token`, `apiKey`, or the same under `headers`), else the upgrade request's headers. A
//! connection that cannot authenticate is refused (4403 on graphql-transport-ws,
//! `connection_error` on graphql-ws); one that does not initialise within 10 s is closed with
//! 4408. Only subscriptions are served here, at most `LIMIT_SUBSCRIPTIONS_PER_CONNECTION` at
//! once per connection.

use std::{
    any::TypeId,
    net::SocketAddr,
    sync::{
        Arc,
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
    http::{HttpState, classify, meta, server_error},
    limits,
};
use crate::{
    auth::{Identity, PresentedCredential, authenticate, revalidate},
    error::{ApiError, ApiResult},
    tenancy::LazyTenantTx,
};

/// How long a new socket has to send an accepted `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

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
    let Some(protocol) = protocol_of(&headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "offer the graphql-transport-ws or graphql-ws subprotocol",
        )
            .into_response();
    };
    let header_credential = PresentedCredential::from_headers(&headers);
    let executor = WsExecutor {
        state,
        meta: meta(&headers, peer),
        subscriptions: Arc::default(),
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, protocol, executor, header_credential))
}

async fn serve(
    socket: WebSocket,
    protocol: WebSocketProtocols,
    executor: WsExecutor,
    header_credential: ApiResult<Option<PresentedCredential>>,
) {
    let (mut sink, incoming) = socket.split();
    let input = incoming
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let refused = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicBool::new(false));
    let init = {
        let executor = executor.clone();
        let (refused, acknowledged) = (refused.clone(), acknowledged.clone());
        move |payload: serde_json::Value| async move {
            let identity = executor.authenticate(&payload, header_credential).await;
            identity
                .map(|identity| {
                    acknowledged.store(true, Ordering::SeqCst);
                    let mut data = Data::default();
                    data.insert(Connection { identity });
                    data
                })
                .map_err(|err| {
                    refused.store(true, Ordering::SeqCst);
                    async_graphql::Error::new(err.to_string())
                })
        }
    };
    let modern = protocol == WebSocketProtocols::GraphQLWS;
    let outgoing = async_graphql::http::WebSocket::new(executor, input, protocol)
        .on_connection_init(init)
        .map(|message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            // graphql-transport-ws: 4403 for a refused connection, 4401 for a subscribe
            // before the connection was acknowledged.
            WsMessage::Close(code, reason) => {
                let code = match code {
                    1002 if modern && refused.load(Ordering::SeqCst) => 4403,
                    1011 if modern => 4401,
                    other => other,
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
    loop {
        let message = tokio::select! {
            message = outgoing.next() => message,
            _ = &mut init_deadline, if !acknowledged.load(Ordering::SeqCst) => {
                Some(Message::Close(Some(CloseFrame {
                    code: 4408,
                    reason: "Connection initialisation timeout".into(),
                })))
            }
        };
        let Some(message) = message else { break };
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
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
        let identity = authenticate(&app.db, &app.jwt, presented).await?;
        revalidate(&app.db, &identity, self.statement_timeout()).await?;
        Ok(identity)
    }

    async fn start(
        self,
        request: async_graphql::Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match self.prepare(&request, session.as_deref()).await {
            Ok((context, batches, running)) => {
                let responses = self.state.schema.execute_stream_with_session_data(
                    request.data(context),
                    session.unwrap_or_default(),
                );
                batches
                    .drive_stream(responses)
                    .map(move |mut response| {
                        // Counted as running for as long as its stream exists.
                        let _running = &running;
                        classify(&mut response, true);
                        response
                    })
                    .boxed()
            }
            Err(err) => {
                let mut response = Response::from_errors(vec![server_error(err)]);
                classify(&mut response, true);
                futures::stream::once(future::ready(response)).boxed()
            }
        }
    }

    /// Checks the operation and the credential, and builds the subscription's context: its
    /// principal and loaders that run in a short transaction per delivered batch.
    async fn prepare(
        &self,
        request: &async_graphql::Request,
        session: Option<&Data>,
    ) -> ApiResult<(RequestContext, Batches, Running)> {
        let inspection = limits::inspect(&request.query, request.operation_name.as_deref())
            .map_err(|_| ApiError::bad_input("query", "the document does not parse"))?;
        if inspection.operation != Some(OperationType::Subscription) {
            return Err(ApiError::bad_input(
                "query",
                "only subscriptions are served over WebSocket; use POST /graphql",
            ));
        }
        let max_aliases = self.state.app.limits.max_aliases;
        if inspection.aliases > max_aliases {
            return Err(ApiError::Limit(format!(
                "the query uses more than {max_aliases} aliases"
            )));
        }
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
        let principal = revalidate(&app.db, &connection.identity, self.statement_timeout()).await?;
        let batch_tx = Arc::new(LazyTenantTx::new(
            app.db.clone(),
            connection.identity.tenant,
            self.statement_timeout(),
        ));
        let batches = Batches::default();
        let loader = DataLoader::new(
            TenantLoader::new(
                RequestTx::PerBatch(batch_tx.clone()),
                principal.organization_id,
            ),
            batches.spawner(),
        )
        .delay(Duration::ZERO);
        Ok((
            RequestContext {
                principal: Some(principal),
                tx: RequestTx::PerBatch(batch_tx),
                loader: Some(loader),
                meta: self.meta.clone(),
            },
            batches,
            running,
        ))
    }
}

impl Executor for WsExecutor {
    async fn execute(&self, _request: async_graphql::Request) -> Response {
        let mut response = Response::from_errors(vec![server_error(ApiError::bad_input(
            "query",
            "only subscriptions are served over WebSocket; use POST /graphql",
        ))]);
        classify(&mut response, true);
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
