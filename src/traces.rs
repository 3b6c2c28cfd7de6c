//! OpenTelemetry traces over OTLP/HTTP (JSON encoding), on when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set: a SERVER span per GraphQL request, named as the OTel GraphQL conventions say
//! (`query Dashboard`: the operation type, then its name) and carrying the sanitised document,
//! with a child CLIENT span per SQL statement it ran. An incoming W3C `traceparent` makes the
//! request part of the caller's trace. Finished spans go through a bounded queue to one
//! background task that posts them in batches; when the queue is full spans are dropped, never
//! requests slowed.
//!
//! The OTLP JSON encoding is written here directly: the opentelemetry-otlp crate would add
//! tonic and prost to every build of the server for one POST.

use std::{
    cell::RefCell,
    collections::HashMap,
    fmt::Write,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rand::RngCore;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::config::Secret;

/// Spans waiting to be posted; past this new spans are dropped.
const QUEUE: usize = 8192;
/// Spans per POST at most.
const BATCH: usize = 512;

/// Where and how spans are exported (the standard OTel variables).
#[derive(Clone, Debug)]
pub struct TraceSettings {
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,...`), e.g. a collector's API key.
    pub headers: Vec<(String, Secret)>,
    /// `OTEL_SERVICE_NAME`, default `leadgraph`.
    pub service_name: String,
    /// `OTEL_BSP_SCHEDULE_DELAY` (ms): how often queued spans are posted.
    pub flush_every: Duration,
}

type TraceId = [u8; 16];
type SpanId = [u8; 8];

/// A finished span.
#[derive(Clone, Debug)]
pub struct SpanRecord {
    trace_id: TraceId,
    span_id: SpanId,
    parent: Option<SpanId>,
    name: String,
    /// OTLP span kind: 2 server, 3 client.
    kind: u8,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<(&'static str, Value)>,
    failed: bool,
}

/// The span of the request running on this task, which statements are children of.
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan {
    trace_id: TraceId,
    span_id: SpanId,
    parent: Option<SpanId>,
    start: SystemTime,
}

tokio::task_local! {
    static CURRENT: RefCell<Option<RequestSpan>>;
}

/// Hands finished spans to the exporter task.
#[derive(Clone)]
pub struct Tracer {
    queue: mpsc::Sender<SpanRecord>,
}

impl Tracer {
    /// The tracer and the exporter that posts what it records.
    pub fn new(settings: TraceSettings) -> (Self, Exporter) {
        let (queue, spans) = mpsc::channel(QUEUE);
        (Self { queue }, Exporter { settings, spans })
    }

    /// A span for a request, child of the caller's `traceparent` when it sent a valid one.
    pub fn start_request(&self, traceparent: Option<&str>) -> RequestSpan {
        let caller = traceparent.and_then(parse_traceparent);
        RequestSpan {
            trace_id: caller.map_or_else(random, |(trace, _)| trace),
            span_id: random(),
            parent: caller.map(|(_, span)| span),
            start: SystemTime::now(),
        }
    }

    /// Runs `request` with `span` as the parent of the statements it runs on its task.
    pub async fn within<F: Future>(span: RequestSpan, request: F) -> F::Output {
        CURRENT.scope(RefCell::new(Some(span)), request).await
    }

    /// Ends a request's span.
    pub fn end_request(
        &self,
        span: RequestSpan,
        name: String,
        attributes: Vec<(&'static str, Value)>,
        failed: bool,
    ) {
        self.export(SpanRecord {
            trace_id: span.trace_id,
            span_id: span.span_id,
            parent: span.parent,
            name,
            kind: 2,
            start: span.start,
            end: SystemTime::now(),
            attributes,
            failed,
        });
    }

    /// A statement that took `elapsed` has just ended: a child of the request on this task.
    /// Only its operation is recorded: the text is not sanitised, so it stays out.
    pub fn statement(&self, sql: &str, elapsed: Duration, failed: bool) {
        let Ok(Some(parent)) = CURRENT.try_with(|current| *current.borrow()) else {
            return;
        };
        let end = SystemTime::now();
        let operation = sql
            .split_whitespace()
            .next()
            .unwrap_or("SQL")
            .to_ascii_uppercase();
        self.export(SpanRecord {
            trace_id: parent.trace_id,
            span_id: random(),
            parent: Some(parent.span_id),
            name: operation.clone(),
            kind: 3,
            start: end.checked_sub(elapsed).unwrap_or(end),
            end,
            attributes: vec![
                ("db.system.name", json!("postgresql")),
                ("db.operation.name", json!(operation)),
            ],
            failed,
        });
    }

    fn export(&self, span: SpanRecord) {
        // A full queue (a collector that does not keep up) drops spans, not requests.
        let _ = self.queue.try_send(span);
    }
}

/// Posts queued spans to the collector.
pub struct Exporter {
    settings: TraceSettings,
    spans: mpsc::Receiver<SpanRecord>,
}

impl Exporter {
    /// Posts until every [`Tracer`] is dropped (spans of the last interval may be lost if the
    /// process exits first).
    pub async fn run(mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let mut batch = Vec::with_capacity(BATCH);
        let mut tick = tokio::time::interval(self.settings.flush_every);
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                received = self.spans.recv() => match received {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() < BATCH {
                            continue;
                        }
                        false
                    }
                    None => true,
                },
            };
            if !batch.is_empty() {
                self.post(&client, std::mem::take(&mut batch)).await;
            }
            if stopping {
                return;
            }
        }
    }

    async fn post(&self, client: &reqwest::Client, spans: Vec<SpanRecord>) {
        let count = spans.len();
        let mut request = client
            .post(&self.settings.endpoint)
            .json(&encode(&self.settings.service_name, spans));
        for (name, value) in &self.settings.headers {
            request = request.header(name, value.expose());
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(status = %response.status(), count, "the trace collector refused spans")
            }
            Err(err) => tracing::warn!(error = %err, count, "cannot reach the trace collector"),
        }
    }
}

/// The OTLP/JSON body of `spans` (ids in hex, times as strings of nanoseconds).
fn encode(service_name: &str, spans: Vec<SpanRecord>) -> Value {
    let nanos = |at: SystemTime| {
        at.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_string()
    };
    let spans: Vec<Value> = spans
        .into_iter()
        .map(|span| {
            let mut encoded = json!({
                "traceId": hex(&span.trace_id),
                "spanId": hex(&span.span_id),
                "name": span.name,
                "kind": span.kind,
                "startTimeUnixNano": nanos(span.start),
                "endTimeUnixNano": nanos(span.end),
                "attributes": attributes(span.attributes),
                // 1 OK, 2 ERROR.
                "status": { "code": if span.failed { 2 } else { 1 } },
            });
            if let Some(parent) = span.parent {
                encoded["parentSpanId"] = json!(hex(&parent));
            }
            encoded
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": attributes(vec![("service.name", json!(service_name))]) },
            "scopeSpans": [{ "scope": { "name": "leadgraph" }, "spans": spans }],
        }]
    })
}

fn attributes(attributes: Vec<(&'static str, Value)>) -> Value {
    attributes
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(s) => json!({ "stringValue": s }),
                Value::Bool(b) => json!({ "boolValue": b }),
                Value::Number(n) if n.is_i64() || n.is_u64() => {
                    json!({ "intValue": n.to_string() })
                }
                other => json!({ "stringValue": other.to_string() }),
            };
            json!({ "key": key, "value": value })
        })
        .collect()
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut bytes = [0u8; N];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(bytes)
}

/// `00-<trace id>-<parent span id>-<flags>`; all-zero ids are invalid (W3C Trace Context).
fn parse_traceparent(header: &str) -> Option<(TraceId, SpanId)> {
    let mut parts = header.trim().split('-');
    let (version, trace, span, _flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || parts.next().is_some() {
        return None;
    }
    let trace: TraceId = unhex(&trace.to_ascii_lowercase())?;
    let span: SpanId = unhex(&span.to_ascii_lowercase())?;
    (trace != [0; 16] && span != [0; 8]).then_some((trace, span))
}

/// The document with every literal value replaced by `?` (strings, block strings, numbers),
/// comments dropped: its shape without what clients typed into it.
pub fn sanitise(document: &str) -> String {
    let mut out = String::with_capacity(document.len());
    let mut chars = document.chars().peekable();
    let mut in_name = false;
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push('\n');
                in_name = false;
            }
            '"' => {
                let block = chars.peek() == Some(&'"') && {
                    let mut ahead = chars.clone();
                    ahead.next();
                    ahead.peek() == Some(&'"')
                };
                if block {
                    chars.next();
                    chars.next();
                    let mut quotes = 0;
                    for c in chars.by_ref() {
                        quotes = if c == '"' { quotes + 1 } else { 0 };
                        if quotes == 3 {
                            break;
                        }
                    }
                } else {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        match (escaped, c) {
                            (false, '\\') => escaped = true,
                            (false, '"') => break,
                            _ => escaped = false,
                        }
                    }
                }
                out.push_str("\"?\"");
                in_name = false;
            }
            c if !in_name && (c.is_ascii_digit() || c == '-') => {
                while chars
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
                {
                    chars.next();
                }
                out.push('?');
            }
            c => {
                in_name = c.is_ascii_alphanumeric() || c == '_';
                out.push(c);
            }
        }
    }
    out
}

/// `key=value,key2=value2` (OTEL_EXPORTER_OTLP_HEADERS), values kept secret.
pub fn parse_headers(list: &str) -> Result<Vec<(String, Secret)>, String> {
    let mut headers = HashMap::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').ok_or_else(|| {
            format!(
                "`{}` is not key=value",
                pair.split('=').next().unwrap_or("")
            )
        })?;
        headers.insert(name.trim().to_owned(), Secret::new(value.trim()));
    }
    Ok(headers.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_comments_are_taken_out_of_the_document() {
        let document = r#"query Q1($id: ID!) { # who
  leads(first: 10, filter: { search: "ada \" lovelace", minScore: -1.5e3 }) { nodes { field2 } }
  x: note(id: $id, text: """a "secret" block""") { id } }"#;
        assert_eq!(
            sanitise(document),
            "query Q1($id: ID!) { \n  leads(first: ?, filter: { search: \"?\", minScore: ? }) { nodes { field2 } }\n  x: note(id: $id, text: \"?\") { id } }"
        );
    }

    #[test]
    fn a_valid_traceparent_is_followed_and_an_invalid_one_ignored() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (trace, span) = parse_traceparent(header).unwrap();
        assert_eq!(hex(&trace), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&span), "00f067aa0ba902b7");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn headers_are_key_value_pairs() {
        let headers = parse_headers("api-key=abc, x-team = ops").unwrap();
        let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["api-key", "x-team"]);
        assert!(parse_headers("novalue").is_err());
    }
}
