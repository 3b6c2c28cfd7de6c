//! GraphQL over HTTP: methods, content types, health, GraphiQL.

use serde_json::{Value, json};

use crate::support::TestApp;

#[tokio::test]
async fn queries_work_over_get() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "{ organization { slug } }")])
        .bearer_auth(&acme.owner.access_token)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["organization"]["slug"], "acme");
}

#[tokio::test]
async fn mutations_are_refused_over_get() {
    let app = TestApp::spawn().await;
    let response = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { logout { success } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn form_and_text_posts_are_refused() {
    let app = TestApp::spawn().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let response = app
            .http()
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(json!({ "query": "{ me { id } }" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 415, "{content_type}");
    }
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let health = app.http().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = app.http().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn graphiql_is_served_at_the_root() {
    let app = TestApp::spawn().await;
    let page = app
        .http()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql") || page.contains("GraphiQL"));
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.http().get(app.url("/healthz")).send().await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn parse_errors_have_a_code() {
    let app = TestApp::spawn().await;
    let response = app.gql(None, "{ me { id ", json!({})).await;
    assert_eq!(response.code(), "GRAPHQL_PARSE_FAILED");
}
