//! The sales pipeline: stages (ordered, managed by MANAGER and above), deals moving through
//! them with every move kept, closing and reopening, the board, roles and events.

use serde_json::{Value, json};

use crate::support::{Gql, Tenant, TestApp, tenant::Session};

const DEAL: &str = "id title status closedAt closeReason deletedAt
    value { amount currency }
    stage { name kind } lead { id } company { id } owner { id } partner { id }";

async fn gql_as(app: &TestApp, session: &Session, query: &str, variables: Value) -> Gql {
    app.gql(Some(&session.access_token), query, variables).await
}

async fn stage_names(app: &TestApp, tenant: &Tenant) -> Vec<(String, i64, String)> {
    let response = app
        .gql(
            tenant.token(),
            "{ pipelineStages { name position kind } }",
            json!({}),
        )
        .await;
    response
        .at("/pipelineStages")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["position"].as_i64().unwrap(),
                s["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn deal(app: &TestApp, tenant: &Tenant, id: &str) -> Value {
    let response = app
        .gql(
            tenant.token(),
            &format!("query($id: ID!) {{ deal(id: $id) {{ {DEAL} }} }}"),
            json!({ "id": id }),
        )
        .await;
    response.at("/deal").clone()
}

async fn move_deal(app: &TestApp, credential: Option<&str>, id: &str, stage: &str) -> Gql {
    app.gql(
        credential,
        "mutation($id: ID!, $stage: ID!) { moveDeal(input: { id: $id, stageId: $stage }) { deal { id status } } }",
        json!({ "id": id, "stage": stage }),
    )
    .await
}

async fn close_deal(
    app: &TestApp,
    tenant: &Tenant,
    id: &str,
    won: bool,
    reason: Option<&str>,
) -> Gql {
    app.gql(
        tenant.token(),
        "mutation($id: ID!, $won: Boolean!, $reason: String) {
            closeDeal(input: { id: $id, won: $won, reason: $reason }) { deal { id status } } }",
        json!({ "id": id, "won": won, "reason": reason }),
    )
    .await
}

#[tokio::test]
async fn every_new_organization_starts_with_the_default_pipeline() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let expected = [
        ("Discovery", 0, "OPEN"),
        ("Scoping", 1, "OPEN"),
        ("Proposal", 2, "OPEN"),
        ("Negotiation", 3, "OPEN"),
        ("Won", 4, "WON"),
        ("Lost", 5, "LOST"),
    ]
    .map(|(name, position, kind)| (name.to_owned(), position, kind.to_owned()));
    assert_eq!(stage_names(&app, &acme).await, expected);
}

/// Positions stay 0, 1, 2, ... through insertions, reorders and deletions; a stage with deals
/// goes only with somewhere for them to go.
#[tokio::test]
async fn stages_are_added_reordered_and_deleted_keeping_their_positions_dense() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let create = "mutation($input: CreatePipelineStageInput!) {
        createPipelineStage(input: $input) { stage { id name position } } }";
    let created = app
        .gql(
            acme.token(),
            create,
            json!({ "input": { "name": "Demo", "position": 1, "winProbability": 20, "kind": "OPEN" } }),
        )
        .await;
    let demo = created
        .at("/createPipelineStage/stage/id")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created.at("/createPipelineStage/stage/position"), 1);
    let names: Vec<String> = stage_names(&app, &acme)
        .await
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(
        names,
        [
            "Discovery",
            "Demo",
            "Scoping",
            "Proposal",
            "Negotiation",
            "Won",
            "Lost"
        ]
    );
    let positions: Vec<i64> = stage_names(&app, &acme)
        .await
        .into_iter()
        .map(|s| s.1)
        .collect();
    assert_eq!(positions, [0, 1, 2, 3, 4, 5, 6]);

    // Names are unique whatever the case; a probability is a percent.
    let taken = app
        .gql(
            acme.token(),
            create,
            json!({ "input": { "name": "demo", "winProbability": 5, "kind": "OPEN" } }),
        )
        .await;
    assert_eq!(taken.code(), "CONFLICT");
    app.gql(
        acme.token(),
        create,
        json!({ "input": { "name": "Odd", "winProbability": 101, "kind": "OPEN" } }),
    )
    .await
    .assert_bad_input("winProbability");

    // Reordered: every stage, each once.
    let mut ids: Vec<Value> = acme
        .stages(&app)
        .await
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    ids.reverse();
    let reorder = "mutation($ids: [ID!]!) { reorderPipelineStages(input: { ids: $ids }) { stages { name position } } }";
    let reordered = app.gql(acme.token(), reorder, json!({ "ids": ids })).await;
    let stages = reordered
        .at("/reorderPipelineStages/stages")
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(stages[0], json!({ "name": "Lost", "position": 0 }));
    assert_eq!(stages[6], json!({ "name": "Discovery", "position": 6 }));
    app.gql(acme.token(), reorder, json!({ "ids": &ids[1..] }))
        .await
        .assert_bad_input("ids");

    // A stage with a deal: refused without a target, moved with one.
    let deal = acme.create_deal(&app, json!({ "stageId": demo })).await;
    let delete = "mutation($id: ID!, $to: ID) {
        deletePipelineStage(input: { id: $id, moveDealsTo: $to }) { deletedStageId movedDealCount } }";
    let refused = app.gql(acme.token(), delete, json!({ "id": demo })).await;
    assert_eq!(refused.code(), "CONFLICT");
    let scoping = acme.stage_id(&app, "Scoping").await;
    let deleted = app
        .gql(acme.token(), delete, json!({ "id": demo, "to": scoping }))
        .await;
    assert_eq!(deleted.at("/deletePipelineStage/movedDealCount"), "1");
    let positions: Vec<i64> = stage_names(&app, &acme)
        .await
        .into_iter()
        .map(|s| s.1)
        .collect();
    assert_eq!(positions, [0, 1, 2, 3, 4, 5]);
    assert_eq!(deal_stage(&app, &acme, &deal).await, "Scoping");
    // Its history keeps both entries; the deleted stage is gone from them.
    let history = history(&app, &acme, &deal).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["from"], Value::Null);
    assert_eq!(history[0]["to"]["name"], "Scoping");
    assert_eq!(history[1]["to"], Value::Null);
}

async fn deal_stage(app: &TestApp, tenant: &Tenant, id: &str) -> String {
    deal(app, tenant, id).await["stage"]["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The deal's stage history, newest first.
async fn history(app: &TestApp, tenant: &Tenant, id: &str) -> Vec<Value> {
    let response = app
        .gql(
            tenant.token(),
            "query($id: ID!) { deal(id: $id) { stageHistory { nodes {
                from { name } to { name } by { id } at secondsInPreviousStage } } } }",
            json!({ "id": id }),
        )
        .await;
    response
        .at("/deal/stageHistory/nodes")
        .as_array()
        .unwrap()
        .clone()
}

/// Created in the first open stage, owned by its creator, with the lead's company; moved,
/// won (once only), reopened; every stage it entered kept, with who moved it and how long it
/// sat where it was.
#[tokio::test]
async fn a_deal_moves_through_the_pipeline_and_keeps_every_move() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    let lead = acme
        .create_lead(&app, json!({ "companyId": company }))
        .await;
    let id = acme
        .create_deal(
            &app,
            json!({ "leadId": lead, "value": { "amount": "25000.50", "currency": "EUR" },
                    "expectedCloseDate": "2027-03-31" }),
        )
        .await;
    let created = deal(&app, &acme, &id).await;
    assert_eq!(created["status"], "OPEN");
    assert_eq!(created["stage"]["name"], "Discovery");
    assert_eq!(created["company"]["id"], company.as_str());
    assert_eq!(created["owner"]["id"], acme.owner.user_id.as_str());
    assert_eq!(
        created["value"],
        json!({ "amount": "25000.5", "currency": "EUR" })
    );

    let proposal = acme.stage_id(&app, "Proposal").await;
    assert_eq!(
        move_deal(&app, acme.token(), &id, &proposal)
            .await
            .at("/moveDeal/deal/status"),
        "OPEN"
    );
    let won = close_deal(&app, &acme, &id, true, Some("signed the SOW")).await;
    assert_eq!(won.at("/closeDeal/deal/status"), "WON");
    let closed = deal(&app, &acme, &id).await;
    assert_eq!(closed["stage"]["name"], "Won");
    assert_eq!(closed["closeReason"], "signed the SOW");
    assert!(closed["closedAt"].is_string());
    // Closed is closed: closing again is refused and changes nothing.
    close_deal(&app, &acme, &id, false, None)
        .await
        .assert_bad_input("won");
    assert_eq!(deal(&app, &acme, &id).await["status"], "WON");

    // Moved back to an open stage, it is open again, without its close.
    let negotiation = acme.stage_id(&app, "Negotiation").await;
    move_deal(&app, acme.token(), &id, &negotiation).await.ok();
    let reopened = deal(&app, &acme, &id).await;
    assert_eq!(reopened["status"], "OPEN");
    assert_eq!(reopened["closedAt"], Value::Null);
    assert_eq!(reopened["closeReason"], Value::Null);
    // Moving it where it is changes nothing.
    move_deal(&app, acme.token(), &id, &negotiation).await.ok();

    let entered: Vec<(Value, Value)> = history(&app, &acme, &id)
        .await
        .iter()
        .map(|h| (h["from"]["name"].clone(), h["to"]["name"].clone()))
        .collect();
    assert_eq!(entered.len(), 4);
    // Rows of one transaction share a time: compare as a set, newest first otherwise.
    for step in [
        (json!(null), json!("Discovery")),
        (json!("Discovery"), json!("Proposal")),
        (json!("Proposal"), json!("Won")),
        (json!("Won"), json!("Negotiation")),
    ] {
        assert!(entered.contains(&step), "{step:?} in {entered:?}");
    }
    for change in history(&app, &acme, &id).await {
        assert_eq!(change["by"]["id"], acme.owner.user_id.as_str());
        let seconds = &change["secondsInPreviousStage"];
        if change["from"].is_null() {
            assert!(seconds.is_null());
        } else {
            assert!(seconds.as_str().unwrap().parse::<i64>().unwrap() >= 0);
        }
    }

    // The lead's and the company's deals; gone from lists while deleted, back when restored.
    let related = "query($lead: ID!, $company: ID!) {
        lead(id: $lead) { deals { totalCount } } company(id: $company) { deals { nodes { id } } } }";
    let both = json!({ "lead": lead, "company": company });
    let seen = app.gql(acme.token(), related, both.clone()).await;
    assert_eq!(seen.at("/lead/deals/totalCount"), 1);
    assert_eq!(seen.at("/company/deals/nodes/0/id"), id.as_str());
    let delete = "mutation($id: ID!) { deleteDeal(input: { id: $id }) { deal { deletedAt } } }";
    app.gql(acme.token(), delete, json!({ "id": id }))
        .await
        .ok();
    assert_eq!(
        app.gql(acme.token(), related, both.clone())
            .await
            .at("/lead/deals/totalCount"),
        0
    );
    let listed = "{ deals { totalCount } trash: deals(filter: { deleted: true }) { totalCount } }";
    let lists = app.gql(acme.token(), listed, json!({})).await;
    assert_eq!(
        (lists.at("/deals/totalCount"), lists.at("/trash/totalCount")),
        (&json!(0), &json!(1))
    );
    // A deleted deal cannot move.
    assert_eq!(
        move_deal(&app, acme.token(), &id, &proposal).await.code(),
        "NOT_FOUND"
    );
    let restore = "mutation($id: ID!) { restoreDeal(input: { id: $id }) { deal { deletedAt } } }";
    app.gql(acme.token(), restore, json!({ "id": id }))
        .await
        .ok();
    assert_eq!(
        app.gql(acme.token(), related, both)
            .await
            .at("/lead/deals/totalCount"),
        1
    );
}

/// A deal's status is its stage's kind by construction: changing the kind of a stage changes
/// the status of its deals (and their close time) with it.
#[tokio::test]
async fn a_stage_changing_kind_takes_its_deals_status_along() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let negotiation = acme.stage_id(&app, "Negotiation").await;
    let id = acme
        .create_deal(&app, json!({ "stageId": negotiation }))
        .await;
    app.gql(
        acme.token(),
        "mutation($id: ID!) { updatePipelineStage(input: { id: $id, kind: WON, name: \"Signed\" }) { stage { kind } } }",
        json!({ "id": negotiation }),
    )
    .await
    .ok();
    let signed = deal(&app, &acme, &id).await;
    assert_eq!(signed["status"], "WON");
    assert!(signed["closedAt"].is_string());
    let open = app
        .gql(
            acme.token(),
            "{ deals(filter: { status: [OPEN] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(open.at("/deals/totalCount"), 0);
}

/// What a deal refers to must exist in the organization, and each missing reference is named.
#[tokio::test]
async fn a_deals_references_are_checked_and_named() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let create = "mutation($input: CreateDealInput!) { createDeal(input: $input) { deal { id } } }";
    let attempt = |input: Value| {
        let app = &app;
        let acme = &acme;
        async move {
            app.gql(acme.token(), create, json!({ "input": input }))
                .await
        }
    };
    let gone = acme.create_lead(&app, json!({})).await;
    acme.delete_lead(&app, &gone).await;
    let missing = attempt(json!({ "title": "X", "leadId": gone })).await;
    assert_eq!(
        (missing.code(), missing.message()),
        ("NOT_FOUND", "lead not found")
    );
    let company = acme.create_company(&app, "Initech").await;
    attempt(json!({ "title": "X", "leadId": company }))
        .await
        .assert_bad_input("leadId");
    attempt(json!({ "title": "" }))
        .await
        .assert_bad_input("title");
    attempt(json!({ "title": "X", "value": { "amount": "-1", "currency": "USD" } }))
        .await
        .assert_bad_input("value");
    // Without an open stage there is nowhere for a new deal to start.
    for name in ["Discovery", "Scoping", "Proposal", "Negotiation"] {
        let id = acme.stage_id(&app, name).await;
        app.gql(
            acme.token(),
            "mutation($id: ID!) { deletePipelineStage(input: { id: $id }) { deletedStageId } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    }
    let nowhere = attempt(json!({ "title": "X" })).await;
    assert_eq!(nowhere.code(), "CONFLICT");
    let deals = app
        .gql(acme.token(), "{ deals { totalCount } }", json!({}))
        .await;
    assert_eq!(deals.at("/deals/totalCount"), 0);
}

/// VIEWERs read; AGENTs change the deals they own; MANAGERs and above change any deal and the
/// pipeline itself.
#[tokio::test]
async fn agents_change_their_own_deals_and_managers_change_the_pipeline() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (agent, manager, viewer) = (
        acme.add_user(&app, "AGENT").await,
        acme.add_user(&app, "MANAGER").await,
        acme.add_user(&app, "VIEWER").await,
    );
    let create = "mutation { createDeal(input: { title: \"Mine\" }) { deal { id owner { id } } } }";
    assert_eq!(
        gql_as(&app, &viewer, create, json!({})).await.code(),
        "FORBIDDEN"
    );
    let created = gql_as(&app, &agent, create, json!({})).await;
    let own = created
        .at("/createDeal/deal/id")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created.at("/createDeal/deal/owner/id"),
        agent.user_id.as_str()
    );
    let managers = gql_as(&app, &manager, create, json!({})).await;
    let others = managers
        .at("/createDeal/deal/id")
        .as_str()
        .unwrap()
        .to_owned();

    let rename = "mutation($id: ID!) { updateDeal(input: { id: $id, title: \"Renamed\" }) { deal { title } } }";
    gql_as(&app, &agent, rename, json!({ "id": own }))
        .await
        .ok();
    let refused = gql_as(&app, &agent, rename, json!({ "id": others })).await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let won = acme.stage_id(&app, "Won").await;
    assert_eq!(
        move_deal(&app, Some(&agent.access_token), &others, &won)
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(deal(&app, &acme, &others).await["title"], "Mine");
    // The manager changes the agent's deal; the agent may not touch the stages.
    gql_as(&app, &manager, rename, json!({ "id": own }))
        .await
        .ok();
    let stage = "mutation { createPipelineStage(input: { name: \"Legal\", winProbability: 80, kind: OPEN }) { stage { id } } }";
    assert_eq!(
        gql_as(&app, &agent, stage, json!({})).await.code(),
        "FORBIDDEN"
    );
    gql_as(&app, &manager, stage, json!({})).await.ok();
    let partner = "mutation { createPartner(input: { companyName: \"Shield\", contactName: \"Pat\", email: \"pat@shield.test\" }) { partner { id } } }";
    assert_eq!(
        gql_as(&app, &agent, partner, json!({})).await.code(),
        "FORBIDDEN"
    );
    gql_as(&app, &manager, partner, json!({})).await.ok();
    // Everyone reads.
    let read = gql_as(
        &app,
        &viewer,
        "{ deals { totalCount } partners { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(read.at("/deals/totalCount"), 2);
    assert_eq!(read.at("/partners/totalCount"), 1);
}

/// Every stage, even an empty one, with its first deals in the board's order, its count and
/// its value per currency; the filter chooses the deals.
#[tokio::test]
async fn the_board_shows_each_stage_with_its_first_deals_count_and_value_per_currency() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let proposal = acme.stage_id(&app, "Proposal").await;
    let money = |amount: &str, currency: &str| json!({ "amount": amount, "currency": currency });
    for (title, value, close) in [
        ("Small", Some(money("1000", "USD")), "2027-05-01"),
        ("Large", Some(money("90000", "USD")), "2027-09-01"),
        ("Euro", Some(money("5000.25", "EUR")), "2027-02-01"),
        ("Unpriced", None, "2027-01-01"),
    ] {
        acme.create_deal(
            &app,
            json!({ "title": title, "stageId": proposal, "value": value, "expectedCloseDate": close }),
        )
        .await;
    }
    acme.create_deal(
        &app,
        json!({ "title": "Agent's", "ownerId": agent.user_id }),
    )
    .await;
    let board = "query($first: Int!, $order: BoardDealOrder!, $filter: DealFilter) {
        pipelineBoard(firstDealsPerStage: $first, orderDealsBy: $order, filter: $filter) {
            stage { name } deals { title } dealCount valueByCurrency { amount currency } } }";
    let by_value = app
        .gql(acme.token(), board, json!({ "first": 3, "order": "VALUE" }))
        .await;
    let columns = by_value.at("/pipelineBoard").as_array().unwrap().clone();
    assert_eq!(columns.len(), 6);
    assert_eq!(columns[0]["stage"]["name"], "Discovery");
    assert_eq!(columns[0]["dealCount"], "1");
    let proposal_column = &columns[2];
    assert_eq!(proposal_column["dealCount"], "4");
    assert_eq!(
        proposal_column["deals"],
        json!([{ "title": "Large" }, { "title": "Euro" }, { "title": "Small" }])
    );
    assert_eq!(
        proposal_column["valueByCurrency"],
        json!([money("5000.25", "EUR"), money("91000", "USD")])
    );
    assert_eq!(columns[4]["deals"], json!([]));
    assert_eq!(columns[4]["dealCount"], "0");

    let by_close = app
        .gql(
            acme.token(),
            board,
            json!({ "first": 2, "order": "EXPECTED_CLOSE" }),
        )
        .await;
    assert_eq!(
        by_close.at("/pipelineBoard/2/deals"),
        &json!([{ "title": "Unpriced" }, { "title": "Euro" }])
    );
    let agents = app
        .gql(
            acme.token(),
            board,
            json!({ "first": 5, "order": "VALUE", "filter": { "ownerId": agent.user_id } }),
        )
        .await;
    let counts: Vec<&Value> = agents
        .at("/pipelineBoard")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["dealCount"])
        .collect();
    assert_eq!(counts, ["1", "0", "0", "0", "0", "0"]);
    app.gql(
        acme.token(),
        board,
        json!({ "first": 51, "order": "VALUE" }),
    )
    .await
    .assert_bad_input("firstDealsPerStage");
}

/// Deals are on the event log: created, moved (STAGE_CHANGED), closed (STATUS_CHANGED) and
/// handed to another owner (ASSIGNED), each with the fields that changed.
#[tokio::test]
async fn deal_changes_are_events_on_the_log() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let manager = acme.add_user(&app, "MANAGER").await;
    let after = app
        .gql(acme.token(), "{ eventCursor }", json!({}))
        .await
        .ok()["eventCursor"]
        .clone();
    let id = acme.create_deal(&app, json!({})).await;
    let scoping = acme.stage_id(&app, "Scoping").await;
    move_deal(&app, acme.token(), &id, &scoping).await.ok();
    close_deal(&app, &acme, &id, false, Some("budget cut"))
        .await
        .ok();
    app.gql(
        acme.token(),
        "mutation($id: ID!, $owner: ID!) { updateDeal(input: { id: $id, ownerId: $owner }) { deal { id } } }",
        json!({ "id": id, "owner": manager.user_id }),
    )
    .await
    .ok();

    let mut client = app.ws(acme.token().unwrap()).await;
    client
        .subscribe(
            "e",
            "subscription($after: String, $filter: EventFilter) {
                events(after: $after, filter: $filter) {
                    kind subjectType subjectId changedFields subject { ... on Deal { status } } } }",
            json!({ "after": after, "filter": { "subjectTypes": ["DEAL"] } }),
        )
        .await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let payload = client.next_payload("e").await;
        let event = payload["data"]["events"].clone();
        assert_eq!(event["subjectType"], "DEAL", "{payload}");
        assert_eq!(event["subjectId"], id.as_str());
        // The subject as it is now.
        assert_eq!(event["subject"]["status"], "LOST");
        seen.push((
            event["kind"].as_str().unwrap().to_owned(),
            event["changedFields"].clone(),
        ));
    }
    let expected = [
        ("CREATED", json!([])),
        ("STAGE_CHANGED", json!(["stageEnteredAt", "stage"])),
        // A close is a change of status and of stage, in this order.
        (
            "STATUS_CHANGED",
            json!(["closeReason", "closedAt", "status"]),
        ),
        ("STAGE_CHANGED", json!(["stageEnteredAt", "stage"])),
        ("ASSIGNED", json!(["owner"])),
    ]
    .map(|(kind, fields)| (kind.to_owned(), fields));
    assert_eq!(seen, expected);
}
