//! Load generator for the workload of docs/architecture.md: 50 leads by score, each with company,
//! assignee and 5 latest activities, as one demo user, from N concurrent clients for a fixed
//! time. Prints throughput and latency percentiles. Run through `scripts/bench.sh`.
//!
//! `cargo run --release --example bench -- [url] [concurrency] [seconds]`
//!
//! `BENCH_CREDENTIAL` picks the credential: `token` (default: the agent's access token),
//! `owner-token`, or `owner-key` (a READ API key the owner creates, acting as the owner): the
//! last two compare a key's cost with a token's on the same user. `BENCH_WORKLOAD=light` runs
//! a small page instead of the dashboard, `BENCH_WORKLOAD=board` the sales pipeline's board.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WORKLOAD: &str = "query Workload($after: String) {
  leads(first: 50, after: $after, orderBy: { field: SCORE, direction: DESC }) {
    pageInfo { endCursor }
    nodes {
      id fullName email score status
      company { name industry }
      assignedTo { fullName email }
      activities(first: 5) { nodes { kind subject createdAt } }
    }
  }
}";

/// `BENCH_WORKLOAD=light`: a small page, where a request's fixed costs (credential, transaction)
/// weigh most.
const LIGHT_WORKLOAD: &str = "query Light($after: String) {
  leads(first: 20, after: $after) { pageInfo { endCursor } nodes { id company { name } } }
}";

/// `BENCH_WORKLOAD=board`: every stage with its 10 most valuable deals, its count and its value
/// per currency.
const BOARD_WORKLOAD: &str = "query Board {
  pipelineBoard(firstDealsPerStage: 10) {
    stage { name winProbability }
    dealCount valueByCurrency { amount currency }
    deals { title value { amount currency } expectedCloseDate owner { fullName } company { name } }
  }
}";

/// The string at `pointer` in the answer to a set-up request (`token`: as whom).
async fn setup(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
    pointer: &str,
) -> String {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response: Value = request
        .send()
        .await
        .expect("set-up request")
        .json()
        .await
        .expect("set-up response");
    response
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {response}"))
        .to_owned()
}

async fn login(client: &reqwest::Client, url: &str, email: &str) -> String {
    let body = json!({
        "query": "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
        "variables": { "input": {
            "organizationSlug": "acme", "email": email,
            "password": leadgraph::seed::DEMO_PASSWORD } }
    });
    setup(client, url, None, body, "/data/login/accessToken").await
}

/// A new READ API key of the demo owner.
async fn api_key(client: &reqwest::Client, url: &str) -> String {
    let token = login(client, url, "owner@acme.test").await;
    let body = json!({
        "query": "mutation { createApiKey(input: { name: \"bench\", scopes: [READ],
                    rateLimitPerHour: 1000000 }) { secret } }"
    });
    setup(client, url, Some(&token), body, "/data/createApiKey/secret").await
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8000/graphql".into());
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let client = reqwest::Client::new();
    let token = match std::env::var("BENCH_CREDENTIAL").as_deref() {
        Err(_) | Ok("token") => login(&client, &url, "agent@acme.test").await,
        Ok("owner-token") => login(&client, &url, "owner@acme.test").await,
        Ok("owner-key") => api_key(&client, &url).await,
        Ok(other) => panic!("BENCH_CREDENTIAL: token, owner-token or owner-key, not {other}"),
    };

    let workload = match std::env::var("BENCH_WORKLOAD").as_deref() {
        Ok("light") => LIGHT_WORKLOAD,
        Ok("board") => BOARD_WORKLOAD,
        _ => WORKLOAD,
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                // Half the clients read page 1, half walk deeper pages: keyset pages cost the same.
                let mut after = Value::Null;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "query": workload, "variables": { "after": after } }))
                        .send()
                        .await;
                    let body: Option<Value> = match response {
                        Ok(r) => r.json().await.ok(),
                        Err(_) => None,
                    };
                    match body {
                        Some(body) if body.get("errors").is_none() => {
                            latencies.push(started.elapsed());
                            if worker % 2 == 1 {
                                after = body["data"]["leads"]["pageInfo"]["endCursor"].clone();
                            }
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "requests {} errors {errors} concurrency {concurrency} seconds {seconds}\n\
         throughput {:.0} req/s  p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / seconds as f64,
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        latencies
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN),
    );
}
