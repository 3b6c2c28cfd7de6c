//! `leadEvents` over a real WebSocket: what is delivered, to whom, in which order, and what
//! happens across reconnects, replicas, slow readers and revoked credentials.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Gql, Tenant, TestApp,
    key_order::keys_in_order,
    tenant::uuid_of,
    ws::{LEAD_EVENTS, Protocol, ServerMessage, WsClient},
};

const SUB: &str = "events";

async fn update_lead(app: &TestApp, tenant: &Tenant, input: Value) -> Gql {
    app.gql(
        tenant.token(),
        "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn set_score(app: &TestApp, tenant: &Tenant, lead: &str, score: i64) {
    update_lead(app, tenant, json!({ "id": lead, "score": score }))
        .await
        .ok();
}

/// A subscriber of `tenant`'s events, from now on.
async fn subscriber(app: &TestApp, token: &str) -> WsClient {
    let mut client = app.ws(token).await;
    client.subscribe(SUB, LEAD_EVENTS, json!({})).await;
    client
}

/// Waits until the server's feed serves `count` subscribers (they have joined the feed).
async fn wait_for_subscribers(app: &TestApp, count: usize) {
    for _ in 0..200 {
        if app.events.subscriber_count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("subscribers did not join the feed");
}

/// The tenant's current event cursor, from the `leadEventCursor` query.
async fn current_cursor(app: &TestApp, tenant: &Tenant) -> Value {
    app.gql(tenant.token(), "{ leadEventCursor }", json!({}))
        .await
        .ok()["leadEventCursor"]
        .clone()
}

/// The error code a subscription after `cursor` is refused with.
async fn refusal_code(app: &TestApp, token: &str, cursor: Value) -> Value {
    let mut client = app.ws(token).await;
    client
        .subscribe(SUB, LEAD_EVENTS, json!({ "after": cursor }))
        .await;
    ending_error(&mut client).await["extensions"]["code"].clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_kind_of_lead_change_is_delivered_in_order_with_its_fields_and_actor() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let mut client = subscriber(&app, &acme.owner.access_token).await;
    wait_for_subscribers(&app, 1).await;

    let lead = acme
        .create_lead(&app, json!({ "firstName": "Grace" }))
        .await;
    update_lead(
        &app,
        &acme,
        json!({ "id": lead, "firstName": "Ada", "status": "CONTACTED", "score": 70 }),
    )
    .await
    .ok();
    app.gql(
        acme.token(),
        "mutation($input: AssignLeadInput!) { assignLead(input: $input) { lead { id } } }",
        json!({ "input": { "leadId": lead, "userId": agent.user_id } }),
    )
    .await
    .ok();
    let note = acme.add_note(&app, &lead, false).await;
    let activity = acme.log_activity(&app, &lead).await;
    for mutation in ["deleteLead", "restoreLead"] {
        app.gql(
            acme.token(),
            &format!(
                "mutation($input: LeadIdInput!) {{ {mutation}(input: $input) {{ lead {{ id }} }} }}"
            ),
            json!({ "input": { "id": lead } }),
        )
        .await
        .ok();
    }

    let events = client.events(SUB, 10).await;
    assert_eq!(
        kinds(&events),
        [
            "CREATED",
            "UPDATED",
            "STATUS_CHANGED",
            "SCORED",
            "ASSIGNED",
            "NOTE_ADDED",
            "ACTIVITY_LOGGED",
            // Logging an activity also sets the lead's lastContactedAt.
            "UPDATED",
            "DELETED",
            "RESTORED",
        ]
    );
    assert_eq!(events[1]["changedFields"], json!(["firstName"]));
    assert_eq!(events[2]["changedFields"], json!(["status"]));
    assert_eq!(events[3]["changedFields"], json!(["score"]));
    assert_eq!(events[4]["changedFields"], json!(["assignedTo"]));
    assert_eq!(events[5]["subjectId"], json!(note));
    assert_eq!(events[6]["subjectId"], json!(activity));
    assert_eq!(events[7]["changedFields"], json!(["lastContactedAt"]));
    assert_eq!(events[8]["changedFields"], json!(["deletedAt"]));
    for event in &events {
        assert_eq!(event["leadId"], json!(lead));
        assert_eq!(event["actor"]["id"], json!(acme.owner.user_id));
        assert_eq!(event["lead"]["id"], json!(lead));
    }
    let cursors: std::collections::HashSet<&str> = events
        .iter()
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    assert_eq!(
        cursors.len(),
        events.len(),
        "every event has its own cursor"
    );
}

#[tokio::test]
async fn a_change_rolled_back_with_its_request_is_never_delivered() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let mut client = subscriber(&app, &acme.owner.access_token).await;
    wait_for_subscribers(&app, 1).await;

    // The second mutation fails, so the whole request (and the first's event) rolls back.
    let failed = app
        .gql(
            acme.token(),
            "mutation($ok: UpdateLeadInput!, $bad: UpdateLeadInput!) {
                a: updateLead(input: $ok) { lead { id } }
                b: updateLead(input: $bad) { lead { id } }
            }",
            json!({ "ok": { "id": lead, "score": 10 }, "bad": { "id": lead, "score": 500 } }),
        )
        .await;
    assert_eq!(failed.code(), "BAD_USER_INPUT");
    set_score(&app, &acme, &lead, 20).await;

    let event = client.next_event(SUB).await;
    assert_eq!(event["kind"], "SCORED");
    assert_eq!(event["lead"]["score"], 20);
}

#[tokio::test]
async fn two_tenants_writing_concurrently_each_receive_exactly_their_own_events() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let mut acme_client = subscriber(&app, &acme.owner.access_token).await;
    let mut globex_client = subscriber(&app, &globex.owner.access_token).await;
    wait_for_subscribers(&app, 2).await;

    let write = |tenant: Tenant| {
        let app = &app;
        async move {
            let mut leads = Vec::new();
            for _ in 0..15 {
                leads.push(tenant.create_lead(app, json!({})).await);
            }
            leads
        }
    };
    let (acme_leads, globex_leads) = tokio::join!(write(acme.clone()), write(globex.clone()));

    let acme_events = acme_client.events(SUB, 15).await;
    let globex_events = globex_client.events(SUB, 15).await;
    let ids = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["leadId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&acme_events), acme_leads);
    assert_eq!(ids(&globex_events), globex_leads);
    acme_client.expect_silence(Duration::from_millis(300)).await;
    globex_client
        .expect_silence(Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn a_subscriber_resuming_from_its_last_cursor_receives_exactly_the_missed_events_in_order() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let mut client = subscriber(&app, &acme.owner.access_token).await;
    wait_for_subscribers(&app, 1).await;
    set_score(&app, &acme, &lead, 1).await;
    let last_seen = client.next_event(SUB).await["cursor"].clone();
    client.close().await;

    let mut made = Vec::new();
    for _ in 0..100 {
        made.push(acme.create_lead(&app, json!({})).await);
    }

    let mut client = app.ws(&acme.owner.access_token).await;
    client
        .subscribe(SUB, LEAD_EVENTS, json!({ "after": last_seen }))
        .await;
    let missed = client.events(SUB, 100).await;
    assert!(missed.iter().all(|e| e["kind"] == "CREATED"));
    let replayed: Vec<&str> = missed
        .iter()
        .map(|e| e["leadId"].as_str().unwrap())
        .collect();
    assert_eq!(replayed, made);
    // Then live events, with nothing repeated in between.
    let live = acme.create_lead(&app, json!({})).await;
    assert_eq!(client.next_event(SUB).await["leadId"], json!(live));
    client.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn resuming_replays_the_missed_changes_in_the_order_they_were_made() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let cursor = current_cursor(&app, &acme).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(acme.create_lead(&app, json!({})).await);
    }
    let mut client = app.ws(&acme.owner.access_token).await;
    client
        .subscribe(SUB, LEAD_EVENTS, json!({ "after": cursor }))
        .await;
    let replayed: Vec<String> = client
        .events(SUB, 5)
        .await
        .iter()
        .map(|e| e["leadId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(replayed, made);
}

#[tokio::test]
async fn a_change_made_through_one_server_reaches_a_subscriber_on_another() {
    let app = TestApp::spawn().await;
    let replica = app.replica().await;
    let acme = app.sign_up("acme").await;
    let mut client = subscriber(&replica, &acme.owner.access_token).await;
    wait_for_subscribers(&replica, 1).await;

    let lead = acme.create_lead(&app, json!({})).await;

    let event = client.next_event(SUB).await;
    assert_eq!(event["kind"], "CREATED");
    assert_eq!(event["leadId"], json!(lead));
}

#[tokio::test]
async fn a_change_made_outside_the_server_is_still_delivered() {
    let app = TestApp::spawn_with(|c| c.events.sweep_interval = Duration::from_millis(200)).await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let mut client = subscriber(&app, &acme.owner.access_token).await;
    wait_for_subscribers(&app, 1).await;

    // A maintenance script: no NOTIFY, yet the trigger records it and the feed's sweep finds it.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "UPDATE leads SET status = 'qualified' WHERE id = '{}'",
            uuid_of(&lead)
        ),
    )
    .await;

    let event = client.next_event(SUB).await;
    assert_eq!(event["kind"], "STATUS_CHANGED");
    assert_eq!(event["actor"], Value::Null);
}

#[tokio::test]
async fn filters_select_kinds_and_leads() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let watched = acme.create_lead(&app, json!({})).await;
    let other = acme.create_lead(&app, json!({})).await;
    let mut client = app.ws(&acme.owner.access_token).await;
    client
        .subscribe(
            SUB,
            LEAD_EVENTS,
            json!({ "filter": { "kinds": ["SCORED"], "leadId": watched } }),
        )
        .await;
    wait_for_subscribers(&app, 1).await;

    set_score(&app, &acme, &other, 5).await;
    acme.add_note(&app, &watched, false).await;
    set_score(&app, &acme, &watched, 9).await;

    let event = client.next_event(SUB).await;
    assert_eq!(
        (event["kind"].as_str(), &event["leadId"]),
        (Some("SCORED"), &json!(watched))
    );
    client.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_private_note_is_announced_to_its_author_only() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let mut owner_client = subscriber(&app, &acme.owner.access_token).await;
    let mut agent_client = subscriber(&app, &agent.access_token).await;
    wait_for_subscribers(&app, 2).await;

    let as_agent = Tenant {
        owner: agent.clone(),
        ..acme.clone()
    };
    as_agent.add_note(&app, &lead, true).await;
    acme.log_activity(&app, &lead).await;

    assert_eq!(agent_client.next_event(SUB).await["kind"], "NOTE_ADDED");
    assert_eq!(
        agent_client.next_event(SUB).await["kind"],
        "ACTIVITY_LOGGED"
    );
    assert_eq!(
        owner_client.next_event(SUB).await["kind"],
        "ACTIVITY_LOGGED"
    );
}

#[tokio::test]
async fn nested_lead_fields_resolve_with_the_subscribers_own_permissions() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let as_agent = Tenant {
        owner: agent.clone(),
        ..acme.clone()
    };
    as_agent.add_note(&app, &lead, true).await;
    acme.add_note(&app, &lead, false).await;
    let query = "subscription { leadEvents { kind lead { notes(first: 10) { totalCount } company { name } } } }";
    let mut owner_client = app.ws(&acme.owner.access_token).await;
    owner_client.subscribe(SUB, query, json!({})).await;
    let mut agent_client = app.ws(&agent.access_token).await;
    agent_client.subscribe(SUB, query, json!({})).await;
    wait_for_subscribers(&app, 2).await;

    set_score(&app, &acme, &lead, 3).await;

    let notes = |event: Value| event["lead"]["notes"]["totalCount"].clone();
    assert_eq!(notes(owner_client.next_event(SUB).await), 1);
    assert_eq!(notes(agent_client.next_event(SUB).await), 2);
}

#[tokio::test]
async fn a_connection_without_valid_credentials_is_closed_with_4403() {
    let app = TestApp::spawn().await;
    for payload in [json!({}), json!({ "Authorization": "Bearer not-a-token" })] {
        let mut client = app
            .ws_connect("/graphql/ws", Protocol::TransportWs, &[])
            .await;
        client.init(payload).await;
        match client.recv().await {
            ServerMessage::Closed { code, .. } => assert_eq!(code, 4403),
            other => panic!("expected the connection closed, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_legacy_protocol_refuses_a_bad_credential_with_connection_error() {
    let app = TestApp::spawn().await;
    let mut client = app.ws_connect("/graphql/ws", Protocol::Legacy, &[]).await;
    client
        .init(json!({ "apiKey": "lg_000000000000_nope" }))
        .await;
    assert!(matches!(
        client.recv().await,
        ServerMessage::ConnectionError
    ));
}

#[tokio::test]
async fn the_legacy_protocol_delivers_events_authenticated_by_an_api_key() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    let mut client = app.ws_connect("/graphql/ws", Protocol::Legacy, &[]).await;
    client.init(json!({ "apiKey": key })).await;

    assert_acknowledged_and_receiving(&app, &acme, client).await;
}

/// The connection is acknowledged and a subscription on it receives the tenant's next change.
async fn assert_acknowledged_and_receiving(app: &TestApp, tenant: &Tenant, mut client: WsClient) {
    assert!(matches!(client.recv().await, ServerMessage::Ack));
    client.subscribe(SUB, LEAD_EVENTS, json!({})).await;
    wait_for_subscribers(app, 1).await;
    let lead = tenant.create_lead(app, json!({})).await;
    assert_eq!(client.next_event(SUB).await["leadId"], json!(lead));
}

#[tokio::test]
async fn upgrade_headers_authenticate_a_websocket_on_slash_graphql() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let bearer = format!("Bearer {}", acme.owner.access_token);
    let mut client = app
        .ws_connect(
            "/graphql",
            Protocol::TransportWs,
            &[("authorization", &bearer)],
        )
        .await;
    client.init(json!({})).await;

    assert_acknowledged_and_receiving(&app, &acme, client).await;
}

#[tokio::test]
async fn queries_over_websocket_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws(&acme.owner.access_token).await;
    client
        .subscribe(SUB, "{ leadEventCursor }", json!({}))
        .await;
    let payload = client.next_payload(SUB).await;
    assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

/// The error that ended subscription `SUB`.
async fn ending_error(client: &mut WsClient) -> Value {
    loop {
        match client.recv().await {
            ServerMessage::Next { payload, .. } if payload.get("errors").is_some() => {
                return payload["errors"][0].clone();
            }
            ServerMessage::Next { .. } => continue,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn deactivating_a_user_ends_their_subscriptions_within_seconds() {
    let app = TestApp::spawn_with(|c| {
        c.events.revalidate_interval = Duration::from_millis(200);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let mut client = subscriber(&app, &agent.access_token).await;
    wait_for_subscribers(&app, 1).await;

    app.gql(
        acme.token(),
        "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { user { id } } }",
        json!({ "input": { "id": agent.user_id } }),
    )
    .await
    .ok();

    let error = ending_error(&mut client).await;
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED");
    assert!(matches!(client.recv().await, ServerMessage::Complete));
}

#[tokio::test]
async fn revoking_an_api_key_ends_its_subscriptions_within_seconds() {
    let app = TestApp::spawn_with(|c| {
        c.events.revalidate_interval = Duration::from_millis(200);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let (key_id, key) = acme.api_key(&app, &["READ"]).await;
    let mut client = subscriber(&app, &key).await;
    wait_for_subscribers(&app, 1).await;

    app.gql(
        acme.token(),
        "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }",
        json!({ "input": { "id": key_id } }),
    )
    .await
    .ok();

    let error = ending_error(&mut client).await;
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_let_go_while_others_receive_everything() {
    let app = TestApp::spawn_with(|c| {
        c.events.batch_size = 50;
        c.events.subscriber_buffer = 4;
        // It comes back to read before the server would give up writing to it.
        c.limits.ws_send_timeout = Duration::from_secs(120);
    })
    .await;
    let acme = app.sign_up("acme").await;
    // A big lead makes every event a large message, so the stalled socket fills quickly.
    let lead = acme
        .create_lead(
            &app,
            json!({ "customFields": { "blob": "x".repeat(9_000) } }),
        )
        .await;
    let query = "subscription($after: String) {
        leadEvents(after: $after) { cursor kind lead { customFields } }
    }";
    let mut stalled = app.ws(&acme.owner.access_token).await;
    stalled.subscribe(SUB, query, json!({})).await;
    let mut reader = app.ws(&acme.owner.access_token).await;
    reader.subscribe(SUB, query, json!({})).await;
    wait_for_subscribers(&app, 2).await;

    // Bursts the reader keeps up with (150 events fit its 4 batches of 50) while the stalled
    // one's socket and buffer fill: 3,000 events of 9 KB are far more than a socket holds.
    for _ in 0..20 {
        app.owner_sql(
            acme.organization_id,
            &format!(
                "DO $$ BEGIN FOR i IN 1..150 LOOP \
                   UPDATE leads SET score = i % 100 WHERE id = '{}'; \
                 END LOOP; END $$; SELECT notify_events()",
                uuid_of(&lead)
            ),
        )
        .await;
        for _ in 0..150 {
            assert_eq!(reader.next_event(SUB).await["kind"], "SCORED");
        }
    }
    // The stalled subscriber was let go: the feed no longer holds anything for it.
    wait_for_subscribers_to_drop(&app, 1).await;
    // When it reads again, it finds what was buffered, then the instruction to resume.
    let error = ending_error(&mut stalled).await;
    assert_eq!(error["extensions"]["code"], "RESUME_REQUIRED");
    let resume_from = error["extensions"]["cursor"].clone();
    let mut resumed = app.ws(&acme.owner.access_token).await;
    resumed
        .subscribe(SUB, query, json!({ "after": resume_from }))
        .await;
    assert_eq!(resumed.next_event(SUB).await["kind"], "SCORED");
}

async fn wait_for_subscribers_to_drop(app: &TestApp, count: usize) {
    for _ in 0..400 {
        if app.events.subscriber_count() <= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the stalled subscriber is still on the feed");
}

#[tokio::test]
async fn a_cursor_of_another_organization_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let acme_cursor = current_cursor(&app, &acme).await;

    let code = refusal_code(&app, &globex.owner.access_token, acme_cursor).await;

    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_cursor_older_than_retention_gets_cursor_expired() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let cursor = current_cursor(&app, &acme).await;
    acme.create_lead(&app, json!({})).await;
    acme.create_lead(&app, json!({})).await;
    // Retention is at least a day: age the events instead of asking for less.
    app.owner_sql(
        acme.organization_id,
        "UPDATE events SET occurred_at = occurred_at - interval '2 days'",
    )
    .await;
    let removed =
        leadgraph::events::prune_expired(&app.app_db().await, Duration::from_secs(86_400))
            .await
            .unwrap();
    assert_eq!(removed, 2);

    let code = refusal_code(&app, &acme.owner.access_token, cursor).await;

    assert_eq!(code, "CURSOR_EXPIRED");
}

#[tokio::test]
async fn a_subscription_filtered_on_another_tenants_lead_receives_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let acme_lead = acme.create_lead(&app, json!({})).await;
    let mut spy = app.ws(&globex.owner.access_token).await;
    spy.subscribe(
        SUB,
        LEAD_EVENTS,
        json!({ "filter": { "leadId": acme_lead } }),
    )
    .await;
    wait_for_subscribers(&app, 1).await;

    set_score(&app, &acme, &acme_lead, 42).await;
    acme.add_note(&app, &acme_lead, false).await;

    spy.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn a_socket_that_never_initialises_is_closed_with_4408() {
    let app = TestApp::spawn().await;
    let mut client = app
        .ws_connect("/graphql/ws", Protocol::TransportWs, &[])
        .await;

    match client.recv().await {
        ServerMessage::Closed { code } => assert_eq!(code, 4408),
        other => panic!("expected the connection closed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_runs_at_most_the_configured_number_of_subscriptions() {
    let app = TestApp::spawn_with(|c| c.limits.max_subscriptions_per_connection = 2).await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws(&acme.owner.access_token).await;
    client.subscribe("one", LEAD_EVENTS, json!({})).await;
    client.subscribe("two", LEAD_EVENTS, json!({})).await;
    wait_for_subscribers(&app, 2).await;

    client.subscribe("three", LEAD_EVENTS, json!({})).await;
    let refused = client.next_payload("three").await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");

    // Ending one makes room for another.
    client
        .send(json!({ "id": "one", "type": "complete" }))
        .await;
    wait_for_subscribers_to_drop(&app, 1).await;
    client.subscribe("four", LEAD_EVENTS, json!({})).await;
    wait_for_subscribers(&app, 2).await;
}

#[tokio::test]
async fn results_keep_the_field_order_of_the_subscription() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws(&acme.owner.access_token).await;
    let query = "subscription { leadEvents { lead { status id } kind cursor } }";
    client.subscribe(SUB, query, json!({})).await;
    wait_for_subscribers(&app, 1).await;
    acme.create_lead(&app, json!({})).await;
    let text = client.next_text().await;
    let keys = keys_in_order(&text);
    let data = keys.iter().position(|k| k == "data").expect("data");
    assert_eq!(
        keys[data..],
        [
            "data",
            "leadEvents",
            "lead",
            "status",
            "id",
            "kind",
            "cursor"
        ],
        "{text}"
    );
}

#[tokio::test]
async fn a_subscribe_message_larger_than_a_sockets_first_read_buffer_is_served() {
    // Sockets start with a small read buffer (an idle subscription's memory); a larger message
    // must grow it, not be cut or refused.
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws(&acme.owner.access_token).await;
    let padding = "#".repeat(64 * 1024);
    let query = format!("{padding}\nsubscription {{ leadEvents {{ kind lead {{ id }} }} }}");
    client.subscribe(SUB, &query, json!({})).await;
    wait_for_subscribers(&app, 1).await;
    let lead = acme.create_lead(&app, json!({})).await;
    let event = client.next_event(SUB).await;
    assert_eq!(event["kind"], "CREATED", "{event}");
    assert_eq!(event["lead"]["id"], lead, "{event}");
}
