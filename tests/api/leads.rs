//! Leads: the list's filters, orders and keyset pages, and the lifecycle mutations.

use serde_json::{Value, json};

use crate::support::{Tenant, TestApp};

async fn ids(app: &TestApp, tenant: &Tenant, filter: Value) -> Vec<String> {
    let response = app
        .gql(
            tenant.token(),
            "query($filter: LeadFilter) { leads(first: 100, filter: $filter) { nodes { email } } }",
            json!({ "filter": filter }),
        )
        .await;
    let mut emails: Vec<String> = response
        .at("/leads/nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    emails
}

#[tokio::test]
async fn filters_combine_status_tags_score_and_search_across_company_names() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = acme.create_company(&app, "Initech").await;
    acme.create_lead(
        &app,
        json!({ "email": "a@x.io", "status": "NEW", "score": 10, "tags": ["vip", "soc2"] }),
    )
    .await;
    acme.create_lead(&app, json!({ "email": "b@x.io", "status": "QUALIFIED", "score": 50, "tags": ["vip"], "companyId": initech })).await;
    acme.create_lead(
        &app,
        json!({ "email": "c@x.io", "status": "CLOSED_WON", "score": 90, "firstName": "Grace" }),
    )
    .await;

    assert_eq!(
        ids(&app, &acme, json!({ "status": ["NEW", "QUALIFIED"] })).await,
        ["a@x.io", "b@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "tagsAny": ["soc2", "nothing"] })).await,
        ["a@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "tagsAll": ["vip", "soc2"] })).await,
        ["a@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "scoreMin": 40, "scoreMax": 95 })).await,
        ["b@x.io", "c@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "INITE" })).await,
        ["b@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "grace" })).await,
        ["c@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "companyId": initech })).await,
        ["b@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "100%" })).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn keyset_pages_walk_every_lead_once_in_both_directions() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for (i, score) in [30, 10, 30, 20, 30, 10, 40].iter().enumerate() {
        acme.create_lead(
            &app,
            json!({ "email": format!("l{i}@x.io"), "score": score }),
        )
        .await;
    }
    let query = "query($after: String, $before: String, $first: Int, $last: Int) {
        leads(first: $first, after: $after, last: $last, before: $before,
              orderBy: { field: SCORE, direction: DESC }) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { email score } } } }";
    let mut forward = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .gql(acme.token(), query, json!({ "first": 2, "after": after }))
            .await;
        assert_eq!(page.at("/leads/totalCount"), 7);
        for edge in page.at("/leads/edges").as_array().unwrap() {
            forward.push((
                edge["node"]["score"].as_i64().unwrap(),
                edge["node"]["email"].as_str().unwrap().to_owned(),
            ));
        }
        if page.at("/leads/pageInfo/hasNextPage") == false {
            break;
        }
        after = page.at("/leads/pageInfo/endCursor").clone();
    }
    assert_eq!(forward.len(), 7);
    let scores: Vec<i64> = forward.iter().map(|(s, _)| *s).collect();
    assert_eq!(scores, [40, 30, 30, 30, 20, 10, 10]);
    let mut unique: Vec<_> = forward.iter().map(|(_, e)| e.clone()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7);

    let mut backward = Vec::new();
    let mut before = Value::Null;
    loop {
        let page = app
            .gql(acme.token(), query, json!({ "last": 3, "before": before }))
            .await;
        let mut chunk: Vec<_> = page
            .at("/leads/edges")
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["node"]["score"].as_i64().unwrap(),
                    e["node"]["email"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        chunk.extend(backward);
        backward = chunk;
        if page.at("/leads/pageInfo/hasPreviousPage") == false {
            break;
        }
        before = page.at("/leads/pageInfo/startCursor").clone();
    }
    assert_eq!(backward, forward);
}

#[tokio::test]
async fn a_lead_is_created_updated_assigned_deleted_and_restored() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let lead = acme
        .create_lead(
            &app,
            json!({ "phone": "+1 555 0100", "customFields": { "region": "EMEA" } }),
        )
        .await;

    let updated = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { updateLead(input: { id: $id, status: QUALIFIED, score: 77, phone: null }) {
                lead { status score phone customFields } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(updated.at("/updateLead/lead/status"), "QUALIFIED");
    assert_eq!(updated.at("/updateLead/lead/score"), 77);
    assert_eq!(updated.at("/updateLead/lead/phone"), &Value::Null);
    assert_eq!(updated.at("/updateLead/lead/customFields/region"), "EMEA");

    let assigned = app
        .gql(
            acme.token(),
            "mutation($id: ID!, $user: ID!) { assignLead(input: { leadId: $id, userId: $user }) { lead { assignedTo { email } } } }",
            json!({ "id": lead, "user": agent.user_id }),
        )
        .await;
    assert_eq!(
        assigned.at("/assignLead/lead/assignedTo/email"),
        agent.email.as_str()
    );
    let mine = app
        .gql(
            Some(&agent.access_token),
            "query($me: ID!) { leads(filter: { assignedToId: $me }) { totalCount } }",
            json!({ "me": agent.user_id }),
        )
        .await;
    assert_eq!(mine.at("/leads/totalCount"), 1);

    let deleted = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { deleteLead(input: { id: $id }) { lead { deletedAt } } }",
            json!({ "id": lead }),
        )
        .await;
    assert!(deleted.at("/deleteLead/lead/deletedAt").is_string());
    assert_eq!(
        app.gql(acme.token(), "{ leads { totalCount } }", json!({}))
            .await
            .at("/leads/totalCount"),
        0
    );
    let trash = app
        .gql(
            acme.token(),
            "{ leads(filter: { deleted: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(trash.at("/leads/totalCount"), 1);
    let again = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { deleteLead(input: { id: $id }) { lead { id } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(again.code(), "NOT_FOUND");

    let restored = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { restoreLead(input: { id: $id }) { lead { deletedAt } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(restored.at("/restoreLead/lead/deletedAt"), &Value::Null);
    assert_eq!(
        app.gql(acme.token(), "{ leads { totalCount } }", json!({}))
            .await
            .at("/leads/totalCount"),
        1
    );
}

#[tokio::test]
async fn activities_and_notes_page_newest_first_and_touch_the_lead() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    for _ in 0..3 {
        acme.log_activity(&app, &lead).await;
    }
    let query = "query($id: ID!, $after: String) { lead(id: $id) { lastContactedAt
        activities(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id kind user { email } } } } }";
    let first = app.gql(acme.token(), query, json!({ "id": lead })).await;
    assert!(first.at("/lead/lastContactedAt").is_string());
    assert_eq!(first.at("/lead/activities/totalCount"), 3);
    assert_eq!(
        first.at("/lead/activities/nodes/0/user/email"),
        "owner@acme.test"
    );
    let cursor = first.at("/lead/activities/pageInfo/endCursor").clone();
    let second = app
        .gql(acme.token(), query, json!({ "id": lead, "after": cursor }))
        .await;
    let page_two = second.at("/lead/activities/nodes").as_array().unwrap();
    assert_eq!(page_two.len(), 1);
    assert_eq!(second.at("/lead/activities/pageInfo/hasNextPage"), false);
    let page_one: Vec<&Value> = first
        .at("/lead/activities/nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert!(!page_one.contains(&&page_two[0]["id"]));
}

#[tokio::test]
async fn companies_list_their_leads_and_deleting_a_company_keeps_its_leads() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    let lead = acme
        .create_lead(&app, json!({ "companyId": company }))
        .await;
    let listed = app
        .gql(
            acme.token(),
            "query($id: ID!) { company(id: $id) { name leads { totalCount nodes { id } } } }",
            json!({ "id": company }),
        )
        .await;
    assert_eq!(listed.at("/company/leads/nodes/0/id"), lead.as_str());
    app.gql(
        acme.token(),
        "mutation($id: ID!) { deleteCompany(input: { id: $id }) { deletedCompanyId } }",
        json!({ "id": company }),
    )
    .await
    .ok();
    let orphan = app
        .gql(
            acme.token(),
            "query($id: ID!) { lead(id: $id) { company { id } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(orphan.at("/lead/company"), &Value::Null);
}

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_its_logins_work() {
    let app = TestApp::spawn().await;
    let db = app.app_db().await;
    let first = leadgraph::seed::seed_demo(&db, 30).await.unwrap();
    assert_eq!(first.leads, 60);
    let second = leadgraph::seed::seed_demo(&db, 30).await.unwrap();
    assert_eq!(second, leadgraph::seed::SeedCounts::default());
    for org in &leadgraph::seed::DEMO_ORGANIZATIONS {
        for role in leadgraph::seed::DEMO_ROLES {
            let email = leadgraph::seed::demo_email(role, org.slug);
            let login = app
                .login(org.slug, &email, leadgraph::seed::DEMO_PASSWORD)
                .await;
            let token = login.ok()["login"]["accessToken"]
                .as_str()
                .unwrap()
                .to_owned();
            let leads = app
                .gql(Some(&token), "{ leads { totalCount } }", json!({}))
                .await;
            assert_eq!(leads.at("/leads/totalCount"), 30, "{email}");
        }
    }
}
