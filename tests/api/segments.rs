//! Segments: saved lead filters, evaluated live whenever they are read.

use serde_json::{Value, json};

use crate::support::{Gql, Tenant, TestApp};

async fn create_segment(app: &TestApp, credential: Option<&str>, input: Value) -> Gql {
    app.gql(
        credential,
        "mutation($input: CreateSegmentInput!) { createSegment(input: $input) { segment { id } } }",
        json!({ "input": input }),
    )
    .await
}

async fn read(app: &TestApp, tenant: &Tenant, id: &str, first: i32, after: Value) -> Gql {
    app.gql(
        tenant.token(),
        "query($id: ID!, $first: Int!, $after: String) { segment(id: $id) { leadCount
            leads(first: $first, after: $after) { totalCount
                pageInfo { hasNextPage endCursor } nodes { id temperature } } } }",
        json!({ "id": id, "first": first, "after": after }),
    )
    .await
}

#[tokio::test]
async fn a_segment_is_its_filter_evaluated_whenever_it_is_read() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let hot = acme
        .create_leads(&app, 3, json!({ "temperature": "HOT" }))
        .await;
    acme.create_lead(&app, json!({ "temperature": "COLD" }))
        .await;
    let created = create_segment(
        &app,
        acme.token(),
        json!({ "name": "Hot leads", "filter": { "temperature": ["HOT"] } }),
    )
    .await;
    let id = created
        .at("/createSegment/segment/id")
        .as_str()
        .unwrap()
        .to_owned();

    // Paged newest first, with a cursor of its own.
    let first = read(&app, &acme, &id, 2, Value::Null).await;
    assert_eq!(first.at("/segment/leadCount"), "3");
    assert_eq!(first.at("/segment/leads/totalCount"), 3);
    let ids: Vec<&Value> = first
        .at("/segment/leads/nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&json!(hot[2]), &json!(hot[1])]);
    assert_eq!(first.at("/segment/leads/pageInfo/hasNextPage"), true);
    let cursor = first.at("/segment/leads/pageInfo/endCursor").clone();
    let second = read(&app, &acme, &id, 2, cursor).await;
    assert_eq!(second.at("/segment/leads/nodes/0/id"), hot[0].as_str());
    assert_eq!(second.at("/segment/leads/pageInfo/hasNextPage"), false);
    // A cursor of another list is refused.
    let page = app
        .gql(
            acme.token(),
            "{ leads(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let foreign = page.at("/leads/pageInfo/endCursor").clone();
    read(&app, &acme, &id, 2, foreign)
        .await
        .assert_bad_input("after");

    // Live: a new hot lead joins, a cooled one and a deleted one leave.
    acme.create_lead(&app, json!({ "temperature": "HOT" }))
        .await;
    acme.update_lead(&app, &hot[0], json!({ "temperature": "WARM" }))
        .await;
    acme.delete_lead(&app, &hot[1]).await;
    assert_eq!(
        read(&app, &acme, &id, 10, Value::Null)
            .await
            .at("/segment/leadCount"),
        "2"
    );

    // Names are unique whatever the case; the filter is validated as `leads(filter:)`'s.
    let taken = create_segment(
        &app,
        acme.token(),
        json!({ "name": "HOT LEADS", "filter": {} }),
    )
    .await;
    assert_eq!(taken.code(), "CONFLICT");
    create_segment(
        &app,
        acme.token(),
        json!({ "name": "Odd", "filter": { "scoreMin": 500 } }),
    )
    .await
    .assert_bad_input("filter");
    let listed = app
        .gql(
            acme.token(),
            "{ segments { totalCount nodes { name filter } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.at("/segments/totalCount"), 1);
    assert_eq!(
        listed.at("/segments/nodes/0/filter"),
        &json!({ "temperature": ["HOT"] })
    );
}

/// Any writer saves a segment; its creator or a MANAGER and above changes it.
#[tokio::test]
async fn agents_change_only_the_segments_they_saved() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let viewer = acme.add_user(&app, "VIEWER").await;
    let input = |name: &str| json!({ "name": name, "filter": { "unassigned": true } });
    let refused = create_segment(&app, Some(&viewer.access_token), input("Viewer's")).await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let own = create_segment(&app, Some(&agent.access_token), input("Agent's")).await;
    let own = own
        .at("/createSegment/segment/id")
        .as_str()
        .unwrap()
        .to_owned();
    let owners = create_segment(&app, acme.token(), input("Owner's")).await;
    let owners = owners
        .at("/createSegment/segment/id")
        .as_str()
        .unwrap()
        .to_owned();
    let rename = "mutation($id: ID!) { updateSegment(input: { id: $id, description: \"mine\" }) { segment { description } } }";
    let renamed = app
        .gql(Some(&agent.access_token), rename, json!({ "id": own }))
        .await;
    assert_eq!(renamed.at("/updateSegment/segment/description"), "mine");
    let not_own = app
        .gql(Some(&agent.access_token), rename, json!({ "id": owners }))
        .await;
    assert_eq!(not_own.code(), "FORBIDDEN");
    let delete = "mutation($id: ID!) { deleteSegment(input: { id: $id }) { deletedSegmentId } }";
    assert_eq!(
        app.gql(Some(&agent.access_token), delete, json!({ "id": owners }))
            .await
            .code(),
        "FORBIDDEN"
    );
    app.gql(acme.token(), delete, json!({ "id": own }))
        .await
        .ok();
}
