//! The generic event log: companies are evented like leads, `events` delivers every evented
//! resource in one order with the same cursors as `leadEvents`, and webhooks deliver any
//! subject's events.

use serde_json::{Value, json};

use crate::support::{
    Tenant, TestApp,
    receiver::{Answer, Receiver},
    ws::{LEAD_EVENTS, WsClient},
};

const EVENTS: &str = "subscription($after: String, $filter: EventFilter) {
    events(after: $after, filter: $filter) {
        cursor kind subjectType subjectId changedFields detailId occurredAt
        actor { id }
        subject { id ... on Company { name } ... on Lead { firstName } }
    }
}";

/// The next `count` events of an `events` subscription.
async fn events(client: &mut WsClient, id: &str, count: usize) -> Vec<Value> {
    let mut events = Vec::with_capacity(count);
    for _ in 0..count {
        let payload = client.next_payload(id).await;
        assert!(
            payload.get("errors").is_none(),
            "subscription error: {payload}"
        );
        events.push(payload["data"]["events"].clone());
    }
    events
}

async fn subscribe(app: &TestApp, tenant: &Tenant, variables: Value) -> WsClient {
    let mut client = app.ws(tenant.token().unwrap()).await;
    client.subscribe("e", EVENTS, variables).await;
    client
}

async fn head(app: &TestApp, tenant: &Tenant) -> Value {
    app.gql(tenant.token(), "{ eventCursor }", json!({}))
        .await
        .ok()["eventCursor"]
        .clone()
}

async fn update_company(app: &TestApp, tenant: &Tenant, input: Value) {
    app.gql(
        tenant.token(),
        "mutation($input: UpdateCompanyInput!) { updateCompany(input: $input) { company { id } } }",
        json!({ "input": input }),
    )
    .await
    .ok();
}

async fn delete_company(app: &TestApp, tenant: &Tenant, id: &str) {
    app.gql(
        tenant.token(),
        "mutation($input: DeleteCompanyInput!) { deleteCompany(input: $input) { deletedCompanyId } }",
        json!({ "input": { "id": id } }),
    )
    .await
    .ok();
}

fn field<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().map(|e| &e[name]).collect()
}

#[tokio::test]
async fn companies_and_leads_share_one_ordered_log_with_subjects_and_changed_fields() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let after = head(&app, &acme).await;
    let company = acme.create_company(&app, "Initech").await;
    let lead = acme
        .create_lead(&app, json!({ "firstName": "Peter" }))
        .await;
    update_company(
        &app,
        &acme,
        json!({ "id": company, "annualRevenue": { "amount": "1000000", "currency": "EUR" },
                "fortuneRank": 7 }),
    )
    .await;
    let note = acme.add_note(&app, &lead, false).await;
    delete_company(&app, &acme, &company).await;

    let mut client = subscribe(&app, &acme, json!({ "after": after })).await;
    let got = events(&mut client, "e", 5).await;
    assert_eq!(
        field(&got, "kind"),
        ["CREATED", "CREATED", "UPDATED", "NOTE_ADDED", "DELETED"]
    );
    assert_eq!(
        field(&got, "subjectType"),
        ["COMPANY", "LEAD", "COMPANY", "LEAD", "COMPANY"]
    );
    assert_eq!(
        field(&got, "subjectId"),
        [
            &json!(company),
            &json!(lead),
            &json!(company),
            &json!(lead),
            &json!(company)
        ]
    );
    // The currency column is part of the annualRevenue field, named once.
    assert_eq!(
        got[2]["changedFields"],
        json!(["annualRevenue", "fortuneRank"])
    );
    assert_eq!(got[3]["detailId"], json!(note));
    assert_eq!(got[1]["subject"]["firstName"], "Peter");
    assert_eq!(got[0]["actor"]["id"], json!(acme.owner.user_id));
    // The subject as it is now: the company is gone, its events stay.
    assert_eq!(got[0]["subject"], Value::Null);
    assert_eq!(got[4]["subject"], Value::Null);
    // Cursors are positions in one log: resuming after the third event gives the fourth.
    let mut resumed = subscribe(&app, &acme, json!({ "after": got[2]["cursor"] })).await;
    assert_eq!(events(&mut resumed, "e", 1).await[0]["kind"], "NOTE_ADDED");
}

#[tokio::test]
async fn a_subscriber_receives_only_the_subject_types_kinds_and_subject_it_asked_for() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let after = head(&app, &acme).await;
    let initech = acme.create_company(&app, "Initech").await;
    let hooli = acme.create_company(&app, "Hooli").await;
    acme.create_lead(&app, json!({})).await;
    update_company(&app, &acme, json!({ "id": hooli, "industry": "Software" })).await;
    update_company(
        &app,
        &acme,
        json!({ "id": initech, "industry": "Software" }),
    )
    .await;

    let mut companies = subscribe(
        &app,
        &acme,
        json!({ "after": after, "filter": { "subjectTypes": ["COMPANY"] } }),
    )
    .await;
    let got = events(&mut companies, "e", 4).await;
    assert_eq!(
        field(&got, "subjectId"),
        [
            &json!(initech),
            &json!(hooli),
            &json!(hooli),
            &json!(initech)
        ]
    );

    let mut one = subscribe(
        &app,
        &acme,
        json!({ "after": after, "filter": { "subjectId": hooli, "kinds": ["UPDATED"] } }),
    )
    .await;
    let got = events(&mut one, "e", 1).await;
    assert_eq!(got[0]["subjectId"], json!(hooli));
    assert_eq!(got[0]["changedFields"], json!(["industry"]));
    // Nothing else matches: the next event it gets is a later change of Hooli.
    update_company(&app, &acme, json!({ "id": initech, "name": "Initrode" })).await;
    update_company(&app, &acme, json!({ "id": hooli, "name": "Hooli XYZ" })).await;
    let got = events(&mut one, "e", 1).await;
    assert_eq!(got[0]["changedFields"], json!(["name"]));
    assert_eq!(got[0]["subject"]["name"], "Hooli XYZ");
}

#[tokio::test]
async fn a_subject_id_of_a_kind_without_events_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for subject in [json!(acme.owner.user_id), json!("not an id")] {
        let mut client =
            subscribe(&app, &acme, json!({ "filter": { "subjectId": subject } })).await;
        let payload = client.next_payload("e").await;
        let error = &payload["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{payload}");
        assert_eq!(
            error["extensions"]["field"], "filter.subjectId",
            "{payload}"
        );
    }
}

#[tokio::test]
async fn lead_events_is_the_lead_part_of_the_same_log() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let after = head(&app, &acme).await;
    acme.create_company(&app, "Initech").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let company = acme.create_company(&app, "Hooli").await;

    let mut leads = app.ws(acme.token().unwrap()).await;
    leads
        .subscribe("l", LEAD_EVENTS, json!({ "after": after }))
        .await;
    let got = leads.next_event("l").await;
    assert_eq!(
        (&got["kind"], &got["leadId"]),
        (&json!("CREATED"), &json!(lead))
    );
    // Its cursor resumes `events` right after the lead, at the second company.
    let mut all = subscribe(&app, &acme, json!({ "after": got["cursor"] })).await;
    assert_eq!(
        events(&mut all, "e", 1).await[0]["subjectId"],
        json!(company)
    );
    // And `leadEventCursor` is the same head as `eventCursor`.
    let cursors = app
        .gql(acme.token(), "{ eventCursor leadEventCursor }", json!({}))
        .await;
    assert_eq!(cursors.ok()["eventCursor"], cursors.ok()["leadEventCursor"]);
}

#[tokio::test]
async fn a_tenant_never_receives_another_tenants_company_events() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let after = head(&app, &globex).await;
    acme.create_company(&app, "Acme's secret account").await;
    let own = globex.create_company(&app, "Globex account").await;

    let mut client = subscribe(&app, &globex, json!({ "after": after })).await;
    let got = events(&mut client, "e", 1).await;
    assert_eq!(got[0]["subjectId"], json!(own));
    client
        .expect_silence(std::time::Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn an_organization_with_companies_can_still_be_deleted() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_company(&app, "Initech").await;
    let admin = app.admin_db().await;
    use sea_orm::ConnectionTrait;
    // Audit rows name their users without a cascade (deleting an organization is not an API
    // operation yet); what is tested here is that the companies' delete triggers let go.
    let org = acme.organization_id;
    admin
        .execute_unprepared(&format!(
            "DELETE FROM audit_logs WHERE organization_id = '{org}';
             DELETE FROM organizations WHERE id = '{org}'"
        ))
        .await
        .expect("the organization, its companies and its log are deleted together");
}

#[tokio::test]
async fn webhooks_deliver_company_events_to_endpoints_that_take_them() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let companies = Receiver::start(Answer::Ok).await;
    let everything = Receiver::start(Answer::Ok).await;
    let create = "mutation($input: CreateWebhookEndpointInput!) {
        createWebhookEndpoint(input: $input) { endpoint { id subjectTypes eventKinds } }
    }";
    let made = app
        .gql(
            acme.token(),
            create,
            json!({ "input": { "url": companies.url(), "subjectTypes": ["COMPANY"] } }),
        )
        .await;
    assert_eq!(
        made.ok()["createWebhookEndpoint"]["endpoint"]["subjectTypes"],
        json!(["COMPANY"])
    );
    let companies_endpoint = made.ok()["createWebhookEndpoint"]["endpoint"]["id"].clone();
    app.gql(
        acme.token(),
        create,
        json!({ "input": { "url": everything.url() } }),
    )
    .await
    .ok();

    let company = acme.create_company(&app, "Initech").await;
    let lead = acme.create_lead(&app, json!({})).await;

    let received = companies.wait_for(1).await;
    let body = received[0].json();
    assert_eq!(body["type"], "company.created");
    assert_eq!(body["data"]["subjectType"], "COMPANY");
    assert_eq!(body["data"]["subjectId"], json!(company));
    assert_eq!(body["data"]["company"]["name"], "Initech");
    let types: Vec<Value> = everything
        .wait_for(2)
        .await
        .iter()
        .map(|r| r.json()["type"].clone())
        .collect();
    assert_eq!(types, [json!("company.created"), json!("lead.created")]);
    assert_eq!(
        everything.received()[1].json()["data"]["leadId"],
        json!(lead)
    );

    let deliveries = app
        .gql(
            acme.token(),
            "query($id: ID!) { webhookDeliveries(endpointId: $id) {
                nodes { eventKind subjectType subjectId subject { id } leadId } } }",
            json!({ "id": companies_endpoint }),
        )
        .await;
    let nodes = deliveries.ok()["webhookDeliveries"]["nodes"].clone();
    assert_eq!(
        nodes,
        json!([{ "eventKind": "CREATED", "subjectType": "COMPANY", "subjectId": company,
                 "subject": { "id": company }, "leadId": null }])
    );
    // The lead's event went to the other endpoint only.
    assert_eq!(companies.received().len(), 1);
}

/// Deals and campaigns reach webhooks like any subject: a deal's event carries the deal, a
/// campaign member's event the campaign and the lead's id.
#[tokio::test]
async fn webhooks_deliver_deal_and_campaign_events_with_their_subjects() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let sales = Receiver::start(Answer::Ok).await;
    app.gql(
        acme.token(),
        "mutation($input: CreateWebhookEndpointInput!) {
            createWebhookEndpoint(input: $input) { endpoint { id } } }",
        json!({ "input": { "url": sales.url(), "subjectTypes": ["DEAL", "CAMPAIGN"] } }),
    )
    .await
    .ok();
    let deal = acme
        .create_deal(
            &app,
            json!({ "title": "Red team", "value": { "amount": "9000", "currency": "EUR" } }),
        )
        .await;
    let lead = acme.create_lead(&app, json!({})).await;
    acme.campaign_of(&app, "Q1", &[&lead]).await;

    let bodies: Vec<Value> = sales.wait_for(3).await.iter().map(|r| r.json()).collect();
    let types: Vec<&Value> = bodies.iter().map(|b| &b["type"]).collect();
    assert_eq!(
        types,
        ["deal.created", "campaign.created", "campaign.member_added"]
    );
    assert_eq!(bodies[0]["data"]["subjectId"], json!(deal));
    assert_eq!(bodies[0]["data"]["deal"]["title"], "Red team");
    assert_eq!(
        bodies[0]["data"]["deal"]["value"],
        json!({ "amount": "9000", "currency": "EUR" })
    );
    assert_eq!(bodies[0]["data"]["deal"]["status"], "OPEN");
    assert_eq!(bodies[2]["data"]["campaign"]["name"], "Q1");
    assert_eq!(bodies[2]["data"]["detailId"], json!(lead));
    // The lead's own event went nowhere here.
    assert_eq!(sales.received().len(), 3);
}
