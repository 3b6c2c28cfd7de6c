//! Dashboards on another origin: real preflights, marked responses, WebSocket origins.

use leadgraph::cors::AllowedOrigins;
use reqwest::{Method, header::HeaderMap};
use serde_json::json;

use crate::support::{TestApp, ws::Protocol};

const DASHBOARD: &str = "https://dash.example.com";

async fn dashboard_app() -> TestApp {
    TestApp::spawn_with(|c| c.cors_allowed_origins = AllowedOrigins::parse(DASHBOARD).unwrap())
        .await
}

/// A browser's preflight for a POST with a bearer token and JSON, from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> (u16, HeaderMap) {
    let response = app
        .http()
        .request(Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-api-key",
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_listed_origin_gets_its_preflight_answered_and_cached() {
    let app = dashboard_app().await;
    let (status, headers) = preflight(&app, DASHBOARD).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), DASHBOARD);
    let methods = header(&headers, "access-control-allow-methods");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = header(&headers, "access-control-allow-headers");
    for name in ["authorization", "content-type", "x-api-key", "accept"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert_eq!(header(&headers, "access-control-max-age"), "3600");
    assert!(header(&headers, "vary").contains("origin"));
}

#[tokio::test]
async fn another_origin_gets_no_cors_headers() {
    let app = dashboard_app().await;
    let (_, headers) = preflight(&app, "https://evil.example.net").await;
    assert!(headers.get("access-control-allow-origin").is_none());
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example.net")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_dashboards_request_is_marked_and_its_rate_limit_headers_are_readable() {
    let app = dashboard_app().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("origin", DASHBOARD)
        .bearer_auth(&acme.owner.access_token)
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "access-control-allow-origin"), DASHBOARD);
    let exposed = header(&headers, "access-control-expose-headers");
    for name in [
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "x-request-id",
    ] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], acme.owner.email);
}

#[tokio::test]
async fn websocket_upgrades_are_checked_against_the_same_origins() {
    let app = dashboard_app().await;
    let path = "/graphql/ws";
    let protocol = Protocol::TransportWs;
    let evil = app
        .try_ws_connect(path, protocol, &[("origin", "https://evil.example.net")])
        .await;
    assert_eq!(evil.err(), Some(403));
    assert!(
        app.try_ws_connect(path, protocol, &[("origin", DASHBOARD)])
            .await
            .is_ok()
    );
    // GraphiQL is served by the server itself: its page's origin is the server's.
    let own = format!("http://{}", app.addr);
    assert!(
        app.try_ws_connect(path, protocol, &[("origin", &own)])
            .await
            .is_ok()
    );
    // Clients other than browsers send no Origin.
    assert!(app.try_ws_connect(path, protocol, &[]).await.is_ok());
}
