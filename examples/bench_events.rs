//! Fan-out benchmark (the "Events" workload of docs/architecture.md): T organizations, S WebSocket
//! subscribers spread over them, and a writer changing one lead per organization in turn at W
//! writes per second. Every write is an event each of its organization's subscribers must
//! receive, with the lead resolved. Prints deliveries per second, the delivery latency
//! (receipt time minus the event's `occurredAt`, the writing transaction's start) and how
//! many deliveries are missing at the end. With `SERVER_PID` set, the server's resident memory
//! is read before the subscribers connect and once they are all subscribed and idle. Run through
//! `scripts/bench-events.sh` (which also runs the same workload with a client that is not the
//! project's own, `bench/events/client.mjs`).
//!
//! `cargo run --release --example bench_events -- [base url] [subscribers] [tenants] [writes/s] [seconds]`

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

/// Subscriptions that ended with an error.
static ERRORS: AtomicU64 = AtomicU64::new(0);
/// Connections acknowledged (`connection_ack`): all subscribers connect at once, as after a
/// deploy or a network blip, and the time until every one is acknowledged is the storm's.
static ACKNOWLEDGED: AtomicU64 = AtomicU64::new(0);

const SUBSCRIPTION: &str =
    "subscription { leadEvents { cursor kind occurredAt lead { id score status } } }";

struct Tenant {
    token: String,
    lead: String,
}

async fn gql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response: Value = request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(response.get("errors").is_none(), "{response}");
    response["data"].clone()
}

/// A fresh organization with one lead.
async fn tenant(client: &reqwest::Client, url: &str, run: &str, index: usize) -> Tenant {
    let slug = format!("bench-{run}-{index}");
    let signed_up = gql(
        client,
        url,
        None,
        "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
        json!({ "input": {
            "organizationName": slug, "organizationSlug": slug, "fullName": "Bench Owner",
            "email": format!("owner@{slug}.test"), "password": "bench-password-123",
        }}),
    )
    .await;
    let token = signed_up["signUp"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = gql(
        client,
        url,
        Some(&token),
        "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
        json!({ "input": { "firstName": "Fan", "lastName": "Out", "email": format!("lead@{slug}.test") } }),
    )
    .await;
    Tenant {
        token,
        lead: created["createLead"]["lead"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// Subscribes and counts deliveries, recording each one's latency in microseconds.
async fn subscriber(
    ws_url: String,
    token: String,
    received: Arc<AtomicU64>,
    latencies: Arc<Mutex<Vec<u64>>>,
) {
    let mut request = ws_url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let mut socket = match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => socket,
        Err(err) => {
            ERRORS.fetch_add(1, Ordering::Relaxed);
            eprintln!("connect: {err}");
            return;
        }
    };
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })))
        .await
        .unwrap();
    socket
        .send(send(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } }),
        ))
        .await
        .unwrap();
    while let Some(Ok(message)) = socket.next().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(frame) => {
                ERRORS.fetch_add(1, Ordering::Relaxed);
                eprintln!("closed: {frame:?}");
                return;
            }
            _ => continue,
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        match value["type"].as_str() {
            Some("connection_ack") => {
                ACKNOWLEDGED.fetch_add(1, Ordering::Relaxed);
            }
            Some("next") => {
                let event = &value["payload"]["data"]["leadEvents"];
                let Some(occurred) = event["occurredAt"].as_str() else {
                    ERRORS.fetch_add(1, Ordering::Relaxed);
                    eprintln!("subscription error: {value}");
                    return;
                };
                let occurred = chrono::DateTime::parse_from_rfc3339(occurred).unwrap();
                let latency = chrono::Utc::now().signed_duration_since(occurred);
                latencies
                    .lock()
                    .unwrap()
                    .push(latency.num_microseconds().unwrap_or(0).max(0) as u64);
                received.fetch_add(1, Ordering::Relaxed);
            }
            Some("ping") => socket.send(send(json!({ "type": "pong" }))).await.unwrap(),
            Some("complete") => return,
            _ => {}
        }
    }
}

/// Resident memory of the server process in KiB, when `SERVER_PID` names it.
fn server_rss_kib() -> Option<u64> {
    let pid = std::env::var("SERVER_PID").ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8000".into());
    let subscribers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let tenants: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let rate: u64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(20);
    let url = format!("{base}/graphql");
    let ws_url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
    let client = reqwest::Client::new();
    let run = format!("{:x}", chrono::Utc::now().timestamp_millis());

    let mut orgs = Vec::new();
    for index in 0..tenants {
        orgs.push(tenant(&client, &url, &run, index).await);
    }
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let rss_before = server_rss_kib();
    for index in 0..subscribers {
        let token = orgs[index % tenants].token.clone();
        tokio::spawn(subscriber(
            ws_url.clone(),
            token,
            received.clone(),
            latencies.clone(),
        ));
    }
    let storm = Instant::now();
    while ACKNOWLEDGED.load(Ordering::SeqCst) + ERRORS.load(Ordering::SeqCst) < subscribers as u64
        && storm.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "reconnect storm: {} of {subscribers} connections acknowledged in {:.2} s, {} refused or failed",
        ACKNOWLEDGED.load(Ordering::SeqCst),
        storm.elapsed().as_secs_f64(),
        ERRORS.load(Ordering::SeqCst)
    );
    // Let every subscription start before writing (and before memory is read).
    tokio::time::sleep(Duration::from_secs(3 + subscribers as u64 / 1000)).await;
    if let (Some(before), Some(idle)) = (rss_before, server_rss_kib()) {
        println!(
            "server memory: {before} KiB before, {idle} KiB with {subscribers} idle subscriptions: {:.1} KiB per subscription",
            idle.saturating_sub(before) as f64 / subscribers as f64
        );
    }
    latencies.lock().unwrap().clear();
    received.store(0, Ordering::SeqCst);

    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut writes = 0u64;
    let expected = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    while started.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        let index = writes as usize % tenants;
        let org = &orgs[index];
        let (client, url, token, lead) = (
            client.clone(),
            url.clone(),
            org.token.clone(),
            org.lead.clone(),
        );
        // 1..=100, never the initial 0: every write changes the score, so each is an event.
        let score = (writes % 100) as i64 + 1;
        let (expected, refused) = (expected.clone(), refused.clone());
        let audience = (subscribers / tenants + usize::from(index < subscribers % tenants)) as u64;
        tokio::spawn(async move {
            let response: Value = client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({
                    "query": "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }",
                    "variables": { "input": { "id": lead, "score": score } },
                }))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON");
            // A write past its organization's share of the pool is refused, and is no event.
            match response["errors"][0]["extensions"]["code"].as_str() {
                None => expected.fetch_add(audience, Ordering::SeqCst),
                Some("RATE_LIMITED") => refused.fetch_add(1, Ordering::SeqCst),
                Some(_) => panic!("{response}"),
            };
        });
        writes += 1;
    }
    let writing = started.elapsed();
    // Give the last events time to arrive.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = received.load(Ordering::SeqCst);
    let expected = expected.load(Ordering::SeqCst);
    let mut sorted = latencies.lock().unwrap().clone();
    sorted.sort_unstable();
    println!(
        "subscribers={subscribers} tenants={tenants} writes={writes} ({:.0}/s, {} refused RATE_LIMITED) expected deliveries={expected} received={got} missing={}",
        writes as f64 / writing.as_secs_f64(),
        refused.load(Ordering::SeqCst),
        expected.saturating_sub(got)
    );
    println!(
        "subscriptions ended by an error: {}",
        ERRORS.load(Ordering::SeqCst)
    );
    println!(
        "deliveries/s={:.0} latency ms: p50={:.1} p90={:.1} p99={:.1} max={:.1}",
        got as f64 / writing.as_secs_f64(),
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.90),
        percentile(&sorted, 0.99),
        percentile(&sorted, 1.0),
    );
}
