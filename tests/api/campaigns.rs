//! Campaigns: their lifecycle, membership by ids, by filter and by their target criteria
//! (each lead once), members' moves, stats computed in SQL, roles and events.

use serde_json::{Value, json};

use crate::support::{Gql, Tenant, TestApp, tenant::merged};

const STATUSES: [&str; 5] = ["DRAFT", "ACTIVE", "PAUSED", "COMPLETED", "CANCELLED"];

/// The campaign moves the API allows, and only those.
const CAMPAIGN_MOVES: [(&str, &str); 8] = [
    ("DRAFT", "ACTIVE"),
    ("DRAFT", "CANCELLED"),
    ("ACTIVE", "PAUSED"),
    ("PAUSED", "ACTIVE"),
    ("ACTIVE", "COMPLETED"),
    ("ACTIVE", "CANCELLED"),
    ("PAUSED", "COMPLETED"),
    ("PAUSED", "CANCELLED"),
];

async fn create_campaign(app: &TestApp, tenant: &Tenant, input: Value) -> String {
    let input = merged(json!({ "name": "Q1 outreach", "type": "EMAIL" }), input);
    tenant.create(app, "Campaign", "campaign", input).await
}

async fn change_status(app: &TestApp, tenant: &Tenant, id: &str, status: &str) -> Gql {
    app.gql(
        tenant.token(),
        "mutation($id: ID!, $status: CampaignStatus!) {
            changeCampaignStatus(input: { id: $id, status: $status }) { campaign { status } } }",
        json!({ "id": id, "status": status }),
    )
    .await
}

/// A campaign in `status`, reached by allowed moves.
async fn campaign_in(app: &TestApp, tenant: &Tenant, status: &str) -> String {
    let id = create_campaign(app, tenant, json!({})).await;
    let path: &[&str] = match status {
        "DRAFT" => &[],
        "ACTIVE" => &["ACTIVE"],
        "PAUSED" => &["ACTIVE", "PAUSED"],
        "COMPLETED" => &["ACTIVE", "COMPLETED"],
        "CANCELLED" => &["CANCELLED"],
        other => panic!("no status {other}"),
    };
    for step in path {
        change_status(app, tenant, &id, step).await.ok();
    }
    id
}

async fn add(app: &TestApp, tenant: &Tenant, input: Value) -> Gql {
    app.gql(
        tenant.token(),
        "mutation($input: AddLeadsToCampaignInput!) {
            addLeadsToCampaign(input: $input) { changedCount campaign { id } } }",
        json!({ "input": input }),
    )
    .await
}

fn changed(response: &Gql, field: &str) -> i64 {
    response
        .at(&format!("/{field}/changedCount"))
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_campaign_moves_only_along_its_lifecycle() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for from in STATUSES {
        for to in STATUSES {
            let id = campaign_in(&app, &acme, from).await;
            let moved = change_status(&app, &acme, &id, to).await;
            if CAMPAIGN_MOVES.contains(&(from, to)) {
                assert_eq!(moved.at("/changeCampaignStatus/campaign/status"), to);
            } else {
                moved.assert_bad_input("status");
                assert!(
                    moved.message().contains(&format!("from {from} to {to}")),
                    "{}",
                    moved.message()
                );
                let now = app
                    .gql(
                        acme.token(),
                        "query($id: ID!) { campaign(id: $id) { status } }",
                        json!({ "id": id }),
                    )
                    .await;
                assert_eq!(now.at("/campaign/status"), from);
            }
        }
    }
}

#[tokio::test]
async fn leads_join_a_campaign_once_by_ids_by_filter_or_by_its_target_criteria() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let hot = acme
        .create_leads(&app, 3, json!({ "temperature": "HOT" }))
        .await;
    let warm = acme
        .create_lead(&app, json!({ "temperature": "WARM" }))
        .await;
    let gone = acme
        .create_lead(&app, json!({ "temperature": "HOT" }))
        .await;
    acme.delete_lead(&app, &gone).await;

    let id = create_campaign(
        &app,
        &acme,
        json!({ "targetCriteria": { "temperature": ["HOT"] } }),
    )
    .await;
    // By the campaign's own criteria: the live hot leads; again, nobody new.
    let first = add(&app, &acme, json!({ "campaignId": id })).await;
    assert_eq!(changed(&first, "addLeadsToCampaign"), 3);
    assert_eq!(
        changed(
            &add(&app, &acme, json!({ "campaignId": id })).await,
            "addLeadsToCampaign"
        ),
        0
    );
    // By filter and by ids, each lead once.
    let by_filter = add(
        &app,
        &acme,
        json!({ "campaignId": id, "filter": { "temperature": ["WARM", "HOT"] } }),
    )
    .await;
    assert_eq!(changed(&by_filter, "addLeadsToCampaign"), 1);
    let by_ids = add(
        &app,
        &acme,
        json!({ "campaignId": id, "leadIds": [hot[0], warm] }),
    )
    .await;
    assert_eq!(changed(&by_ids, "addLeadsToCampaign"), 0);
    // A deleted lead is no lead to add: nothing is added.
    let refused = add(
        &app,
        &acme,
        json!({ "campaignId": id, "leadIds": [hot[1], gone] }),
    )
    .await;
    assert_eq!(refused.code(), "NOT_FOUND");
    add(
        &app,
        &acme,
        json!({ "campaignId": id, "leadIds": [warm], "filter": {} }),
    )
    .await
    .assert_bad_input("input");
    add(
        &app,
        &acme,
        json!({ "campaignId": id, "filter": { "scoreMin": 500 } }),
    )
    .await
    .assert_bad_input("filter");

    let members = "query($id: ID!) { campaign(id: $id) { members { totalCount nodes { status lead { id } } } } }";
    let listed = app.gql(acme.token(), members, json!({ "id": id })).await;
    assert_eq!(listed.at("/campaign/members/totalCount"), 4);
    assert!(
        listed
            .at("/campaign/members/nodes")
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "PENDING")
    );

    let remove = "mutation($id: ID!, $leads: [ID!]!) {
        removeLeadsFromCampaign(input: { campaignId: $id, leadIds: $leads }) { changedCount } }";
    let removed = app
        .gql(
            acme.token(),
            remove,
            json!({ "id": id, "leads": [warm, hot[0]] }),
        )
        .await;
    assert_eq!(changed(&removed, "removeLeadsFromCampaign"), 2);
    let listed = app.gql(acme.token(), members, json!({ "id": id })).await;
    assert_eq!(listed.at("/campaign/members/totalCount"), 2);

    // A campaign that is over takes no one; without criteria, one is told what to give.
    let done = campaign_in(&app, &acme, "COMPLETED").await;
    assert_eq!(
        add(
            &app,
            &acme,
            json!({ "campaignId": done, "leadIds": [warm] })
        )
        .await
        .code(),
        "CONFLICT"
    );
    let plain = create_campaign(&app, &acme, json!({})).await;
    add(&app, &acme, json!({ "campaignId": plain }))
        .await
        .assert_bad_input("input");
    // Criteria are validated as a lead filter when they are stored.
    let too_long =
        json!({ "name": "X", "type": "EMAIL", "targetCriteria": { "search": "x".repeat(300) } });
    app.gql(
        acme.token(),
        "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }",
        json!({ "input": too_long }),
    )
    .await
    .assert_bad_input("targetCriteria");
}

/// Every member move the API allows, and only those, each setting its step's time; the stats
/// follow, computed in SQL.
#[tokio::test]
async fn members_move_from_pending_to_converted_and_the_stats_follow() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let id = create_campaign(
        &app,
        &acme,
        json!({ "budgetAllocated": { "amount": "10000", "currency": "USD" } }),
    )
    .await;
    let update = "mutation($id: ID!, $lead: ID!, $status: MemberStatus!) {
        updateCampaignMember(input: { campaignId: $id, leadId: $lead, status: $status }) {
            member { status contactedAt respondedAt convertedAt excludedAt } } }";
    let path = |to: &str| -> Vec<&'static str> {
        match to {
            "PENDING" => vec![],
            "CONTACTED" => vec!["CONTACTED"],
            "RESPONDED" => vec!["CONTACTED", "RESPONDED"],
            "CONVERTED" => vec!["CONTACTED", "RESPONDED", "CONVERTED"],
            "EXCLUDED" => vec!["EXCLUDED"],
            other => panic!("no status {other}"),
        }
    };
    let allowed = [
        ("PENDING", "CONTACTED"),
        ("CONTACTED", "RESPONDED"),
        ("RESPONDED", "CONVERTED"),
        ("PENDING", "EXCLUDED"),
        ("CONTACTED", "EXCLUDED"),
        ("RESPONDED", "EXCLUDED"),
    ];
    let statuses = ["PENDING", "CONTACTED", "RESPONDED", "CONVERTED", "EXCLUDED"];
    for from in statuses {
        for to in statuses {
            let lead = acme.create_lead(&app, json!({})).await;
            add(&app, &acme, json!({ "campaignId": id, "leadIds": [lead] }))
                .await
                .ok();
            for step in path(from) {
                app.gql(
                    acme.token(),
                    update,
                    json!({ "id": id, "lead": lead, "status": step }),
                )
                .await
                .ok();
            }
            let moved = app
                .gql(
                    acme.token(),
                    update,
                    json!({ "id": id, "lead": lead, "status": to }),
                )
                .await;
            if allowed.contains(&(from, to)) {
                let member = moved.at("/updateCampaignMember/member");
                assert_eq!(member["status"], to);
                let stamp = format!("{}At", to.to_lowercase());
                assert!(member[stamp.as_str()].is_string(), "{member}");
            } else {
                moved.assert_bad_input("status");
            }
        }
    }
    // 25 members: each ended where its path and its last move left it.
    let stats = app
        .gql(
            acme.token(),
            "query($id: ID!) { campaign(id: $id) {
                stats { members pending contacted responded converted excluded conversionRate
                        budgetSpent { amount } budgetRemaining { amount currency } }
                converted: members(filter: { status: [CONVERTED] }) { totalCount }
                pendingOrExcluded: members(filter: { status: [PENDING, EXCLUDED] }) { totalCount } } }",
            json!({ "id": id }),
        )
        .await;
    let campaign = stats.at("/campaign");
    // From PENDING, 3 stay and 1 each goes on or out; from CONTACTED and RESPONDED likewise;
    // CONVERTED and EXCLUDED members never move. Converted: 6 of the 17 not excluded.
    let expected = json!({
        "members": "25", "pending": "3", "contacted": "4", "responded": "4", "converted": "6",
        "excluded": "8", "conversionRate": "35.29",
        "budgetSpent": { "amount": "0" }, "budgetRemaining": { "amount": "10000", "currency": "USD" }
    });
    assert_eq!(campaign["stats"], expected);
    assert_eq!(campaign["converted"]["totalCount"], 6);
    assert_eq!(campaign["pendingOrExcluded"]["totalCount"], 11);

    let spend = "mutation($id: ID!, $amount: MoneyInput!) {
        recordCampaignSpend(input: { id: $id, amount: $amount }) { campaign {
            budgetSpent { amount } stats { budgetRemaining { amount } } } } }";
    let spent = app
        .gql(
            acme.token(),
            spend,
            json!({ "id": id, "amount": { "amount": "2500.50", "currency": "USD" } }),
        )
        .await;
    assert_eq!(
        spent.at("/recordCampaignSpend/campaign/budgetSpent/amount"),
        "2500.5"
    );
    assert_eq!(
        spent.at("/recordCampaignSpend/campaign/stats/budgetRemaining/amount"),
        "7499.5"
    );
    app.gql(
        acme.token(),
        spend,
        json!({ "id": id, "amount": { "amount": "1", "currency": "EUR" } }),
    )
    .await
    .assert_bad_input("amount");
}

/// MANAGERs run campaigns; an AGENT works the members whose leads are assigned to them.
#[tokio::test]
async fn agents_work_the_members_of_their_leads_and_managers_run_campaigns() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let manager = acme.add_user(&app, "MANAGER").await;
    let create =
        "mutation { createCampaign(input: { name: \"Mine\", type: EVENT }) { campaign { id } } }";
    let refused = app.gql(Some(&agent.access_token), create, json!({})).await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let made = app
        .gql(Some(&manager.access_token), create, json!({}))
        .await;
    let id = made
        .at("/createCampaign/campaign/id")
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = acme
        .create_lead(&app, json!({ "assignedToId": agent.user_id }))
        .await;
    let others = acme
        .create_lead(&app, json!({ "assignedToId": manager.user_id }))
        .await;
    add(
        &app,
        &acme,
        json!({ "campaignId": id, "leadIds": [theirs, others] }),
    )
    .await
    .ok();
    let update = "mutation($id: ID!, $lead: ID!) {
        updateCampaignMember(input: { campaignId: $id, leadId: $lead, status: CONTACTED }) { member { status } } }";
    let own = app
        .gql(
            Some(&agent.access_token),
            update,
            json!({ "id": id, "lead": theirs }),
        )
        .await;
    assert_eq!(own.at("/updateCampaignMember/member/status"), "CONTACTED");
    let not_own = app
        .gql(
            Some(&agent.access_token),
            update,
            json!({ "id": id, "lead": others }),
        )
        .await;
    assert_eq!(not_own.code(), "FORBIDDEN");
}

/// A campaign's life and its membership are events of the campaign, a member's naming the lead.
#[tokio::test]
async fn campaign_membership_changes_are_events_naming_the_lead() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let after = app
        .gql(acme.token(), "{ eventCursor }", json!({}))
        .await
        .ok()["eventCursor"]
        .clone();
    let lead = acme.create_lead(&app, json!({})).await;
    let id = create_campaign(&app, &acme, json!({})).await;
    add(&app, &acme, json!({ "campaignId": id, "leadIds": [lead] }))
        .await
        .ok();
    app.gql(
        acme.token(),
        "mutation($id: ID!, $lead: ID!) { updateCampaignMember(input: { campaignId: $id, leadId: $lead, status: CONTACTED }) { member { status } } }",
        json!({ "id": id, "lead": lead }),
    )
    .await
    .ok();
    change_status(&app, &acme, &id, "ACTIVE").await.ok();
    app.gql(
        acme.token(),
        "mutation($id: ID!, $lead: ID!) { removeLeadsFromCampaign(input: { campaignId: $id, leadIds: [$lead] }) { changedCount } }",
        json!({ "id": id, "lead": lead }),
    )
    .await
    .ok();

    let mut client = app.ws(acme.token().unwrap()).await;
    client
        .subscribe(
            "e",
            "subscription($after: String, $filter: EventFilter) {
                events(after: $after, filter: $filter) { kind subjectId detailId changedFields } }",
            json!({ "after": after, "filter": { "subjectTypes": ["CAMPAIGN"] } }),
        )
        .await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = client.next_payload("e").await["data"]["events"].clone();
        assert_eq!(event["subjectId"], id.as_str(), "{event}");
        seen.push((
            event["kind"].clone(),
            event["detailId"].clone(),
            event["changedFields"].clone(),
        ));
    }
    let lead = json!(lead);
    assert_eq!(
        seen,
        [
            (json!("CREATED"), Value::Null, json!([])),
            (json!("MEMBER_ADDED"), lead.clone(), json!([])),
            (json!("MEMBER_STATUS_CHANGED"), lead.clone(), json!([])),
            (json!("STATUS_CHANGED"), Value::Null, json!(["status"])),
            (json!("MEMBER_REMOVED"), lead, json!([])),
        ]
    );
}
