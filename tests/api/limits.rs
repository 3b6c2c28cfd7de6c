//! Request limits: each breach is answered with an error code, never a crash or a hang.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn depth_is_counted_through_fragments() {
    let app = TestApp::spawn_with(|c| c.limits.max_depth = 5).await;
    let acme = app.sign_up("acme").await;
    let query = "{ leads { ...L } } fragment L on LeadConnection { nodes { company { leads { nodes { company { name } } } } } }";
    let response = app.gql(acme.token(), query, json!({})).await;
    assert_eq!(response.code(), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let app = TestApp::spawn_with(|c| c.limits.max_aliases = 3).await;
    let acme = app.sign_up("acme").await;
    let response = app
        .gql(
            acme.token(),
            "{ a: me { id } b: me { id } c: me { id } d: me { id } }",
            json!({}),
        )
        .await;
    assert_eq!(response.code(), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn complexity_grows_with_page_sizes() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let small = "{ leads(first: 10) { nodes { id activities(first: 5) { nodes { id } } } } }";
    app.gql(acme.token(), small, json!({})).await.ok();
    let huge = "{ leads(first: 100) { nodes { id company { leads(first: 100) { nodes { id activities(first: 100) { nodes { id } } } } } } } }";
    assert_eq!(
        app.gql(acme.token(), huge, json!({})).await.code(),
        "LIMIT_EXCEEDED"
    );
}

#[tokio::test]
async fn too_many_directives_are_refused() {
    let app = TestApp::spawn_with(|c| c.limits.max_directives = 2).await;
    let acme = app.sign_up("acme").await;
    let query = "{ me { id @include(if: true) @skip(if: false) @include(if: true) } }";
    let response = app.gql(acme.token(), query, json!({})).await;
    assert_eq!(response.code(), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn pages_larger_than_100_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .gql(
            acme.token(),
            "{ leads(first: 101) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    let response = app
        .gql(
            acme.token(),
            "{ leads(last: 1000) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = TestApp::spawn_with(|c| c.limits.max_body_bytes = 1024).await;
    let padding = "x".repeat(4096);
    let response = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": format!("{{ me {{ id }} }} # {padding}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn a_request_over_its_time_budget_is_cancelled_with_timeout() {
    let app = TestApp::spawn_with(|c| c.limits.request_timeout = Duration::from_millis(500)).await;
    let acme = app.sign_up("acme").await;
    // Hold a lock that the leads query must wait for, longer than the budget.
    let owner = app.owner_db().await;
    use sea_orm::ConnectionTrait;
    owner
        .execute_unprepared("BEGIN; LOCK TABLE leads IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let response = app
        .gql(acme.token(), "{ leads { nodes { id } } }", json!({}))
        .await;
    assert_eq!(response.code(), "TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(5));
    owner.execute_unprepared("ROLLBACK").await.unwrap();
    // The server is fine afterwards.
    assert_eq!(
        app.gql(acme.token(), "{ leads { totalCount } }", json!({}))
            .await
            .at("/leads/totalCount"),
        0
    );
}
