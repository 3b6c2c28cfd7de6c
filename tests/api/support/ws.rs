//! A GraphQL-over-WebSocket client speaking either subprotocol, as integrators' clients do.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        http::{HeaderName, HeaderValue},
    },
};

use super::TestApp;

/// `graphql-transport-ws` (current) or `graphql-ws` (legacy subscriptions-transport-ws).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    TransportWs,
    Legacy,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::Legacy => "graphql-ws",
        }
    }
}

/// What the server sent, protocol differences smoothed over.
#[derive(Debug)]
pub enum ServerMessage {
    Ack,
    /// Legacy protocol's refusal of `connection_init`.
    ConnectionError,
    /// Data or errors (both protocols send errors of a subscription this way).
    Next {
        id: String,
        payload: Value,
    },
    Complete,
    Closed {
        code: u16,
    },
}

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Protocol,
}

/// How long a test waits for one message before failing.
pub const WAIT: Duration = Duration::from_secs(15);

impl TestApp {
    /// Opens a WebSocket on `path` (no `connection_init` yet), with extra upgrade headers.
    pub async fn ws_connect(
        &self,
        path: &str,
        protocol: Protocol,
        headers: &[(&str, &str)],
    ) -> WsClient {
        match self.try_ws_connect(path, protocol, headers).await {
            Ok(client) => client,
            Err(status) => panic!("WebSocket upgrade refused with {status}"),
        }
    }

    /// Tries a WebSocket upgrade on `path`; the HTTP status when it is refused.
    pub async fn try_ws_connect(
        &self,
        path: &str,
        protocol: Protocol,
        headers: &[(&str, &str)],
    ) -> Result<WsClient, u16> {
        let mut request = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(protocol.name()),
        );
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(WsClient { socket, protocol }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("WebSocket upgrade failed: {other}"),
        }
    }

    /// A connection on `/graphql/ws`, initialised with `credential` as bearer token.
    pub async fn ws(&self, credential: &str) -> WsClient {
        let mut client = self
            .ws_connect("/graphql/ws", Protocol::TransportWs, &[])
            .await;
        client
            .init(json!({ "Authorization": format!("Bearer {credential}") }))
            .await;
        match client.recv().await {
            ServerMessage::Ack => client,
            other => panic!("connection not acknowledged: {other:?}"),
        }
    }
}

impl WsClient {
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::Legacy => "start",
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message that is not a keep-alive, or a panic after [`WAIT`].
    pub async fn recv(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("no message from the server in time");
            let message = match frame {
                None | Some(Err(_)) => return ServerMessage::Closed { code: 1006 },
                Some(Ok(message)) => message,
            };
            let text = match message {
                Message::Text(text) => text.to_string(),
                Message::Close(frame) => {
                    return ServerMessage::Closed {
                        code: frame.map_or(1005, |f| u16::from(f.code)),
                    };
                }
                _ => continue,
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            let id = value["id"].as_str().unwrap_or_default().to_owned();
            let payload = value["payload"].clone();
            match value["type"].as_str().unwrap() {
                "connection_ack" => return ServerMessage::Ack,
                "connection_error" => return ServerMessage::ConnectionError,
                "next" | "data" => return ServerMessage::Next { id, payload },
                "complete" => return ServerMessage::Complete,
                "ping" => self.send(json!({ "type": "pong" })).await,
                _ => {}
            }
        }
    }

    /// The next `next` (or legacy `data`) message as the server wrote it.
    pub async fn next_text(&mut self) -> String {
        loop {
            let (kind, text) = self.next_text_frame().await;
            if matches!(kind.as_str(), "next" | "data") {
                return text;
            }
        }
    }

    /// The `type` of the next text message, keep-alives included.
    pub async fn recv_raw_type(&mut self) -> String {
        self.next_text_frame().await.0
    }

    /// The next text message: its `type` and the text as written.
    async fn next_text_frame(&mut self) -> (String, String) {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("no message from the server in time")
                .expect("socket open")
                .expect("frame");
            if let Message::Text(text) = frame {
                let value: Value = serde_json::from_str(&text).unwrap();
                let kind = value["type"].as_str().unwrap_or_default().to_owned();
                return (kind, text.to_string());
            }
        }
    }

    /// The next `next` payload of subscription `id`; panics on anything else.
    pub async fn next_payload(&mut self, id: &str) -> Value {
        match self.recv().await {
            ServerMessage::Next { id: got, payload } if got == id => payload,
            other => panic!("expected data for {id}, got {other:?}"),
        }
    }

    /// The next event of subscription `id` (`data.leadEvents`); panics on errors.
    pub async fn next_event(&mut self, id: &str) -> Value {
        let payload = self.next_payload(id).await;
        assert!(
            payload.get("errors").is_none(),
            "subscription error: {payload}"
        );
        payload["data"]["leadEvents"].clone()
    }

    /// The next `count` events of subscription `id`.
    pub async fn events(&mut self, id: &str, count: usize) -> Vec<Value> {
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            events.push(self.next_event(id).await);
        }
        events
    }

    /// Asserts nothing arrives for `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        if let Ok(Some(frame)) = tokio::time::timeout(quiet, self.socket.next()).await {
            panic!("expected no message, got {frame:?}");
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// The selection the subscription tests use.
pub const LEAD_EVENTS: &str = "subscription($after: String, $filter: LeadEventFilter) {
    leadEvents(after: $after, filter: $filter) {
        cursor kind leadId changedFields occurredAt subjectId
        actor { id }
        lead { id firstName status score deletedAt }
    }
}";
