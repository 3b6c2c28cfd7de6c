//! GraphQL over HTTP: methods, content types, health, GraphiQL.

use serde_json::{Value, json};

use crate::support::{TestApp, key_order::keys_in_order};

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

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    use sea_orm::ConnectionTrait;
    let mut app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    // A request that waits on a lock, so it is in flight when the signal comes.
    let owner = app.owner_db().await;
    owner
        .execute_unprepared("BEGIN; LOCK TABLE leads IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let in_flight = tokio::spawn(
        app.http()
            .post(app.url("/graphql"))
            .bearer_auth(&acme.owner.access_token)
            .json(&json!({ "query": "{ leads { totalCount } }" }))
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopped = app.shut_down();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !stopped.is_finished(),
        "the server must wait for the request in flight"
    );
    owner.execute_unprepared("ROLLBACK").await.unwrap();
    let body: Value = in_flight.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(body["data"]["leads"]["totalCount"], 0);
    stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_graphql_response_media_type_answers_400_for_requests_that_fail_validation() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(&acme.owner.access_token)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
}

#[tokio::test]
async fn response_fields_come_in_the_order_the_query_asked() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_lead(&app, json!({})).await;
    let query = "{ me { role email } organization { slug name }
                   leads(first: 1) { totalCount pageInfo { hasNextPage } nodes { status id } } }";
    let text = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(&acme.owner.access_token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        keys_in_order(&text),
        [
            "data",
            "me",
            "role",
            "email",
            "organization",
            "slug",
            "name",
            "leads",
            "totalCount",
            "pageInfo",
            "hasNextPage",
            "nodes",
            "status",
            "id"
        ],
        "{text}"
    );
}

/// Whether the connection `url` opens through the server's pool setup uses TLS.
async fn uses_tls(url: &str) -> bool {
    use sea_orm::{ConnectionTrait, Statement};
    let db = leadgraph::db::connect(&leadgraph::config::Secret::new(url.to_owned()), 1)
        .await
        .unwrap();
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index(0)
    .unwrap()
}

/// The server reaches a PostgreSQL on this machine in plain TCP unless its URL asks for TLS
/// (TLS on loopback cost CPU and protected nothing); with `sslmode=require` it uses TLS.
#[tokio::test]
async fn a_loopback_database_is_reached_without_tls_unless_the_url_asks() {
    let app = TestApp::spawn().await;
    let url = app.app_url();
    let loopback = ["@127.0.0.1", "@localhost", "@[::1]"]
        .iter()
        .any(|host| url.contains(host));
    if !loopback || url.contains("sslmode") {
        eprintln!("the test database is not a plain loopback URL: nothing to check");
        return;
    }
    assert!(!uses_tls(&url).await, "TLS on loopback without being asked");
    let server_has_tls = {
        use sea_orm::{ConnectionTrait, Statement};
        let admin = app.admin_db().await;
        let row = admin
            .query_one_raw(Statement::from_string(
                admin.get_database_backend(),
                "SHOW ssl",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0).unwrap() == "on"
    };
    if server_has_tls {
        assert!(uses_tls(&format!("{url}?sslmode=require")).await);
    }
}

/// An object's column fields are read straight from its row while the selection is walked;
/// through `node(id:)` the same lead is resolved field by field by async-graphql itself. Both
/// give the same answer, in the same order, through aliases, repeated keys, fragments (on the
/// type, on its interface, spread), `__typename`, `@skip`/`@include`, nulls, enums, lists,
/// dates, JSON, relations and pages.
#[tokio::test]
async fn a_leads_fields_read_from_its_row_answer_as_async_graphqls_own_resolution() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    let lead = acme
        .create_lead(
            &app,
            json!({ "companyId": company, "assignedToId": acme.owner.user_id,
                    "tags": ["vip", "q4"], "customFields": { "budget": { "eur": 12000 } },
                    "expectedCloseDate": "2027-01-31", "phone": null, "jobTitle": "CISO" }),
        )
        .await;
    app.gql(
        acme.token(),
        "mutation($id: ID!) { logActivity(input: { leadId: $id, kind: CALL, direction: INBOUND, subject: \"intro\" }) { activity { id } } }",
        json!({ "id": lead }),
    )
    .await
    .ok();
    let selection = "__typename id first: firstName firstName ...LeadBits
        ... on Lead { status email company { name } }
        company { domain __typename } company { name id }
        tags createdAt expectedCloseDate customFields probabilityToClose seniority phone
        assignedTo { ...Who } activities(first: 2) { nodes { kind subject __typename } }
        ... @include(if: true) { jobTitle } lastName @skip(if: false) department @skip(if: true)
        score fullName";
    let fragments = "fragment Who on User { fullName email id }
        fragment LeadBits on Lead { firstName score ... on Node { id } }";
    let read = |query: String| {
        let app = &app;
        let acme = &acme;
        let lead = &lead;
        async move {
            app.http()
                .post(app.url("/graphql"))
                .bearer_auth(&acme.owner.access_token)
                .json(&json!({ "query": query, "variables": { "id": lead } }))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let direct = read(format!(
        "query($id: ID!) {{ it: lead(id: $id) {{ {selection} }} }} {fragments}"
    ))
    .await;
    let through_node = read(format!(
        "query($id: ID!) {{ it: node(id: $id) {{ ... on Lead {{ {selection} }} }} }} {fragments}"
    ))
    .await;
    let value: Value = serde_json::from_str(&direct).unwrap();
    assert!(value.get("errors").is_none(), "{direct}");
    assert_eq!(
        value["data"]["it"]["tags"],
        json!(["q4", "vip"]),
        "{direct}"
    );
    assert_eq!(value["data"]["it"]["customFields"]["budget"]["eur"], 12000);
    assert_eq!(
        value["data"]["it"]["activities"]["nodes"][0]["kind"],
        "CALL"
    );
    assert!(value["data"]["it"].get("department").is_none(), "{direct}");
    assert_eq!(direct, through_node);
}
