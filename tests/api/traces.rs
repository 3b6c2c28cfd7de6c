//! OpenTelemetry traces, as a collector receives them (a stand-in OTLP/HTTP endpoint).

use std::time::Duration;

use leadgraph::{config::Secret, traces::TraceSettings};
use serde_json::{Value, json};

use crate::support::{
    TestApp,
    receiver::{Answer, Receiver},
};

/// Every span the collector has been sent, with the requests' headers.
fn spans(collector: &Receiver) -> Vec<Value> {
    collector
        .received()
        .iter()
        .flat_map(|post| {
            let body = post.json();
            let resource = body["resourceSpans"][0].clone();
            let service = resource["resource"]["attributes"][0].clone();
            resource["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |mut span| {
                    span["service"] = service["value"]["stringValue"].clone();
                    span
                })
        })
        .collect()
}

/// Waits until the collector has a span `wanted` accepts.
async fn span_where(collector: &Receiver, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let posts = collector.received().len();
        if let Some(span) = spans(collector).into_iter().find(&wanted) {
            return span;
        }
        collector.wait_for(posts + 1).await;
    }
}

fn attribute<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map_or(&Value::Null, |a| &a["value"])
}

#[tokio::test]
async fn a_request_is_a_server_span_in_the_callers_trace_with_its_statements_as_children() {
    let collector = Receiver::start(Answer::Ok).await;
    let endpoint = collector.url();
    let app = TestApp::spawn_with(|c| {
        c.traces = Some(TraceSettings {
            endpoint,
            headers: vec![("x-collector-key".into(), Secret::new("collector-secret"))],
            service_name: "leadgraph-test".into(),
            flush_every: Duration::from_millis(100),
        })
    })
    .await;
    let acme = app.sign_up("acme").await;
    let (caller_trace, caller_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(&acme.owner.access_token)
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .json(&json!({
            "query": r#"query Dashboard { leads(first: 5, filter: { search: "secret-term" }) { totalCount } }"#
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let request = span_where(&collector, |span| span["name"] == "query Dashboard").await;
    assert_eq!(request["traceId"], caller_trace);
    assert_eq!(request["parentSpanId"], caller_span);
    assert_eq!(request["kind"], 2);
    assert_eq!(request["status"]["code"], 1);
    assert_eq!(request["service"], "leadgraph-test");
    assert_eq!(
        attribute(&request, "graphql.operation.type")["stringValue"],
        "query"
    );
    assert_eq!(
        attribute(&request, "graphql.operation.name")["stringValue"],
        "Dashboard"
    );
    assert_eq!(
        attribute(&request, "leadgraph.outcome")["stringValue"],
        "OK"
    );
    assert_eq!(
        attribute(&request, "leadgraph.organization_id")["stringValue"],
        acme.organization_id.to_string()
    );
    let document = attribute(&request, "graphql.document")["stringValue"]
        .as_str()
        .unwrap();
    assert!(document.contains(r#"search: "?""#), "{document}");
    assert!(
        !document.contains("secret-term") && !document.contains("first: 5"),
        "{document}"
    );

    let statement = span_where(&collector, |span| span["parentSpanId"] == request["spanId"]).await;
    assert_eq!(statement["traceId"], caller_trace);
    assert_eq!(statement["kind"], 3);
    assert_eq!(
        attribute(&statement, "db.system.name")["stringValue"],
        "postgresql"
    );
    assert!(
        collector
            .received()
            .iter()
            .all(|post| post.header("x-collector-key") == "collector-secret")
    );
}
