//! Availability under abuse: nothing one caller does (with or without credentials) takes the
//! process down or the connection pool away from the other tenants.

use std::time::Duration;

use futures::future::join_all;
use leadgraph::events::LISTENER_NAME;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::{
    Gql, Tenant, TestApp, eventually,
    proxy::Proxy,
    scalar,
    ws::{Protocol, ServerMessage},
};

const DEEP: usize = 100_000;

/// POSTs a raw JSON body without credentials; the status and the parsed body.
async fn post_raw(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error code in {body}"))
}

async fn still_serving(app: &TestApp) {
    let (status, body) = post_raw(app, &json!({ "query": "{ __typename }" })).await;
    assert_eq!(
        (status, &body["data"]["__typename"]),
        (200, &json!("Query"))
    );
}

#[tokio::test]
async fn documents_nested_100000_deep_are_refused_and_the_process_lives() {
    // A body limit large enough that the documents reach the guard.
    let app = TestApp::spawn_with(|c| c.limits.max_body_bytes = 4 << 20).await;
    let documents = [
        format!(
            "{{ __typename(x: {}1{}) }}",
            "{x:".repeat(DEEP),
            "}".repeat(DEEP)
        ),
        format!(
            "{{ __typename(x: {}1{}) }}",
            "[".repeat(DEEP),
            "]".repeat(DEEP)
        ),
        format!("{}{}", "{ a ".repeat(DEEP), "}".repeat(DEEP)),
        format!(
            "query($v: {}Int{}) {{ __typename }}",
            "[".repeat(DEEP),
            "]".repeat(DEEP)
        ),
    ];
    for query in &documents {
        let (_, body) = post_raw(&app, &json!({ "query": query })).await;
        assert_eq!(code_of(&body), "LIMIT_EXCEEDED");
    }
    // Over GET (a URL of 30 kB, well within what clients send).
    let query = format!(
        "{{ __typename(x: {}1{}) }}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let response = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", query)])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code_of(&body), "LIMIT_EXCEEDED");
    // Variables nested deep are refused by the JSON reader (it stops at 128 levels).
    let body = format!(
        r#"{{"query":"query($v: Int) {{ __typename }}","variables":{{"v":{}}}}}"#,
        "[".repeat(DEEP) + &"]".repeat(DEEP)
    );
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    still_serving(&app).await;
}

#[tokio::test]
async fn fragments_that_expand_exponentially_or_cycle_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let mut doubling = String::from("{ ...F0 }");
    for i in 0..40 {
        doubling.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    doubling.push_str(" fragment F40 on Query { __typename }");
    let response = app.gql(acme.token(), &doubling, json!({})).await;
    assert_eq!(response.code(), "LIMIT_EXCEEDED");
    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    let response = app.gql(acme.token(), cycle, json!({})).await;
    assert_eq!(response.code(), "GRAPHQL_VALIDATION_FAILED");
    still_serving(&app).await;
}

#[tokio::test]
async fn a_deep_subscription_document_is_refused_on_the_socket() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws(&acme.owner.access_token).await;
    let query = format!(
        "subscription {{ leadEvents(after: {}\"x\"{}) {{ cursor }} }}",
        "[".repeat(DEEP),
        "]".repeat(DEEP)
    );
    client.subscribe("1", &query, json!({})).await;
    let payload = client.next_payload("1").await;
    let errors = payload.as_array().cloned().unwrap_or_else(|| {
        payload["errors"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("expected errors, got {payload}"))
    });
    assert_eq!(errors[0]["extensions"]["code"], "LIMIT_EXCEEDED");
    still_serving(&app).await;
}

#[tokio::test]
async fn the_operation_that_runs_decides_get_and_read_only() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    // A single named mutation over GET is refused, whatever its name.
    let query = r#"mutation M { refreshSession(input: { refreshToken: "x" }) { accessToken } }"#;
    let response = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", query)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    // Over POST without operationName it runs as the mutation it is.
    let created = app
        .gql(
            acme.token(),
            r#"mutation Named { createCompany(input: { name: "Initech" }) { company { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(created.at("/createCompany/company/name"), "Initech");
}

#[tokio::test]
async fn nul_characters_are_bad_user_input_and_change_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let search = app
        .gql(
            acme.token(),
            "query($s: String) { leads(filter: { search: $s }) { totalCount } }",
            json!({ "s": "a\u{0}b" }),
        )
        .await;
    assert_eq!(search.code(), "BAD_USER_INPUT");
    assert!(search.message().contains("$s"), "{}", search.message());
    let literal = app
        .gql(
            acme.token(),
            r#"mutation { createCompany(input: { name: "Ini\u0000tech" }) { company { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(literal.code(), "BAD_USER_INPUT");
    assert!(literal.message().contains("input"), "{}", literal.message());
    let companies = app
        .gql(acme.token(), "{ companies { totalCount } }", json!({}))
        .await;
    assert_eq!(companies.at("/companies/totalCount"), 0);
}

/// graphql-js `getIntrospectionQuery()` (v16), as GraphiQL and code generators send it.
const INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

#[tokio::test]
async fn signed_in_callers_can_introspect_and_anonymous_ones_cannot() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let schema = app.gql(acme.token(), INTROSPECTION, json!({})).await;
    assert!(
        schema.at("/__schema/types").as_array().unwrap().len() > 50,
        "the whole schema is readable"
    );
    let anonymous = app.gql(None, INTROSPECTION, json!({})).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
    // No suggestions that would reveal the schema either.
    let typo = app
        .gql(
            None,
            r#"mutation { login(input: { organizationSlg: "a", email: "b", password: "c" }) { accessToken } }"#,
            json!({}),
        )
        .await;
    assert!(
        !typo.message().contains("Did you mean"),
        "{}",
        typo.message()
    );
    // Anonymous callers reach sign-in and nothing else.
    assert_eq!(
        app.gql(None, "{ leads { totalCount } }", json!({}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_setting_opens_introspection_to_anonymous_callers_for_development() {
    let app = TestApp::spawn_with(|c| c.limits.anonymous_introspection = true).await;
    let schema = app.gql(None, INTROSPECTION, json!({})).await;
    assert!(!schema.at("/__schema/types").as_array().unwrap().is_empty());
}

#[tokio::test]
async fn one_credential_field_per_request() {
    let app = TestApp::spawn().await;
    app.sign_up("acme").await;
    let guesses = (0..30)
        .map(|i| {
            format!(
                r#"g{i}: login(input: {{ organizationSlug: "acme", email: "owner@acme.test", password: "guess-{i}-xxxxxxxx" }}) {{ accessToken }}"#
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let response = app
        .gql(None, &format!("mutation {{ {guesses} }}"), json!({}))
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    assert!(response.body["data"].is_null());
}

#[tokio::test]
async fn sign_ins_never_hold_a_connection_while_they_wait() {
    // Two connections: a refresh that held its transaction while taking a second connection,
    // or a login that held one through argon2, would starve everyone here.
    let app = TestApp::spawn_with(|c| c.pool.max_connections = 2).await;
    let acme = app.sign_up("acme").await;
    let refreshes = (0..12).map(|i| {
        app.gql(
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": format!("garbage-{i}") }),
        )
    });
    let logins = (0..4).map(|_| app.login("acme", "owner@acme.test", "wrong-password-123"));
    let query = app.gql(acme.token(), "{ leads { totalCount } }", json!({}));
    let (refreshes, logins, query) = tokio::join!(join_all(refreshes), join_all(logins), query);
    for response in refreshes.iter().chain(&logins) {
        assert_eq!(response.code(), "UNAUTHENTICATED", "{}", response.body);
    }
    assert_eq!(query.at("/leads/totalCount"), 0);
}

/// Holds a row lock on one of `organization`'s leads until the returned connection rolls
/// back: requests updating that lead wait, holding their connection and their turn.
async fn lock_lead(
    app: &TestApp,
    organization: uuid::Uuid,
    lead: &str,
) -> sea_orm::DatabaseConnection {
    let owner = app.owner_db().await;
    let id = crate::support::tenant::uuid_of(lead);
    owner
        .execute_unprepared(&format!(
            "BEGIN; SELECT set_config('app.current_organization_id', '{organization}', true); \
             SELECT 1 FROM leads WHERE organization_id = '{organization}' AND id = '{id}' FOR UPDATE"
        ))
        .await
        .unwrap();
    owner
}

/// Starts `updateLead` requests on `lead` and waits until PostgreSQL shows them waiting on
/// the lock.
async fn start_blocked_updates(
    app: &TestApp,
    token: &str,
    lead: &str,
    count: usize,
) -> Vec<tokio::task::JoinHandle<()>> {
    let handles = (0..count)
        .map(|i| {
            let (url, token, lead) = (app.url("/graphql"), token.to_owned(), lead.to_owned());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({
                        "query": "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }",
                        "variables": { "input": { "id": lead, "jobTitle": format!("Title {i}") } },
                    }))
                    .send()
                    .await
                    .unwrap();
            })
        })
        .collect();
    let admin = app.admin_db().await;
    for _ in 0..200 {
        let waiting = scalar(
            &admin,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' AND usename = 'leadgraph_app'",
        )
        .await;
        if waiting as usize >= count {
            return handles;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the updates never waited on the lock");
}

#[tokio::test]
async fn a_tenant_past_its_share_is_rate_limited_while_others_are_served() {
    let app = TestApp::spawn_with(|c| {
        c.pool.max_connections = 4;
        c.limits.tenant_pool_share_percent = 50;
        c.limits.tenant_queue_wait = Duration::from_millis(200);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let lead = acme
        .create_lead(
            &app,
            json!({ "firstName": "Ada", "email": "ada@acme.test" }),
        )
        .await;
    let lock = lock_lead(&app, acme.organization_id, &lead).await;
    let blocked = start_blocked_updates(&app, &acme.owner.access_token, &lead, 2).await;

    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(&acme.owner.access_token)
        .json(&json!({ "query": "{ leads { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code_of(&body), "RATE_LIMITED");

    let other = app
        .gql(globex.token(), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(other.at("/leads/totalCount"), 0);

    lock.execute_unprepared("ROLLBACK").await.unwrap();
    for handle in blocked {
        handle.await.unwrap();
    }
    let after = app
        .gql(acme.token(), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(after.at("/leads/totalCount"), 1);
}

#[tokio::test]
async fn an_exhausted_pool_is_answered_unavailable_at_once() {
    let app = TestApp::spawn_with(|c| {
        c.pool.max_connections = 2;
        c.pool.acquire_timeout = Duration::from_millis(300);
        c.limits.tenant_pool_share_percent = 100;
    })
    .await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let lead = acme
        .create_lead(
            &app,
            json!({ "firstName": "Ada", "email": "ada@acme.test" }),
        )
        .await;
    let lock = lock_lead(&app, acme.organization_id, &lead).await;
    let blocked = start_blocked_updates(&app, &acme.owner.access_token, &lead, 2).await;

    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(&globex.owner.access_token)
        .json(&json!({ "query": "{ leads { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(code_of(&body), "UNAVAILABLE");

    lock.execute_unprepared("ROLLBACK").await.unwrap();
    for handle in blocked {
        handle.await.unwrap();
    }
    still_serving(&app).await;
}

#[tokio::test]
async fn server_connections_end_a_forgotten_transaction() {
    let settings = leadgraph::db::PoolSettings {
        idle_in_transaction_timeout: Duration::from_millis(1234),
        ..leadgraph::db::PoolSettings::with_size(1)
    };
    let app = TestApp::spawn().await;
    let url = leadgraph::config::Secret::new(app.app_url());
    let db = leadgraph::db::connect_with(&url, &settings).await.unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SHOW idle_in_transaction_session_timeout",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "1234ms");
}

/// A tenant transaction's statements end at its statement timeout (the request timeout, for
/// requests): a runaway statement cannot keep a connection of the shared pool, and the
/// connection serves the next transaction. On a pool that does not say what its connections
/// start with, the transaction sets its timeout itself (`session`).
#[tokio::test]
async fn a_tenant_transactions_statements_end_at_its_statement_timeout() {
    statements_end_at_the_transactions_timeout(
        leadgraph::db::PoolSettings::with_size(1),
        ["200 session", "0 default"],
    )
    .await;
}

/// The server's connections start with the request timeout as their statement timeout, so a
/// request's transaction does not set it (one statement less: `client`, where it came from).
#[tokio::test]
async fn connections_start_with_the_statement_timeout_so_transactions_need_not_set_it() {
    statements_end_at_the_transactions_timeout(
        leadgraph::db::PoolSettings {
            statement_timeout: Some(Duration::from_millis(200)),
            ..leadgraph::db::PoolSettings::with_size(1)
        },
        ["200 client", "200 client"],
    )
    .await;
}

/// On a pool opened with `settings`: a transaction asking for 200 ms has its statement ended
/// there, the timeout in force and where it came from being `in_force[0]`; the next one asking
/// for 5 s sets its own (`session`), which ends with it (`in_force[1]` outside transactions).
async fn statements_end_at_the_transactions_timeout(
    settings: leadgraph::db::PoolSettings,
    in_force: [&str; 2],
) {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let url = leadgraph::config::Secret::new(app.app_url());
    let db = leadgraph::db::connect_with(&url, &settings).await.unwrap();
    let pool = leadgraph::tenancy::TenantPool::new(&db, settings.statement_timeout, None);
    let tenant = leadgraph::tenancy::TenantSettings {
        organization_id: acme.organization_id,
        user_id: crate::support::tenant::uuid_of(&acme.owner.user_id),
    };
    let statement =
        |sql: &str| sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned());
    // The value in force and where it came from: `client` (the connection's start),
    // `session` (a SET, LOCAL or not) or `default`.
    async fn timeout(conn: &impl ConnectionTrait) -> String {
        let sql = "SELECT setting || ' ' || source FROM pg_settings \
                   WHERE name = 'statement_timeout'";
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                sql,
            ))
            .await
            .unwrap();
        row.unwrap().try_get_by_index(0).unwrap()
    }

    let tx =
        leadgraph::tenancy::TenantTx::begin(&pool, true, Duration::from_millis(200), Some(tenant))
            .await
            .unwrap();
    assert_eq!(timeout(tx.conn()).await, in_force[0]);
    let err = tx
        .conn()
        .execute_raw(statement("SELECT pg_sleep(30)"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("canceling statement due to statement timeout"),
        "{err}"
    );
    tx.rollback().await.unwrap();

    // The pool's one connection is free again, and a new transaction's timeout is its own.
    let tx = leadgraph::tenancy::TenantTx::begin(&pool, true, Duration::from_secs(5), Some(tenant))
        .await
        .unwrap();
    assert_eq!(timeout(tx.conn()).await, "5000 session");
    tx.conn()
        .execute_raw(statement("SELECT pg_sleep(0.3)"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(timeout(&db).await, in_force[1]);
}

#[tokio::test]
async fn a_duplicate_subscription_id_closes_with_4409() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws(&acme.owner.access_token).await;
    let query = "subscription { leadEvents { cursor } }";
    client.subscribe("same", query, json!({})).await;
    client.subscribe("same", query, json!({})).await;
    match client.recv().await {
        ServerMessage::Closed { code } => assert_eq!(code, 4409),
        other => panic!("expected close 4409, got {other:?}"),
    }
}

#[tokio::test]
async fn legacy_connections_get_keep_alives() {
    let app = TestApp::spawn_with(|c| c.limits.ws_keep_alive = Duration::from_millis(100)).await;
    let acme = app.sign_up("acme").await;
    let mut client = app.ws_connect("/graphql/ws", Protocol::Legacy, &[]).await;
    client
        .init(json!({ "Authorization": format!("Bearer {}", acme.owner.access_token) }))
        .await;
    assert!(matches!(client.recv().await, ServerMessage::Ack));
    assert_eq!(client.recv_raw_type().await, "ka");
}

#[tokio::test]
async fn sockets_waiting_to_initialise_are_capped() {
    let app = TestApp::spawn_with(|c| c.limits.max_pending_ws_inits = 2).await;
    let acme = app.sign_up("acme").await;
    let _first = app
        .ws_connect("/graphql/ws", Protocol::TransportWs, &[])
        .await;
    let mut second = app
        .ws_connect("/graphql/ws", Protocol::TransportWs, &[])
        .await;
    let third = app
        .try_ws_connect("/graphql/ws", Protocol::TransportWs, &[])
        .await;
    assert!(
        matches!(third, Err(503)),
        "a third uninitialised socket is refused"
    );
    // Once one has initialised, there is room again.
    second
        .init(json!({ "Authorization": format!("Bearer {}", acme.owner.access_token) }))
        .await;
    assert!(matches!(second.recv().await, ServerMessage::Ack));
    let fourth = app
        .try_ws_connect("/graphql/ws", Protocol::TransportWs, &[])
        .await;
    assert!(fourth.is_ok(), "room again");
}

#[tokio::test]
async fn stalled_subscribers_pin_no_connection() {
    let app = TestApp::spawn_with(|c| {
        c.events.batch_size = 50;
        c.events.subscriber_buffer = 4;
        // They stay connected: what matters is that nothing is held while they stall.
        c.limits.ws_send_timeout = Duration::from_secs(120);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let company = acme.create_company(&app, "Initech").await;
    // A big lead makes every event a large message, so the stalled sockets fill quickly.
    let lead = acme
        .create_lead(
            &app,
            json!({ "companyId": company, "customFields": { "blob": "x".repeat(9_000) } }),
        )
        .await;
    // `company` and `assignedTo` resolve through loaders, in a transaction per result.
    let query = "subscription { leadEvents { cursor lead { customFields company { name } assignedTo { email } } } }";
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut client = app.ws(&acme.owner.access_token).await;
        client.subscribe("1", query, json!({})).await;
        stalled.push(client);
    }
    for _ in 0..400 {
        if app.events.subscriber_count() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // 3,000 events of 9 KB: far more than the stalled sockets hold.
    for _ in 0..20 {
        app.owner_sql(
            acme.organization_id,
            &format!(
                "DO $$ BEGIN FOR i IN 1..150 LOOP \
                   UPDATE leads SET score = i % 100 WHERE id = '{}'; \
                 END LOOP; END $$; SELECT notify_events()",
                crate::support::tenant::uuid_of(&lead)
            ),
        )
        .await;
    }
    let admin = app.admin_db().await;
    for _ in 0..20 {
        let idle = scalar(
            &admin,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND usename = 'leadgraph_app' AND state = 'idle in transaction' \
             AND now() - state_change > interval '200 ms'",
        )
        .await;
        assert_eq!(idle, 0, "a stalled subscriber holds a transaction open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let other = app
        .gql(globex.token(), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(other.at("/leads/totalCount"), 0);
}

#[tokio::test]
async fn a_reconnect_storm_costs_the_database_a_handful_of_statements() {
    let app = TestApp::spawn_with(|c| c.pool.max_connections = 2).await;
    let acme = app.sign_up("acme").await;
    let token = acme.owner.access_token.clone();
    let before = app.statements();
    // 200 subscribers of one credential connect at once, as after a deploy.
    let clients = join_all((0..200).map(|_| {
        let (app, token) = (&app, token.clone());
        async move {
            let mut client = app.ws(&token).await;
            client
                .subscribe("1", crate::support::ws::LEAD_EVENTS, json!({}))
                .await;
            client
        }
    }))
    .await;
    while app.events.subscriber_count() < 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One credential check and one read of the tenant's log head, not one per subscriber.
    let used = app.statements() - before;
    assert!(used <= 10, "{used} statements for 200 subscribers joining");
    acme.create_lead(
        &app,
        json!({ "firstName": "Ada", "email": "ada@acme.test" }),
    )
    .await;
    for mut client in clients {
        assert_eq!(client.next_event("1").await["kind"], "CREATED");
    }
}

/// A client that gives up while its request is beginning its transaction (BEGIN's round trip)
/// leaves no pooled connection inside a transaction: otherwise the next request on that
/// connection would run inside it, its writes uncommitted and its locks held (a sign-in after
/// such a request waited for its request budget, then failed).
#[tokio::test]
async fn requests_abandoned_while_their_transaction_begins_leave_no_connection_in_one() {
    let proxy = Proxy::start(Duration::from_millis(40)).await;
    let app = TestApp::spawn_behind(&proxy, |_| {}).await;
    let acme = app.sign_up("acme").await;
    // Each round trip takes at least 80 ms through the proxy and a request makes several
    // (the pool's check, BEGIN, the settings, the principal, the query, COMMIT): clients
    // giving up after 40, 50, ... 350 ms leave in every one of them, BEGIN's included.
    let abandoned = (0..32).map(|i| {
        app.http()
            .post(app.url("/graphql"))
            .timeout(Duration::from_millis(40 + 10 * i))
            .bearer_auth(acme.token().unwrap())
            .json(&json!({ "query": "{ leads { totalCount } }" }))
            .send()
    });
    for outcome in join_all(abandoned).await {
        assert!(
            outcome.is_err(),
            "a request answered within 350 ms through the proxy"
        );
    }
    // Whatever the abandoned requests began is over once their tasks have finished.
    let admin = app.admin_db().await;
    let mut in_transaction = -1;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        in_transaction = scalar(
            &admin,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = 'leadgraph_app'
               AND state IN ('idle in transaction', 'idle in transaction (aborted)')",
        )
        .await;
        if in_transaction == 0 {
            break;
        }
    }
    assert_eq!(
        in_transaction, 0,
        "pooled connections left inside a transaction"
    );
    // And every connection serves the next requests on their own.
    reads_serve(&app, &acme, 4).await;
}

/// A query reads nothing more once its statements are done, so its answer does not wait for
/// its transaction (read-only) to end: here every COMMIT takes longer than a request may.
/// The organization's turn is held until the transaction has ended, so the tenant's share
/// still counts the connection meanwhile, while other tenants are served.
#[tokio::test]
async fn queries_are_answered_before_their_transaction_ends_which_keeps_their_turn() {
    let proxy = Proxy::start(Duration::ZERO).await;
    let app = TestApp::spawn_behind(&proxy, |c| {
        c.limits.request_timeout = Duration::from_secs(1);
        c.limits.tenant_queue_wait = Duration::from_millis(200);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    proxy.hold_commits(Duration::from_secs(3));
    // acme's share: two of the pool's four connections at once.
    let reads = (0..2).map(|_| app.gql(acme.token(), "{ leads { totalCount } }", json!({})));
    for response in join_all(reads).await {
        assert_eq!(response.at("/leads/totalCount"), 0);
    }
    let past_share = app
        .gql(acme.token(), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(past_share.code(), "RATE_LIMITED", "{}", past_share.body);
    let other = app
        .gql(globex.token(), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(other.at("/leads/totalCount"), 0);
    proxy.hold_commits(Duration::ZERO);
    reads_serve_again(&app, &acme).await;
}

/// Connections taken from the pool are not pinged first (a round trip each request); one that
/// PostgreSQL closed while it sat in the pool (a terminated backend, a restart) is found dead
/// when the transaction opens, and replaced there: the client never sees it.
#[tokio::test]
async fn connections_closed_while_pooled_are_replaced_without_an_error() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    // Every connection of the pool in use at once, so that all of them are pooled and hot.
    let reads = (0..8).map(|_| app.gql(acme.token(), "{ leads { totalCount } }", json!({})));
    for response in join_all(reads).await {
        assert_eq!(response.at("/leads/totalCount"), 0);
    }
    let terminated = scalar(
        &app.admin_db().await,
        format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = 'leadgraph_app'
               AND application_name <> '{LISTENER_NAME}'"
        ),
    )
    .await;
    assert!(
        terminated >= 2,
        "{terminated} pooled connections terminated"
    );
    reads_serve(&app, &acme, 8).await;
}

/// A connection that stops answering without closing (packets dropped on the way, a host
/// failed over) strands the request on it until its timeout, and the transaction's opening
/// (on a task of its own) or its rollback would wait for a reply that never comes. No reply is
/// awaited past the statement timeout plus a grace: the connection is closed, so that the
/// pool's places come back to every tenant as soon as the database can be reached again (here
/// at once: only the connections made before are lost), not when TCP gives up on it.
#[tokio::test]
async fn connections_that_stop_answering_are_given_up_and_the_pool_recovers() {
    let (app, acme, _proxy) = every_pooled_connection_cut_off().await;
    let stranded = (0..8).map(|_| app.gql(acme.token(), "{ leads { totalCount } }", json!({})));
    let codes: Vec<String> = join_all(stranded)
        .await
        .iter()
        .filter_map(|response| response.body["errors"][0]["extensions"]["code"].as_str())
        .map(str::to_owned)
        .collect();
    assert!(
        codes.iter().any(|code| code == "TIMEOUT"),
        "no request was stranded on a lost connection: {codes:?}"
    );
    reads_serve_again(&app, &acme).await;
}

/// `/readyz` is asked often and without credentials, by probes that give up quickly: one that
/// meets a connection that stopped answering leaves it to be closed, not waiting on it.
#[tokio::test]
async fn readiness_probes_leave_no_connection_waiting_on_one_that_stopped_answering() {
    let (app, acme, _proxy) = every_pooled_connection_cut_off().await;
    let probes = (0..8).map(|_| {
        app.http()
            .get(app.url("/readyz"))
            .timeout(Duration::from_millis(500))
            .send()
    });
    let unanswered = join_all(probes)
        .await
        .into_iter()
        .filter(|probe| probe.as_ref().map_or(true, |answer| answer.status() != 200))
        .count();
    assert!(
        unanswered > 0,
        "no probe met a connection that stopped answering"
    );
    reads_serve_again(&app, &acme).await;
    let ready = app.http().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// An API key not kept in memory is verified by a statement of its own before any tenant
/// transaction: one stranded on a connection that stopped answering is given up the same way.
#[tokio::test]
async fn key_checks_leave_no_connection_waiting_on_one_that_stopped_answering() {
    let proxy = Proxy::start(Duration::ZERO).await;
    let app = TestApp::spawn_behind(&proxy, |c| {
        c.limits.request_timeout = Duration::from_secs(1);
        // Every request verifies its key in the database.
        c.limits.api_key_cache = Duration::ZERO;
    })
    .await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    cut_every_pooled_connection(&app, &proxy, &acme).await;
    let stranded = (0..8).map(|_| app.gql(Some(&key), "{ leads { totalCount } }", json!({})));
    let failed = join_all(stranded)
        .await
        .iter()
        .filter(|response| response.body.get("errors").is_some())
        .count();
    served_again_after(&app, &acme, failed, "key checks", || {
        app.gql(Some(&key), "{ leads { totalCount } }", json!({}))
    })
    .await;
}

/// A sign-in counts its attempt, and a refresh rotates its token, by a statement of its own
/// before any tenant transaction (nobody is proven yet): one stranded on a connection that
/// stopped answering is given up the same way, whoever sent it (anonymous callers included).
#[tokio::test]
async fn sign_ins_leave_no_connection_waiting_on_one_that_stopped_answering() {
    let (app, acme, _proxy) = every_pooled_connection_cut_off().await;
    let logins = (0..4).map(|_| app.login("acme", "owner@acme.test", "not the password"));
    let refreshes = (0..4).map(|_| {
        app.gql(
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            // Not the owner's: its reuse would revoke the session the reads below use.
            json!({ "t": "a refresh token never issued" }),
        )
    });
    let (logins, refreshes) = futures::join!(join_all(logins), join_all(refreshes));
    let timed_out = logins
        .iter()
        .chain(&refreshes)
        .filter(|response| response.body["errors"][0]["extensions"]["code"] == "TIMEOUT")
        .count();
    served_again_after(&app, &acme, timed_out, "sign-ins", || {
        app.login("acme", "owner@acme.test", crate::support::tenant::PASSWORD)
    })
    .await;
}

/// What runs before a caller is proven (sign-ins, refreshes, API keys being verified) holds
/// one tenant's share of the pool at most: sign-ins that queue — on a lock held on the
/// throttle table here, on their account's throttle row in a flood — cannot take every
/// connection from the tenants.
#[tokio::test]
async fn sign_ins_that_queue_hold_no_more_than_a_tenants_share_of_the_pool() {
    let app = TestApp::spawn_with(|c| c.limits.request_timeout = Duration::from_secs(5)).await;
    app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let lock = app.admin_db().await;
    lock.execute_unprepared("BEGIN; LOCK TABLE sign_in_throttle IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let logins = join_all((0..8).map(|_| app.login("acme", "owner@acme.test", "not the password")));
    let meanwhile = async {
        let admin = app.admin_db().await;
        eventually(
            Duration::from_secs(10),
            "sign-ins queued on the lock",
            || async {
                let queued = scalar(
                    &admin,
                    "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND usename = 'leadgraph_app'
                   AND wait_event_type = 'Lock'",
                )
                .await;
                (queued >= 2).then_some(())
            },
        )
        .await;
        // The pool has four connections: the sign-ins hold two of them.
        reads_serve(&app, &globex, 4).await;
        lock.execute_unprepared("ROLLBACK").await.unwrap();
    };
    let (logins, ()) = futures::join!(logins, meanwhile);
    for login in &logins {
        assert!(
            ["UNAUTHENTICATED", "RATE_LIMITED", "UNAVAILABLE"].contains(&login.code()),
            "{}",
            login.body
        );
    }
}

/// A server (requests time out after 1 s) whose pooled connections all stopped answering
/// without closing, as over a network that drops their packets; connections made from now on
/// reach the database.
async fn every_pooled_connection_cut_off() -> (TestApp, Tenant, Proxy) {
    let proxy = Proxy::start(Duration::ZERO).await;
    let app = TestApp::spawn_behind(&proxy, |c| {
        c.limits.request_timeout = Duration::from_secs(1);
    })
    .await;
    let acme = app.sign_up("acme").await;
    cut_every_pooled_connection(&app, &proxy, &acme).await;
    (app, acme, proxy)
}

/// Every connection of `app`'s pool opened and hot, then cut off behind `proxy`. One tenant
/// holds half the pool at most: `tenant` and another read at once.
async fn cut_every_pooled_connection(app: &TestApp, proxy: &Proxy, tenant: &Tenant) {
    let other = app.sign_up("every-connection").await;
    let reads = (0..16).map(|i| {
        let reader = if i % 2 == 0 { tenant } else { &other };
        app.gql(reader.token(), "{ leads { totalCount } }", json!({}))
    });
    for response in join_all(reads).await {
        assert_eq!(response.at("/leads/totalCount"), 0);
    }
    // Beside the pool, the server holds the listener's connection and the rate sync's.
    let pooled = scalar(
        &app.admin_db().await,
        format!(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = 'leadgraph_app'
               AND application_name <> '{LISTENER_NAME}' AND query NOT LIKE '%rate_limit_sync%'"
        ),
    )
    .await;
    assert_eq!(pooled, 4, "the pool's connections, all open");
    proxy.black_hole_existing_connections();
}

/// Reads are answered again soon (the pool's places came back), then every time.
async fn reads_serve_again(app: &TestApp, tenant: &Tenant) {
    answered_again("reads served again", || {
        app.gql(tenant.token(), "{ leads { totalCount } }", json!({}))
    })
    .await;
    reads_serve(app, tenant, 8).await;
}

/// Some of the `what` (`stranded` of them) met a connection that stopped answering; the
/// tenant's reads are served again, and so is `again`: the share of the pool that callers not
/// yet proven hold came back too.
async fn served_again_after<F: Future<Output = Gql>>(
    app: &TestApp,
    tenant: &Tenant,
    stranded: usize,
    what: &str,
    again: impl Fn() -> F,
) {
    assert!(
        stranded > 0,
        "none of the {what} met a connection that stopped answering"
    );
    reads_serve_again(app, tenant).await;
    answered_again(&format!("{what} served again"), again).await;
}

/// Waits (20 s at most) until `request` is answered without errors.
async fn answered_again<F: Future<Output = Gql>>(what: &str, request: impl Fn() -> F) {
    eventually(Duration::from_secs(20), what, || async {
        request().await.body.get("errors").is_none().then_some(())
    })
    .await;
}

/// `times` reads of `tenant`'s (empty) leads, one after another, each answered.
async fn reads_serve(app: &TestApp, tenant: &Tenant, times: usize) {
    for _ in 0..times {
        let response = app
            .gql(tenant.token(), "{ leads { totalCount } }", json!({}))
            .await;
        assert_eq!(response.at("/leads/totalCount"), 0);
    }
}
