//! Webhooks against a real HTTP receiver: signed, retried, at least once across restarts,
//! never twice at once across replicas, never another tenant's, never to internal addresses
//! unless allowed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Gql, Tenant, TestApp,
    receiver::{Answer, Receiver},
};

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { endpoint { id url health isActive eventKinds } signingSecret }
}";

const DELIVERIES: &str = "query($id: ID!) {
    webhookDeliveries(endpointId: $id, first: 50) {
        nodes { id eventKind leadId status attemptCount lastStatusCode lastError
                attempts(first: 20) { nodes { statusCode error } } }
    }
}";

/// An endpoint of `tenant` for `url`, with its id and signing secret.
async fn endpoint(app: &TestApp, tenant: &Tenant, url: &str) -> (String, String) {
    let created = app
        .gql(
            tenant.token(),
            CREATE,
            json!({ "input": { "url": url, "eventKinds": ["CREATED"] } }),
        )
        .await;
    let payload = &created.ok()["createWebhookEndpoint"];
    (
        payload["endpoint"]["id"].as_str().unwrap().to_owned(),
        payload["signingSecret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, tenant: &Tenant, endpoint: &str) -> Vec<Value> {
    app.gql(tenant.token(), DELIVERIES, json!({ "id": endpoint }))
        .await
        .ok()["webhookDeliveries"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls `webhookDeliveries` until `done` holds.
async fn wait_for_deliveries(
    app: &TestApp,
    tenant: &Tenant,
    endpoint: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..300 {
        let found = deliveries(app, tenant, endpoint).await;
        if done(&found) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries never reached the expected state");
}

fn lead_ids(received: &[crate::support::receiver::Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["data"]["leadId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn events_reach_a_receiver_that_was_down_signed_and_in_order_with_retries_recorded() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (url, addr) = Receiver::unused_url().await;
    let (endpoint_id, secret) = endpoint(&app, &acme, &url).await;
    let mut leads = Vec::new();
    for _ in 0..3 {
        leads.push(acme.create_lead(&app, json!({})).await);
    }
    // Down: the first delivery fails and is retried.
    wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.iter().any(|d| d["attemptCount"].as_i64().unwrap() >= 2)
    })
    .await;

    let receiver = Receiver::start_on(addr, Answer::Ok).await;

    let received = receiver.wait_for(3).await;
    assert_eq!(lead_ids(&received), leads);
    for request in &received {
        assert!(
            request.signature_verifies(&secret),
            "signature of {request:?}"
        );
        assert_eq!(request.json()["type"], "lead.created");
        assert!(request.header("webhook-id").starts_with("msg_"));
    }
    let delivered = wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.len() == 3 && d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    let first = delivered
        .iter()
        .find(|d| d["leadId"] == json!(leads[0]))
        .unwrap();
    let attempts = first["attempts"]["nodes"].as_array().unwrap();
    assert!(attempts.len() >= 2);
    assert_eq!(attempts[0]["statusCode"], 204);
    let failed = attempts.last().unwrap();
    assert_eq!(failed["statusCode"], Value::Null);
    assert_eq!(failed["error"], "connection failed");
}

#[tokio::test]
async fn a_delivery_interrupted_by_a_server_crash_is_made_by_the_next_server() {
    let app = TestApp::spawn_with(|c| c.webhooks.timeout = Duration::from_millis(1500)).await;
    let acme = app.sign_up("acme").await;
    let receiver = Receiver::start(Answer::HangOnce).await;
    let (endpoint_id, secret) = endpoint(&app, &acme, &receiver.url()).await;
    let lead = acme.create_lead(&app, json!({})).await;
    // The first server's POST is in flight (the receiver does not answer it)...
    receiver.wait_for(1).await;
    let restarted = app.replica().await;
    // ...and the server dies with it.
    drop(app);

    let received = receiver.wait_for(2).await;
    assert_eq!(lead_ids(&received), [lead.clone(), lead]);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id"),
        "a retry carries the same webhook-id, so receivers can deduplicate"
    );
    assert!(received[1].signature_verifies(&secret));
    wait_for_deliveries(&restarted, &acme, &endpoint_id, |d| {
        d.len() == 1 && d[0]["status"] == "DELIVERED"
    })
    .await;
}

#[tokio::test]
async fn two_replicas_deliver_each_event_exactly_once() {
    let app = TestApp::spawn().await;
    let replica = app.replica().await;
    let acme = app.sign_up("acme").await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (endpoint_id, _) = endpoint(&app, &acme, &receiver.url()).await;
    let mut leads = Vec::new();
    for i in 0..20 {
        let server = if i % 2 == 0 { &app } else { &replica };
        leads.push(acme.create_lead(server, json!({})).await);
    }

    wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.len() == 20 && d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(lead_ids(&receiver.received()), leads);
}

#[tokio::test]
async fn a_tenants_endpoint_never_receives_another_tenants_events() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let acme_receiver = Receiver::start(Answer::Ok).await;
    let globex_receiver = Receiver::start(Answer::Ok).await;
    endpoint(&app, &acme, &acme_receiver.url()).await;
    endpoint(&app, &globex, &globex_receiver.url()).await;

    let acme_lead = acme.create_lead(&app, json!({})).await;
    let globex_lead = globex.create_lead(&app, json!({})).await;

    assert_eq!(lead_ids(&acme_receiver.wait_for(1).await), [acme_lead]);
    assert_eq!(lead_ids(&globex_receiver.wait_for(1).await), [globex_lead]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(acme_receiver.received().len(), 1);
    assert_eq!(globex_receiver.received().len(), 1);
}

#[tokio::test]
async fn another_tenants_endpoints_and_deliveries_cannot_be_seen_or_touched() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (endpoint_id, _) = endpoint(&app, &acme, &receiver.url()).await;
    acme.create_lead(&app, json!({})).await;
    let delivered = wait_for_deliveries(&app, &acme, &endpoint_id, |d| d.len() == 1).await;
    let delivery_id = delivered[0]["id"].clone();

    let as_globex = |query: &'static str, variables: Value| {
        let app = &app;
        let globex = &globex;
        async move { app.gql(globex.token(), query, variables).await }
    };
    let listed = as_globex(
        "{ webhookEndpoints(first: 10) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(listed.at("/webhookEndpoints/nodes"), &json!([]));
    let seen: Gql = as_globex(
        "query($id: ID!) { node(id: $id) { id } }",
        json!({ "id": endpoint_id }),
    )
    .await;
    assert_eq!(seen.at("/node"), &Value::Null);
    assert_eq!(
        deliveries(&app, &globex, &endpoint_id).await,
        Vec::<Value>::new()
    );
    let updated = as_globex(
        "mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, url: \"http://127.0.0.1:9/x\" }) { endpoint { id } } }",
        json!({ "id": endpoint_id }),
    )
    .await;
    assert_eq!(updated.code(), "NOT_FOUND");
    let deleted = as_globex(
        "mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId } }",
        json!({ "id": endpoint_id }),
    )
    .await;
    assert_eq!(deleted.code(), "NOT_FOUND");
    let redelivered = as_globex(
        "mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { id } } }",
        json!({ "id": delivery_id }),
    )
    .await;
    assert_eq!(redelivered.code(), "NOT_FOUND");
    assert_eq!(deliveries(&app, &acme, &endpoint_id).await.len(), 1);
}

#[tokio::test]
async fn redelivering_sends_a_delivered_event_again() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let receiver = Receiver::start(Answer::Ok).await;
    let (endpoint_id, _) = endpoint(&app, &acme, &receiver.url()).await;
    acme.create_lead(&app, json!({})).await;
    let delivered = wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.len() == 1 && d[0]["status"] == "DELIVERED"
    })
    .await;

    app.gql(
        acme.token(),
        "mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { status } } }",
        json!({ "id": delivered[0]["id"] }),
    )
    .await
    .ok();

    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].body, received[1].body);
    wait_for_deliveries(&app, &acme, &endpoint_id, |d| d[0]["attemptCount"] == 2).await;
}

#[tokio::test]
async fn only_owners_and_admins_manage_endpoints_and_the_secret_is_shown_once() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let manager = acme.add_user(&app, "MANAGER").await;
    let denied = app
        .gql(
            Some(&manager.access_token),
            CREATE,
            json!({ "input": { "url": "http://127.0.0.1:9/hook" } }),
        )
        .await;
    assert_eq!(denied.code(), "FORBIDDEN");
    let listed = app
        .gql(
            Some(&manager.access_token),
            "{ webhookEndpoints(first: 5) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.code(), "FORBIDDEN");

    let (id, secret) = endpoint(&app, &acme, "http://127.0.0.1:9/hook").await;
    assert!(secret.starts_with("whsec_"));
    let disabled = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, isActive: false }) { endpoint { isActive } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        disabled.at("/updateWebhookEndpoint/endpoint/isActive"),
        false
    );
    let deleted = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted.at("/deleteWebhookEndpoint/deletedId"), &json!(id));
}

#[tokio::test]
async fn urls_of_internal_addresses_are_refused_unless_allowed() {
    let app = TestApp::spawn_with(|c| c.webhooks.allow_private_addresses = false).await;
    let acme = app.sign_up("acme").await;
    for url in [
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
    ] {
        let refused = app
            .gql(acme.token(), CREATE, json!({ "input": { "url": url } }))
            .await;
        assert_eq!(refused.code(), "BAD_USER_INPUT", "{url}");
    }
}

#[tokio::test]
async fn an_endpoint_failing_repeatedly_is_marked_failing_with_its_errors_recorded() {
    let app = TestApp::spawn_with(|c| c.webhooks.failing_after = 2).await;
    let acme = app.sign_up("acme").await;
    let receiver = Receiver::start(Answer::Fail).await;
    let (endpoint_id, _) = endpoint(&app, &acme, &receiver.url()).await;
    acme.create_lead(&app, json!({})).await;

    // Recorded attempts, not `attemptCount`: the counter rises when a delivery is claimed, while
    // an attempt row is written with the endpoint's health, in one transaction.
    let failing = wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.len() == 1 && d[0]["attempts"]["nodes"].as_array().unwrap().len() >= 2
    })
    .await;
    assert_eq!(failing[0]["status"], "PENDING");
    assert_eq!(failing[0]["lastStatusCode"], 500);
    assert_eq!(failing[0]["lastError"], "HTTP 500 Internal Server Error");
    let health = app
        .gql(
            acme.token(),
            "{ webhookEndpoints(first: 1) { nodes { health consecutiveFailures } } }",
            json!({}),
        )
        .await;
    assert_eq!(health.at("/webhookEndpoints/nodes/0/health"), "FAILING");
}

#[tokio::test]
async fn a_delivery_still_failing_past_the_retry_horizon_is_given_up_until_redelivered() {
    let app = TestApp::spawn_with(|c| c.webhooks.retry_horizon = Duration::from_millis(500)).await;
    let acme = app.sign_up("acme").await;
    let (url, addr) = Receiver::unused_url().await;
    let (endpoint_id, _) = endpoint(&app, &acme, &url).await;
    acme.create_lead(&app, json!({})).await;

    let given_up = wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.len() == 1 && d[0]["status"] == "FAILED"
    })
    .await;
    let receiver = Receiver::start_on(addr, Answer::Ok).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.received().is_empty(),
        "a FAILED delivery is not retried"
    );

    app.gql(
        acme.token(),
        "mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { id } } }",
        json!({ "id": given_up[0]["id"] }),
    )
    .await
    .ok();

    receiver.wait_for(1).await;
}

/// The app role's sessions on the test's database that have sat inside a transaction without
/// running anything for more than a moment (between two statements of a short transaction a
/// session is idle in transaction for microseconds), with what they last ran.
async fn idle_in_transaction(app: &TestApp, admin: &sea_orm::DatabaseConnection) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = admin
        .query_all_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT coalesce(query, '') FROM pg_stat_activity
             WHERE datname = $1 AND usename = $2 AND state LIKE 'idle in transaction%'
               AND state_change < now() - interval '250 milliseconds'",
            [app.db.name.clone().into(), migration::roles::APP.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn no_connection_is_held_in_a_transaction_while_a_delivery_waits_on_its_receiver() {
    let app = TestApp::spawn_with(|c| {
        c.webhooks.timeout = Duration::from_secs(4);
        c.webhooks.poll_interval = Duration::from_millis(200);
    })
    .await;
    let admin = app.admin_db().await;
    let acme = app.sign_up("acme").await;
    let receiver = Receiver::start(Answer::HangOnce).await;
    let (endpoint_id, _) = endpoint(&app, &acme, &receiver.url()).await;
    acme.create_lead(&app, json!({})).await;
    // The POST is in flight: the receiver holds it without answering.
    receiver.wait_for(1).await;
    for _ in 0..20 {
        let idle = idle_in_transaction(&app, &admin).await;
        assert!(
            idle.is_empty(),
            "idle in transaction during a delivery: {idle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Retried after the timeout, delivered; then the worker only polls.
    wait_for_deliveries(&app, &acme, &endpoint_id, |d| {
        d.len() == 1 && d[0]["status"] == "DELIVERED"
    })
    .await;
    for _ in 0..10 {
        let idle = idle_in_transaction(&app, &admin).await;
        assert!(
            idle.is_empty(),
            "idle in transaction between polls: {idle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    admin.close().await.ok();
}
