//! Money and big numbers over the API: amounts are exact decimal strings with an ISO 4217
//! currency, held to the currency's decimals; nothing passes through a float or a 32-bit Int.

use serde_json::{Value, json};

use crate::support::{Tenant, TestApp, tenant::uuid_of};

const LEAD_MONEY: &str =
    "query($id: ID!) { lead(id: $id) { estimatedDealValue { amount currency } } }";

const UPDATE_LEAD: &str = "mutation($input: UpdateLeadInput!) {
    updateLead(input: $input) { lead { estimatedDealValue { amount currency } } } }";

async fn deal_value(app: &TestApp, tenant: &Tenant, lead: &str) -> Value {
    app.gql(tenant.token(), LEAD_MONEY, json!({ "id": lead }))
        .await
        .at("/lead/estimatedDealValue")
        .clone()
}

#[tokio::test]
async fn a_deal_value_keeps_every_digit_and_its_currency() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    // Beyond 2^53: a JavaScript number, or a float, would change the last digits.
    let value = json!({ "amount": "9007199254740993.25", "currency": "USD" });
    let lead = acme
        .create_lead(&app, json!({ "estimatedDealValue": value }))
        .await;
    assert_eq!(deal_value(&app, &acme, &lead).await, value);

    let yen = json!({ "amount": "1250000", "currency": "JPY" });
    let response = app
        .gql(
            acme.token(),
            UPDATE_LEAD,
            json!({ "input": { "id": lead, "estimatedDealValue": yen } }),
        )
        .await;
    assert_eq!(response.at("/updateLead/lead/estimatedDealValue"), &yen);

    // The audit log records the amount exactly, with its currency, as one field.
    let logs = app
        .gql(
            acme.token(),
            "{ auditLogs(first: 1) { nodes { action changes } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        logs.at("/auditLogs/nodes/0/changes/estimatedDealValue"),
        &json!({ "amount": "1250000", "currency": "JPY" })
    );

    // null clears it.
    let cleared = app
        .gql(
            acme.token(),
            UPDATE_LEAD,
            json!({ "input": { "id": lead, "estimatedDealValue": null } }),
        )
        .await;
    assert_eq!(
        cleared.at("/updateLead/lead/estimatedDealValue"),
        &Value::Null
    );
}

#[tokio::test]
async fn amounts_that_do_not_fit_their_currency_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let value = json!({ "amount": "100.50", "currency": "EUR" });
    let lead = acme
        .create_lead(&app, json!({ "estimatedDealValue": value }))
        .await;
    let before = app.snapshot(acme.organization_id, "leads").await;
    for (money, why) in [
        (
            json!({ "amount": "1.5", "currency": "JPY" }),
            "yen have no decimals",
        ),
        (
            json!({ "amount": "0.001", "currency": "EUR" }),
            "euros have two",
        ),
        (json!({ "amount": "-1", "currency": "EUR" }), "negative"),
        (
            json!({ "amount": "10", "currency": "EURO" }),
            "not ISO 4217",
        ),
        (json!({ "amount": "10", "currency": "eur" }), "lower case"),
        (
            json!({ "amount": "1000000000000000000", "currency": "EUR" }),
            "too large",
        ),
    ] {
        let response = app
            .gql(
                acme.token(),
                UPDATE_LEAD,
                json!({ "input": { "id": lead, "estimatedDealValue": money } }),
            )
            .await;
        eprintln!("refused: {why}");
        response.assert_bad_input("estimatedDealValue");
    }
    // A fraction as a JSON number would have passed through a float: refused too.
    let response = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { updateLead(input: { id: $id,
                estimatedDealValue: { amount: 0.1, currency: \"EUR\" } }) { lead { id } } }",
            json!({ "id": lead }),
        )
        .await;
    assert!(response.body["errors"].is_array(), "{}", response.body);
    assert_eq!(before, app.snapshot(acme.organization_id, "leads").await);
    assert_eq!(
        deal_value(&app, &acme, &lead).await,
        json!({ "amount": "100.5", "currency": "EUR" })
    );
}

#[tokio::test]
async fn company_revenue_is_money_too() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .gql(
            acme.token(),
            "mutation($input: CreateCompanyInput!) { createCompany(input: $input) {
                company { id annualRevenue { amount currency } } } }",
            json!({ "input": { "name": "Globex", "annualRevenue": { "amount": "4200000000.00", "currency": "CHF" } } }),
        )
        .await;
    assert_eq!(
        response.at("/createCompany/company/annualRevenue"),
        &json!({ "amount": "4200000000", "currency": "CHF" })
    );
    let company = uuid_of(response.at("/createCompany/company/id").as_str().unwrap());
    let rows = app.snapshot(acme.organization_id, "companies").await;
    let stored = rows
        .iter()
        .find(|row| row["id"] == company.to_string())
        .unwrap();
    assert_eq!(stored["annual_revenue"], json!(4200000000.0));
    assert_eq!(stored["annual_revenue_currency"], "CHF");
}
