//! PostgreSQL going away and coming back, on a server of the test's own: requests fail fast
//! with UNAVAILABLE meanwhile, `/readyz` reports it, and everything serves again without
//! restarting LeadGraph — subscribers included, with no event missed.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{
    TestApp, TestDb,
    private_pg::PrivatePostgres,
    receiver::{Answer, Receiver},
    tenant::uuid_of,
    ws::LEAD_EVENTS,
};

async fn readyz(app: &TestApp) -> u16 {
    app.http()
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_server_survives_postgresql_restarting() {
    let Some(postgres) = PrivatePostgres::start() else {
        return;
    };
    let db = TestDb::on_private_server(&postgres.address()).await;
    let app = TestApp::spawn_on(db, |c| {
        c.pool.acquire_timeout = Duration::from_millis(500);
        c.events.sweep_interval = Duration::from_millis(500);
        // Subscriptions re-check their credential during the outage.
        c.events.revalidate_interval = Duration::from_millis(200);
        c.webhooks.poll_interval = Duration::from_millis(200);
        // A delivery whose outcome the outage kept from being recorded is leased for twice
        // this; short, so it is made again soon.
        c.webhooks.timeout = Duration::from_secs(2);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let receiver = Receiver::start(Answer::Ok).await;
    app.gql(
        acme.token(),
        "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }",
        json!({ "input": { "url": receiver.url(), "eventKinds": ["CREATED", "SCORED"] } }),
    )
    .await
    .ok();
    let lead = acme
        .create_lead(
            &app,
            json!({ "firstName": "Ada", "email": "ada@acme.test" }),
        )
        .await;
    let mut subscriber = app.ws(&acme.owner.access_token).await;
    subscriber
        .subscribe(
            "1",
            LEAD_EVENTS,
            json!({ "filter": { "kinds": ["SCORED"] } }),
        )
        .await;
    while app.events.subscriber_count() < 1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let update = |score: i64| {
        let (app, token, lead) = (&app, acme.token(), lead.clone());
        async move {
            app.gql(
                token,
                "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { score } } }",
                json!({ "input": { "id": lead, "score": score } }),
            )
            .await
        }
    };
    update(10).await.ok();
    assert_eq!(subscriber.next_event("1").await["lead"]["score"], 10);

    postgres.stop();
    let started = Instant::now();
    let during = app
        .gql(acme.token(), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(during.code(), "UNAVAILABLE");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the outage is reported within the acquire timeout, not after a hang"
    );
    assert_eq!(readyz(&app).await, 503);
    // Long enough for subscriptions' credential checks and the webhook worker to meet the
    // outage (every 200 ms).
    tokio::time::sleep(Duration::from_millis(600)).await;

    postgres.start_again();
    let back = Instant::now();
    loop {
        let response = app
            .gql(acme.token(), "{ leads { totalCount } }", json!({}))
            .await;
        if response.body.get("errors").is_none() {
            assert_eq!(response.at("/leads/totalCount"), 1);
            break;
        }
        assert_eq!(response.code(), "UNAVAILABLE");
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "still unavailable 5 s after PostgreSQL returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(readyz(&app).await, 200);

    // The subscription lived through the outage and misses nothing written after it.
    update(20).await.ok();
    update(30).await.ok();
    // (An event carries the lead as it is when delivered.)
    let events = subscriber.events("1", 2).await;
    let kinds: Vec<_> = events.iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, [json!("SCORED"), json!("SCORED")]);
    assert_eq!(events[1]["lead"]["score"], 30);
    assert_eq!(
        uuid_of(events[0]["leadId"].as_str().unwrap()),
        uuid_of(&lead)
    );

    // Webhooks: the lead's creation and its three score changes, each delivered at least once
    // (a delivery whose outcome could not be recorded during the outage is made again).
    let mut delivered = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.len() < 4 && Instant::now() < deadline {
        for request in receiver.received() {
            let body = request.json();
            delivered.insert(
                request.header("webhook-id").to_owned(),
                body["type"].as_str().unwrap_or_default().to_owned(),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut kinds: Vec<_> = delivered.into_values().collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["lead.created", "lead.scored", "lead.scored", "lead.scored"]
    );
}
