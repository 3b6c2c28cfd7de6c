//! Rate limits: API keys per hour, users per minute, and sign-in throttling per account and per
//! client address (counted in the database, so it holds across replicas).

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use leadgraph::config::Config;

use crate::support::{
    TestApp,
    tenant::{PASSWORD, Tenant},
};

/// POSTs `{ me { id } }` with a bearer credential; status, headers and body.
async fn me(app: &TestApp, credential: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(credential)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().await.unwrap())
}

/// A READ key of `tenant` allowed `per_hour` requests an hour; its secret.
async fn key_with_limit(app: &TestApp, tenant: &Tenant, per_hour: u32) -> String {
    let created = app
        .gql(
            tenant.token(),
            "mutation($limit: Int!) { createApiKey(input: { name: \"ci\", scopes: [READ], \
             rateLimitPerHour: $limit }) { secret apiKey { rateLimitPerHour } } }",
            json!({ "limit": per_hour }),
        )
        .await;
    assert_eq!(
        created.at("/createApiKey/apiKey/rateLimitPerHour"),
        per_hour
    );
    created
        .at("/createApiKey/secret")
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_api_key_past_its_hourly_limit_is_refused_with_retry_after() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let secret = key_with_limit(&app, &acme, 3).await;
    for remaining in [2, 1, 0] {
        let (status, headers, _) = me(&app, &secret).await;
        assert_eq!(status, 200);
        assert_eq!(headers["ratelimit-policy"], "\"default\";q=3;w=3600");
        let standing = headers["ratelimit"].to_str().unwrap();
        assert!(
            standing.starts_with(&format!("\"default\";r={remaining};t=")),
            "{standing}"
        );
    }
    let (status, headers, body) = me(&app, &secret).await;
    assert_eq!(status, 429);
    // One request more fits every 1,200 s.
    assert_eq!(headers["retry-after"], "1200");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1200);
    // Another credential of the same organization is not affected.
    assert_eq!(me(&app, &acme.owner.access_token).await.0, 200);
}

#[tokio::test]
async fn replicas_together_admit_no_more_than_a_keys_limit() {
    let syncing = |c: &mut Config| c.limits.rate_limit_sync = Duration::from_millis(50);
    let app = TestApp::spawn_with(syncing).await;
    let replica = app.replica_with(syncing).await;
    let acme = app.sign_up("acme").await;
    let secret = key_with_limit(&app, &acme, 20).await;
    // Requests alternate between the replicas, as behind a round-robin balancer: counting
    // alone, each would admit 20 of its 30.
    let mut statuses = Vec::new();
    for i in 0..60 {
        let server = if i % 2 == 0 { &app } else { &replica };
        statuses.push(me(server, &secret).await.0);
    }
    let admitted = |server: usize| {
        statuses
            .iter()
            .skip(server)
            .step_by(2)
            .filter(|s| **s == 200)
            .count()
    };
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(admitted(0) + admitted(1) + refused, 60, "{statuses:?}");
    assert!(admitted(0) + admitted(1) <= 20, "{statuses:?}");
    // Both served, and the limit was used, not merely guarded (a grant left unused by one
    // replica comes back at its next sync).
    assert!(admitted(0) > 0 && admitted(1) > 0, "{statuses:?}");
    assert!(admitted(0) + admitted(1) >= 15, "{statuses:?}");
}

#[tokio::test]
async fn a_key_limit_is_validated_and_can_be_changed() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let refused = app
        .gql(
            acme.token(),
            r#"mutation { createApiKey(input: { name: "ci", scopes: [READ], rateLimitPerHour: 0 }) { secret } }"#,
            json!({}),
        )
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "rateLimitPerHour"
    );
    let (id, _) = acme.api_key(&app, &["READ"]).await;
    let updated = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { updateApiKey(input: { id: $id, rateLimitPerHour: 50000 }) { apiKey { name rateLimitPerHour } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(updated.at("/updateApiKey/apiKey/rateLimitPerHour"), 50000);
}

#[tokio::test]
async fn a_user_past_the_per_minute_limit_is_refused() {
    let app = TestApp::spawn_with(|c| c.limits.user_rate_limit_per_minute = 2).await;
    let acme = app.sign_up("acme").await;
    let token = &acme.owner.access_token;
    assert_eq!(me(&app, token).await.0, 200);
    assert_eq!(me(&app, token).await.0, 200);
    let (status, headers, _) = me(&app, token).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "30");
}

/// A login with `password`; the error code, or "OK".
async fn login_code(app: &TestApp, slug: &str, email: &str, password: &str) -> String {
    let response = app.login(slug, email, password).await;
    match response.body.get("errors") {
        None => "OK".into(),
        Some(_) => response.code().to_owned(),
    }
}

#[tokio::test]
async fn failed_sign_ins_make_the_account_wait_even_for_the_right_password() {
    let app = TestApp::spawn_with(|c| c.limits.sign_in.free_failures = 3).await;
    app.sign_up("acme").await;
    let email = "owner@acme.test";
    for _ in 0..4 {
        assert_eq!(
            login_code(&app, "acme", email, "wrong-password-1").await,
            "UNAUTHENTICATED"
        );
    }
    // The fourth failure set a wait: now even the right password is refused, without saying
    // whether it was right.
    assert_eq!(
        login_code(&app, "acme", email, PASSWORD).await,
        "RATE_LIMITED"
    );
    // After the wait (1 s) it works, and the account's count starts over.
    let mut outcome = String::new();
    for _ in 0..50 {
        outcome = login_code(&app, "acme", email, PASSWORD).await;
        if outcome != "RATE_LIMITED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outcome, "OK");
    assert_eq!(
        login_code(&app, "acme", email, "wrong-password-1").await,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn concurrent_guesses_are_counted_one_by_one() {
    let app = TestApp::spawn_with(|c| c.limits.sign_in.free_failures = 5).await;
    app.sign_up("acme").await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        async move {
            login_code(
                app,
                "acme",
                "owner@acme.test",
                &format!("guess-{i}-xxxxxxx"),
            )
            .await
        }
    });
    let outcomes = join_all(guesses).await;
    let tried = outcomes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    let refused = outcomes.iter().filter(|c| *c == "RATE_LIMITED").count();
    // Five free failures and the sixth that starts the wait; every other guess waits.
    assert_eq!((tried, refused), (6, 14), "{outcomes:?}");
}

#[tokio::test]
async fn one_address_failing_across_accounts_is_made_to_wait() {
    let app = TestApp::spawn_with(|c| c.limits.sign_in.address_failures_per_window = 3).await;
    app.sign_up("acme").await;
    for account in ["a@acme.test", "b@acme.test", "c@acme.test"] {
        assert_eq!(
            login_code(&app, "acme", account, "wrong-password-1").await,
            "UNAUTHENTICATED"
        );
    }
    assert_eq!(
        login_code(&app, "acme", "owner@acme.test", PASSWORD).await,
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_trusted_proxies() {
    let app = TestApp::spawn_with(|c| {
        c.limits.sign_in.address_failures_per_window = 2;
        c.trusted_proxies = leadgraph::admission::ClientIp::parse_list("127.0.0.1").unwrap();
    })
    .await;
    app.sign_up("acme").await;
    let attempt = |forwarded: &'static str, email: &'static str| {
        let app = &app;
        async move {
            let response = app
                .http()
                .post(app.url("/graphql"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({
                    "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                    "variables": { "i": { "organizationSlug": "acme", "email": email, "password": "wrong-password-1" } },
                }))
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // Two failures from 198.51.100.1 block that address, not another one behind the same proxy.
    assert_eq!(
        attempt("198.51.100.1", "a@acme.test").await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        attempt("198.51.100.1", "b@acme.test").await,
        "UNAUTHENTICATED"
    );
    assert_eq!(attempt("198.51.100.1", "c@acme.test").await, "RATE_LIMITED");
    assert_eq!(
        attempt("198.51.100.2", "c@acme.test").await,
        "UNAUTHENTICATED"
    );
}
