//! `/metrics` for operators: served only with the configured token, counting what the
//! requests were, how they ended, their statements, the pool and the busiest tenants.

use serde_json::json;

use leadgraph::config::Secret;

use crate::support::TestApp;

const TOKEN: &str = "metrics-token-for-the-scraper";

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut request = app.http().get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn without_a_token_configured_there_are_no_metrics_and_a_wrong_token_reads_none() {
    let app = TestApp::spawn().await;
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, 404);
    let app = TestApp::spawn_with(|c| c.metrics_token = Some(Secret::new(TOKEN))).await;
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(
        scrape(&app, Some("metrics-token-for-the-scrapeX")).await.0,
        401
    );
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, 200);
}

#[tokio::test]
async fn requests_are_counted_by_operation_and_outcome_with_their_statements() {
    let app = TestApp::spawn_with(|c| c.metrics_token = Some(Secret::new(TOKEN))).await;
    let acme = app.sign_up("acme").await;
    for _ in 0..2 {
        app.gql(acme.token(), "query Dashboard { me { email } }", json!({}))
            .await
            .ok();
    }
    let refused = app
        .gql(acme.token(), "query Broken { nothing }", json!({}))
        .await;
    assert_eq!(refused.code(), "GRAPHQL_VALIDATION_FAILED");

    let (status, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 200);
    for expected in [
        r#"leadgraph_graphql_requests_total{operation_type="query",operation_name="Dashboard",outcome="OK"} 2"#,
        r#"leadgraph_graphql_requests_total{operation_type="query",operation_name="Broken",outcome="GRAPHQL_VALIDATION_FAILED"} 1"#,
        r#"leadgraph_graphql_requests_total{operation_type="mutation",operation_name="",outcome="OK"} 1"#,
        r#"leadgraph_graphql_request_duration_seconds_count{operation_type="query"} 3"#,
        r#"leadgraph_pool_connections{state="max"} 4"#,
        "leadgraph_pool_waiting 0",
        "leadgraph_subscriptions 0",
        "leadgraph_webhook_backlog 0",
        "# EOF",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    // The signed-in queries ran statements (the principal check, the user), counted per request.
    let statements = text
        .lines()
        .find(|l| {
            l.starts_with(r#"leadgraph_graphql_request_statements_sum{operation_type="query"}"#)
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .expect("statement sum");
    assert!(statements >= 2.0, "{statements}");
    // The organization's own requests (the two queries and the refused one; sign-up had none
    // yet).
    assert!(
        text.contains(&format!(
            r#"leadgraph_tenant_graphql_requests{{organization_id="{}"}} 3"#,
            acme.organization_id
        )),
        "{text}"
    );
}
