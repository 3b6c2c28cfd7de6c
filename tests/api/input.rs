//! Bad input gets a clear error with a code, and nothing is written.

use serde_json::{Value, json};

use crate::support::{Tenant, TestApp};

const CREATE_LEAD: &str =
    "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";

fn lead(overrides: Value) -> Value {
    let mut input =
        json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com" });
    input
        .as_object_mut()
        .unwrap()
        .extend(overrides.as_object().cloned().unwrap());
    json!({ "input": input })
}

async fn assert_refused(app: &TestApp, tenant: &Tenant, variables: Value, code: &str) {
    let before = app.snapshot(tenant.organization_id, "leads").await;
    let response = app
        .gql(tenant.token(), CREATE_LEAD, variables.clone())
        .await;
    assert_eq!(response.code(), code, "{variables} -> {}", response.body);
    assert!(!response.message().is_empty());
    assert_eq!(
        before,
        app.snapshot(tenant.organization_id, "leads").await,
        "{variables} wrote something"
    );
}

#[tokio::test]
async fn a_malformed_email_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .gql(
            acme.token(),
            CREATE_LEAD,
            lead(json!({ "email": "not-an-email" })),
        )
        .await;
    response.assert_bad_input("email");
    assert_refused(
        &app,
        &acme,
        lead(json!({ "email": "not-an-email" })),
        "BAD_USER_INPUT",
    )
    .await;
}

#[tokio::test]
async fn over_long_strings_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "firstName": "x".repeat(101) })),
        "BAD_USER_INPUT",
    )
    .await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "jobTitle": "x".repeat(151) })),
        "BAD_USER_INPUT",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_enum_value_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "status": "MAYBE" })),
        "BAD_USER_INPUT",
    )
    .await;
    let inline = app
        .gql(
            acme.token(),
            "{ leads(filter: { status: [MAYBE] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(inline.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn out_of_range_numbers_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    assert_refused(&app, &acme, lead(json!({ "score": -1 })), "BAD_USER_INPUT").await;
    assert_refused(&app, &acme, lead(json!({ "score": 101 })), "BAD_USER_INPUT").await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "probabilityToClose": 150 })),
        "BAD_USER_INPUT",
    )
    .await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "estimatedDealValue": { "amount": "-5", "currency": "USD" } })),
        "BAD_USER_INPUT",
    )
    .await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let unknown_company = leadgraph::graphql::NodeKind::Company
        .id(uuid::Uuid::new_v4())
        .0;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "companyId": unknown_company })),
        "NOT_FOUND",
    )
    .await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "companyId": "garbage" })),
        "BAD_USER_INPUT",
    )
    .await;
    let lead_id_as_company = leadgraph::graphql::NodeKind::Lead
        .id(uuid::Uuid::new_v4())
        .0;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "companyId": lead_id_as_company })),
        "BAD_USER_INPUT",
    )
    .await;
    let update = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { updateLead(input: { id: $id, score: 5 }) { lead { id } } }",
            json!({ "id": leadgraph::graphql::NodeKind::Lead.id(uuid::Uuid::new_v4()).0 }),
        )
        .await;
    assert_eq!(update.code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_duplicate_live_email_is_a_conflict() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_lead(&app, json!({ "email": "dup@example.com" }))
        .await;
    assert_refused(
        &app,
        &acme,
        lead(json!({ "email": "DUP@example.com" })),
        "CONFLICT",
    )
    .await;
}

#[tokio::test]
async fn a_failing_mutation_rolls_back_the_whole_request() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let before = app.snapshot(acme.organization_id, "companies").await;
    let response = app
        .gql(
            acme.token(),
            "mutation { first: createCompany(input: { name: \"Kept?\" }) { company { id } }
                        second: createCompany(input: { name: \"\" }) { company { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    assert_eq!(response.body["data"], Value::Null);
    assert_eq!(
        before,
        app.snapshot(acme.organization_id, "companies").await
    );
}

#[tokio::test]
async fn internal_errors_show_no_details() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_company(&app, "Initech").await;
    // Break the schema under the server's feet: reading companies now fails inside.
    app.owner_sql(
        acme.organization_id,
        "ALTER TABLE companies RENAME COLUMN name TO title",
    )
    .await;
    let response = app
        .gql(acme.token(), "{ companies { nodes { id } } }", json!({}))
        .await;
    assert_eq!(response.code(), "INTERNAL");
    assert_eq!(response.message(), "internal error");
    assert_eq!(
        response.body["errors"][0]["extensions"],
        json!({ "code": "INTERNAL" })
    );
    assert!(!response.body.to_string().contains("title"));
}

#[tokio::test]
async fn a_cursor_of_another_order_or_forged_is_refused_naming_the_argument() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_company(&app, "Initech").await;
    acme.create_company(&app, "Globex").await;
    let by_name = app
        .gql(
            acme.token(),
            "{ companies(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = by_name.at("/companies/pageInfo/endCursor").clone();
    // A name where the creation-time order expects a timestamp.
    let response = app
        .gql(
            acme.token(),
            "query($c: String) { companies(after: $c, orderBy: { field: CREATED_AT }) { totalCount } }",
            json!({ "c": cursor }),
        )
        .await;
    response.assert_bad_input("after");
    let forged =
        |value: Value| URL_SAFE_NO_PAD.encode(json!([value, uuid::Uuid::new_v4()]).to_string());
    for (query, cursor, field) in [
        (
            "query($c: String) { users(after: $c) { totalCount } }",
            forged(json!("")),
            "after",
        ),
        (
            "query($c: String) { leads(after: $c, orderBy: { field: SCORE }) { totalCount } }",
            forged(json!("high")),
            "after",
        ),
        (
            "query($c: String) { leads(last: 1, before: $c, orderBy: { field: LAST_NAME }) { totalCount } }",
            forged(json!("a\u{0}")),
            "before",
        ),
        (
            "query($c: String) { webhookEndpoints(last: 1, before: $c) { totalCount } }",
            "%%%".to_owned(),
            "before",
        ),
    ] {
        app.gql(acme.token(), query, json!({ "c": cursor }))
            .await
            .assert_bad_input(field);
    }
}

#[tokio::test]
async fn an_input_object_given_something_else_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    let before = app.snapshot(acme.organization_id, "companies").await;
    for (query, variables) in [
        (
            r#"mutation { updateCompany(input: "Globex") { company { id } } }"#,
            json!({}),
        ),
        (
            "mutation { deleteCompany(input: 42) { deletedCompanyId } }",
            json!({}),
        ),
        (
            "mutation($v: DeleteCompanyInput!) { deleteCompany(input: $v) { deletedCompanyId } }",
            json!({ "v": company }),
        ),
        // Declared as a list where an object goes, and left out.
        (
            "mutation($v: [DeleteCompanyInput!]) { deleteCompany(input: $v) { deletedCompanyId } }",
            json!({}),
        ),
        (
            "query($f: [CompanyFilter]) { companies(filter: $f) { totalCount } }",
            json!({ "f": "x" }),
        ),
    ] {
        let response = app.gql(acme.token(), query, variables).await;
        assert_eq!(
            response.code(),
            "BAD_USER_INPUT",
            "{query}: {}",
            response.body
        );
    }
    assert_eq!(
        before,
        app.snapshot(acme.organization_id, "companies").await
    );
}

#[tokio::test]
async fn a_mutation_failing_in_the_database_leaves_later_fields_their_own_outcome() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let unknown_company = leadgraph::graphql::NodeKind::Company
        .id(uuid::Uuid::new_v4())
        .0;
    let before = (
        app.snapshot(acme.organization_id, "companies").await,
        app.snapshot(acme.organization_id, "leads").await,
    );
    // The first field's INSERT breaks a foreign key, which aborts the PostgreSQL transaction;
    // the fields after it still run, and report, on their own.
    let response = app
        .gql(
            acme.token(),
            "mutation($input: CreateLeadInput!) {
                first: createLead(input: $input) { lead { id } }
                second: createCompany(input: { name: \"Kept?\" }) { company { id } }
                third: createCompany(input: { name: \"\" }) { company { id } }
            }",
            lead(json!({ "companyId": unknown_company })),
        )
        .await;
    let errors: Vec<(&str, &str)> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"][0].as_str().unwrap(),
                e["extensions"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [("first", "NOT_FOUND"), ("third", "BAD_USER_INPUT")],
        "{}",
        response.body
    );
    assert_eq!(response.body["data"], Value::Null);
    let after = (
        app.snapshot(acme.organization_id, "companies").await,
        app.snapshot(acme.organization_id, "leads").await,
    );
    assert_eq!(before, after, "a failed request kept something");
}

#[tokio::test]
async fn dates_beyond_four_digit_years_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead_id = acme.create_lead(&app, json!({})).await;
    let tables = ["leads", "activities", "api_keys"];
    let mut before = Vec::new();
    for table in tables {
        before.push(app.snapshot(acme.organization_id, table).await);
    }
    let far_past = "-4714-11-23T00:00:00Z";
    let far_future = "+262142-12-31T23:59:59Z";
    let cases = [
        (
            CREATE_LEAD,
            lead(json!({ "nextFollowUpAt": far_past })),
            "nextFollowUpAt",
        ),
        (
            CREATE_LEAD,
            lead(json!({ "expectedCloseDate": "-262143-01-01" })),
            "expectedCloseDate",
        ),
        (
            "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }",
            json!({ "input": { "id": lead_id, "expectedCloseDate": "0000-01-01" } }),
            "expectedCloseDate",
        ),
        (
            "query($at: DateTime) { leads(filter: { createdAfter: $at }) { totalCount } }",
            json!({ "at": far_past }),
            "createdAfter",
        ),
        (
            "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }",
            json!({ "input": { "leadId": lead_id, "kind": "CALL", "direction": "INBOUND", "completedAt": far_past } }),
            "completedAt",
        ),
        (
            "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }",
            json!({ "input": { "leadId": lead_id, "kind": "CALL", "direction": "INBOUND", "status": "SCHEDULED", "scheduledAt": far_future } }),
            "scheduledAt",
        ),
        (
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
            json!({ "input": { "name": "k", "scopes": ["READ"], "expiresAt": far_future } }),
            "expiresAt",
        ),
    ];
    for (query, variables, field) in cases {
        let response = app.gql(acme.token(), query, variables).await;
        response.assert_bad_input(field);
    }
    for (table, rows) in tables.iter().zip(before) {
        assert_eq!(
            rows,
            app.snapshot(acme.organization_id, table).await,
            "{table}"
        );
    }
}
