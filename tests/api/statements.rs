//! The cost of a page does not grow with its size: every relation is batched.

use serde_json::json;

use crate::support::{Gql, Tenant, TestApp, tenant::numbered_leads};

/// The statements one request of `query` costs as `tenant` for each page size `n` of
/// `sizes` (the variable `$n`, beside `variables`), each answer first checked by `check`.
async fn costs(
    app: &TestApp,
    tenant: &Tenant,
    query: &str,
    variables: serde_json::Value,
    sizes: &[usize],
    check: impl Fn(&Gql, usize),
) -> Vec<usize> {
    let mut costs = Vec::new();
    for &n in sizes {
        let mut variables = variables.clone();
        variables["n"] = json!(n);
        let before = app.statements();
        let response = app.gql(tenant.token(), query, variables).await;
        check(&response, n);
        costs.push(app.statements() - before);
    }
    costs
}

/// The nodes of the list at `pointer`, `n` of them.
fn nodes<'a>(response: &'a Gql, pointer: &str, n: usize) -> &'a [serde_json::Value] {
    let nodes = response.at(pointer).as_array().unwrap();
    assert_eq!(nodes.len(), n, "{pointer}");
    nodes
}

const PAGE: &str = "query($n: Int!) {
  leads(first: $n, orderBy: { field: SCORE, direction: DESC }) {
    nodes {
      id fullName score
      company { name }
      assignedTo { email }
      activities(first: 5) { nodes { kind user { email } } }
      notes(first: 5) { nodes { content author { email } } }
    }
  }
}";

/// Statements for one request of the page above, whatever its size: the principal check (1),
/// which travels with BEGIN and the `SET LOCAL` settings in one round trip; the leads page,
/// which joins the companies and assignees its rows refer to and carries each lead's first
/// activities and notes (1); and one per relation loaded on its own: activity users, note
/// authors (2). COMMIT, the one round trip more, is not counted.
const STATEMENTS: usize = 4;

#[tokio::test]
async fn a_page_of_leads_with_relations_costs_the_same_statements_for_5_50_and_100_rows() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let companies = [
        acme.create_company(&app, "Initech").await,
        acme.create_company(&app, "Hooli").await,
    ];
    // Leads are created through SQL: 100 leads with activities and notes through the API would
    // only slow the test down.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "INSERT INTO leads (organization_id, first_name, last_name, email, score, company_id, assigned_to_id)
             SELECT '{org}', 'Lead', 'N' || n, 'lead' || n || '@example.com', n % 100,
                    CASE WHEN n % 2 = 0 THEN '{c0}'::uuid ELSE '{c1}'::uuid END,
                    CASE WHEN n % 2 = 0 THEN '{agent}'::uuid ELSE '{owner}'::uuid END
             FROM generate_series(1, 120) n;
             INSERT INTO activities (organization_id, lead_id, user_id, kind, direction)
             SELECT organization_id, id, '{agent}', 'call', 'outbound' FROM leads, generate_series(1, 7);
             SELECT set_config('app.current_user_id', '{owner}', true);
             INSERT INTO lead_notes (organization_id, lead_id, author_id, content)
             SELECT organization_id, id, '{owner}', 'note' FROM leads, generate_series(1, 6)",
            org = acme.organization_id,
            c0 = crate::support::tenant::uuid_of(&companies[0]),
            c1 = crate::support::tenant::uuid_of(&companies[1]),
            agent = crate::support::tenant::uuid_of(&agent.user_id),
            owner = crate::support::tenant::uuid_of(&acme.owner.user_id),
        ),
    )
    .await;

    let costs = costs(
        &app,
        &acme,
        PAGE,
        json!({}),
        &[5, 50, 100],
        |response, n| {
            let nodes = nodes(response, "/leads/nodes", n);
            assert_eq!(nodes[0]["activities"]["nodes"].as_array().unwrap().len(), 5);
            assert_eq!(nodes[0]["notes"]["nodes"].as_array().unwrap().len(), 5);
        },
    )
    .await;
    assert_eq!(costs[0], costs[1], "statements for 5 vs 50 rows: {costs:?}");
    assert_eq!(
        costs[1], costs[2],
        "statements for 50 vs 100 rows: {costs:?}"
    );
    assert_eq!(costs[0], STATEMENTS);

    // Another ordering and a filter on the leads' own and their companies' fields are
    // conditions of the same statement: not one statement more.
    let before = app.statements();
    let response = app
        .gql(
            acme.token(),
            &PAGE.replace(
                "orderBy: { field: SCORE, direction: DESC }",
                "orderBy: { field: LAST_NAME, direction: ASC },
                 filter: { scoreMin: 10, company: { search: \"Initech\" } }",
            ),
            json!({ "n": 20 }),
        )
        .await;
    assert_eq!(response.at("/leads/nodes").as_array().unwrap().len(), 20);
    assert_eq!(app.statements() - before, STATEMENTS);
}

/// The benchmark's dashboard (bench/compare, Q1), its nodes reached through `nodes` or
/// `edges`.
const DASHBOARD: &str = "query($n: Int!) {
  leads(first: $n, orderBy: { field: SCORE, direction: DESC }) {
    nodes {
      id firstName score
      company { name domain }
      assignedUser: assignedTo { fullName }
      activities(first: 5) { nodes { kind subject createdAt } }
    }
    edges { node { company { name } assignedTo { email } } }
  }
}";

const ONE_LEAD: &str = "query($id: ID!) {
  lead(id: $id) {
    firstName
    company { name }
    assignedTo { email }
    activities(first: 5) { nodes { kind } }
  }
}";

#[tokio::test]
async fn the_dashboard_and_one_lead_cost_two_statements_whatever_the_page_size() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let initech = acme.create_company(&app, "Initech").await;
    // Every third lead has neither a company nor an assignee.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "INSERT INTO leads (organization_id, first_name, last_name, email, score, company_id, assigned_to_id)
             SELECT '{org}', 'Lead', 'N' || n, 'lead' || n || '@example.com', n,
                    CASE WHEN n % 3 = 0 THEN NULL ELSE '{company}'::uuid END,
                    CASE WHEN n % 3 = 0 THEN NULL ELSE '{agent}'::uuid END
             FROM generate_series(1, 60) n;
             INSERT INTO activities (organization_id, lead_id, user_id, kind, direction, subject)
             SELECT organization_id, id, '{agent}', 'call', 'outbound', 'Call'
             FROM leads, generate_series(1, 6)",
            org = acme.organization_id,
            company = crate::support::tenant::uuid_of(&initech),
            agent = crate::support::tenant::uuid_of(&agent.user_id),
        ),
    )
    .await;

    let costs = costs(
        &app,
        &acme,
        DASHBOARD,
        json!({}),
        &[5, 50],
        |response, n| {
            let nodes = nodes(response, "/leads/nodes", n);
            let edges = response.at("/leads/edges").as_array().unwrap();
            for (node, edge) in nodes.iter().zip(edges) {
                let score = node["score"].as_i64().unwrap();
                if score % 3 == 0 {
                    assert!(node["company"].is_null() && node["assignedUser"].is_null());
                    assert!(
                        edge["node"]["company"].is_null() && edge["node"]["assignedTo"].is_null()
                    );
                } else {
                    assert_eq!(node["company"]["name"], "Initech");
                    assert_eq!(node["assignedUser"]["fullName"], "Test User");
                    assert_eq!(edge["node"]["company"]["name"], "Initech");
                    assert_eq!(edge["node"]["assignedTo"]["email"], agent.email.as_str());
                }
                assert_eq!(node["activities"]["nodes"].as_array().unwrap().len(), 5);
            }
        },
    )
    .await;
    // BEGIN, the settings and the principal check in one round trip (1 statement); the page,
    // its companies and assignees joined after its LIMIT, each lead's first activities as
    // arrays (1). With COMMIT: 3 round trips.
    assert_eq!(costs, [2, 2]);

    let lead = app
        .gql(acme.token(), DASHBOARD, json!({ "n": 2 }))
        .await
        .at("/leads/nodes/1/id")
        .as_str()
        .unwrap()
        .to_owned();
    // Score 59: it has a company and an assignee.
    let before = app.statements();
    let response = app.gql(acme.token(), ONE_LEAD, json!({ "id": lead })).await;
    assert_eq!(response.at("/lead/company/name"), "Initech");
    assert_eq!(response.at("/lead/assignedTo/email"), agent.email.as_str());
    assert_eq!(
        response
            .at("/lead/activities/nodes")
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // The principal check; the lead with its company, its assignee and its first activities.
    assert_eq!(app.statements() - before, 2);
}

/// A lead's company twice: joined to the page, reading its name; and again through the lead's
/// activity and that activity's lead, reading `deeper`.
const COMPANY_TWICE: &str = "query($deeper: Boolean!) {
  leads(first: 5) {
    nodes {
      company { name }
      activities(first: 1) {
        nodes { lead { company { name domain @include(if: $deeper) } } }
      }
    }
  }
}";

#[tokio::test]
async fn a_joined_row_serves_relations_reading_its_columns_and_the_others_load_theirs() {
    // The page's join sends only the columns `company { name }` reads. The company reached
    // again below reads the same columns from the joined row (no statement), or reads its
    // domain too and loads the row by id: never a joined row's placeholder for a column.
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = json!({ "name": "Initech", "domain": "initech.example" });
    let initech = acme.create(&app, "Company", "company", initech).await;
    let lead = acme
        .create_lead(&app, json!({ "companyId": initech }))
        .await;
    acme.log_activity(&app, &lead).await;

    let mut costs = Vec::new();
    for deeper in [false, true] {
        let before = app.statements();
        let response = app
            .gql(acme.token(), COMPANY_TWICE, json!({ "deeper": deeper }))
            .await;
        assert_eq!(response.at("/leads/nodes/0/company/name"), "Initech");
        let again = response.at("/leads/nodes/0/activities/nodes/0/lead/company");
        assert_eq!(again["name"], "Initech");
        if deeper {
            assert_eq!(again["domain"], "initech.example");
        }
        costs.push(app.statements() - before);
    }
    // The principal check, the page with its companies and first activities, the activity's
    // lead by id; then the company by id, only where its row was not read with its domain.
    assert_eq!(costs, [3, 4]);
}

#[tokio::test]
async fn a_batch_of_rows_by_id_reads_what_each_of_its_fields_reads() {
    // Two fields reach the activity's user through one relation: one batch, one statement,
    // which reads the columns both selections read (and no others: not the password's hash).
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    acme.log_activity(&app, &lead).await;
    let me = app
        .gql(
            acme.token(),
            "{ me { email fullName role isActive timezone } }",
            json!({}),
        )
        .await;
    let before = app.statements();
    let response = app
        .gql(
            acme.token(),
            "{ leads(first: 5) { nodes { activities(first: 1) { nodes {
                 user { email } logger: user { fullName role isActive timezone }
             } } } } }",
            json!({}),
        )
        .await;
    let activity = response.at("/leads/nodes/0/activities/nodes/0");
    assert_eq!(activity["user"]["email"], me.at("/me/email").clone());
    let mut logger = me.at("/me").clone();
    logger.as_object_mut().unwrap().remove("email");
    assert_eq!(activity["logger"], logger);
    // The principal check, the page with its first activities, the users.
    assert_eq!(app.statements() - before, 3);
}

#[tokio::test]
async fn a_mutation_loads_its_relations_after_its_write() {
    // Loaders keep nothing between batches: a later field's read sees an earlier field's
    // write.
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = acme.create_company(&app, "Initech").await;
    let lead = acme
        .create_lead(&app, json!({ "companyId": initech }))
        .await;
    let response = app
        .gql(
            acme.token(),
            "mutation($lead: ID!, $company: ID!) {
               before: updateLead(input: { id: $lead, jobTitle: \"CTO\" }) {
                 lead { company { name } }
               }
               rename: updateCompany(input: { id: $company, name: \"Initrode\" }) { company { id } }
               after: updateLead(input: { id: $lead, jobTitle: \"CEO\" }) {
                 lead { company { name } }
               }
             }",
            json!({ "lead": lead, "company": initech }),
        )
        .await;
    assert_eq!(response.at("/before/lead/company/name"), "Initech");
    assert_eq!(response.at("/after/lead/company/name"), "Initrode");
}

#[tokio::test]
async fn total_count_is_computed_only_when_selected() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_lead(&app, json!({})).await;
    let before = app.statements();
    app.gql(acme.token(), "{ leads { nodes { id } } }", json!({}))
        .await
        .ok();
    let without = app.statements() - before;
    let before = app.statements();
    app.gql(
        acme.token(),
        "{ leads { totalCount nodes { id } } }",
        json!({}),
    )
    .await
    .ok();
    let with = app.statements() - before;
    assert_eq!(with, without + 1);
}

const DELIVERIES: &str = "query($endpoint: ID!, $n: Int!) {
  webhookDeliveries(endpointId: $endpoint, first: $n) {
    nodes { id status lead { id firstName } attempts(first: 5) { nodes { statusCode } } }
  }
}";

#[tokio::test]
async fn a_page_of_webhook_deliveries_with_leads_and_attempts_costs_the_same_for_2_and_20_rows() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let endpoint = uuid::Uuid::new_v4();
    // 20 leads (20 events), a disabled endpoint (the worker leaves it alone) with a delivery
    // per event and 3 attempts per delivery.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "{leads}
             -- Events are numbered at commit: now, for the deliveries below to name them.
             SET CONSTRAINTS events_numbered IMMEDIATE;
             INSERT INTO webhook_endpoints (organization_id, id, url, signing_secret, is_active)
             VALUES ('{org}', '{endpoint}', 'https://hooks.example.com/x', 'whsec_c2VjcmV0', false);
             INSERT INTO webhook_deliveries
                 (organization_id, endpoint_id, event_position, event_kind, subject_type,
                  subject_id)
             SELECT '{org}', '{endpoint}', position, kind, subject_type, subject_id FROM events;
             INSERT INTO webhook_attempts (organization_id, delivery_id, status_code, duration_ms)
             SELECT '{org}', id, 500, 3 FROM webhook_deliveries, generate_series(1, 3)",
            org = acme.organization_id,
            leads = numbered_leads(acme.organization_id, 1, 20),
        ),
    )
    .await;
    let endpoint_id = URL_SAFE_NO_PAD.encode(format!("WebhookEndpoint:{endpoint}"));

    let costs = costs(
        &app,
        &acme,
        DELIVERIES,
        json!({ "endpoint": endpoint_id }),
        &[2, 20],
        |response, n| {
            let nodes = nodes(response, "/webhookDeliveries/nodes", n);
            assert_eq!(nodes[0]["attempts"]["nodes"].as_array().unwrap().len(), 3);
            assert_eq!(nodes[0]["lead"]["firstName"], "Lead");
        },
    )
    .await;
    // The principal (1), the page (1), leads (1), attempts (1).
    assert_eq!(costs, [4, 4]);
}

/// `assignmentHistory` with its three users is four statements for a page, whatever its
/// size: the histories in one, and one per relation to users (from, to, by).
#[tokio::test]
async fn a_page_of_leads_with_their_assignment_histories_costs_the_same_for_5_and_50_rows() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let (agent, owner) = (
        crate::support::tenant::uuid_of(&agent.user_id),
        crate::support::tenant::uuid_of(&acme.owner.user_id),
    );
    // Each lead assigned to the agent, then handed to the owner by the owner: two history rows.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "SELECT set_config('app.current_user_id', '{owner}', true);
             INSERT INTO leads (organization_id, first_name, last_name, email, assigned_to_id)
             SELECT '{org}', 'Lead', 'N' || n, 'lead' || n || '@example.com', '{agent}'
             FROM generate_series(1, 60) n;
             UPDATE leads SET assigned_to_id = '{owner}' WHERE organization_id = '{org}'",
            org = acme.organization_id,
        ),
    )
    .await;
    let page = "query($n: Int!) { leads(first: $n) { nodes { id
        assignmentHistory(first: 3) { nodes { from { email } to { email } by { email } reason } }
    } } }";
    let costs = costs(&app, &acme, page, json!({}), &[5, 50], |response, n| {
        let nodes = nodes(response, "/leads/nodes", n);
        let history = nodes[0]["assignmentHistory"]["nodes"].as_array().unwrap();
        // Both rows were written in one transaction (one creation time): in either order.
        assert_eq!(history.len(), 2);
        let handed_on = history
            .iter()
            .find(|row| row["from"]["email"].is_string())
            .expect("the handing on");
        assert_eq!(handed_on["to"]["email"], acme.owner.email.as_str());
        assert_eq!(handed_on["by"]["email"], acme.owner.email.as_str());
    })
    .await;
    // The principal check, the page, the histories, and the three relations to users.
    assert_eq!(costs, [6, 6]);
}

/// `pipelineBoard` with each deal's owner and lead is the same number of statements for 3 and
/// for 25 stages, and for 1 and 10 deals in each: the stages, their first deals, the counts
/// and sums, and one per relation.
#[tokio::test]
async fn the_pipeline_board_costs_the_same_whatever_the_number_of_stages_and_deals() {
    let app = TestApp::spawn().await;
    let board = "{ pipelineBoard(firstDealsPerStage: 10) {
        stage { name } dealCount valueByCurrency { amount }
        deals { title owner { email } lead { email } } } }";
    let mut costs = Vec::new();
    for (slug, stages, deals) in [("small", 3, 1), ("large", 25, 10)] {
        let tenant = app.sign_up(slug).await;
        app.owner_sql(
            tenant.organization_id,
            &format!(
                "SELECT set_config('app.current_user_id', '{owner}', true);
                 DELETE FROM pipeline_stages WHERE organization_id = '{org}';
                 INSERT INTO pipeline_stages (organization_id, name, position, win_probability, kind)
                 SELECT '{org}', 'Stage ' || n, n, 50, 'open' FROM generate_series(0, {stages} - 1) n;
                 {leads}
                 INSERT INTO deals (organization_id, title, stage_id, status, value, owner_id, lead_id)
                 SELECT '{org}', 'Deal ' || l.place, s.id, 'open', 1000, '{owner}', l.id
                 FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS place FROM leads
                       WHERE organization_id = '{org}') l
                 JOIN (SELECT id, position FROM pipeline_stages WHERE organization_id = '{org}') s
                   ON s.position = l.place % {stages}",
                org = tenant.organization_id,
                owner = crate::support::tenant::uuid_of(&tenant.owner.user_id),
                leads = numbered_leads(tenant.organization_id, 1, stages * deals),
            ),
        )
        .await;
        let before = app.statements();
        let response = app.gql(tenant.token(), board, json!({})).await;
        let columns = response.at("/pipelineBoard").as_array().unwrap();
        assert_eq!(columns.len(), stages);
        assert_eq!(columns[0]["deals"].as_array().unwrap().len(), deals);
        assert_eq!(
            columns[0]["deals"][0]["owner"]["email"],
            tenant.owner.email.as_str()
        );
        assert!(columns[0]["deals"][0]["lead"]["email"].is_string());
        costs.push(app.statements() - before);
    }
    // The principal check, the stages, the deals, the counts and sums, owners, leads.
    assert_eq!(costs, [6, 6]);
}

/// A page of deals with their stage, lead, company, owner and stage history (with its stages
/// and who moved them) costs the same for 5 and 50 deals.
#[tokio::test]
async fn a_page_of_deals_with_their_relations_and_histories_costs_the_same_for_5_and_50_rows() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    let owner = crate::support::tenant::uuid_of(&acme.owner.user_id);
    // Each deal created in the first stage, then moved to the second: two history rows.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "SELECT set_config('app.current_user_id', '{owner}', true);
             INSERT INTO leads (organization_id, first_name, last_name, email, company_id)
             SELECT '{org}', 'Lead', 'N' || n, 'lead' || n || '@example.com', '{company}'
             FROM generate_series(1, 60) n;
             INSERT INTO deals (organization_id, title, stage_id, status, owner_id, lead_id, company_id)
             SELECT '{org}', 'Deal ' || l.email, s.id, 'open', '{owner}', l.id, l.company_id
             FROM leads l, pipeline_stages s
             WHERE l.organization_id = '{org}' AND s.organization_id = '{org}' AND s.position = 0;
             UPDATE deals SET stage_id = (SELECT id FROM pipeline_stages
                                          WHERE organization_id = '{org}' AND position = 1)
             WHERE organization_id = '{org}'",
            org = acme.organization_id,
            company = crate::support::tenant::uuid_of(&company),
        ),
    )
    .await;
    let page = "query($n: Int!) { deals(first: $n) { nodes { title
        stage { name } lead { email } company { name } owner { email }
        stageHistory(first: 3) { nodes { from { name } to { name } by { email } } }
    } } }";
    let costs = costs(&app, &acme, page, json!({}), &[5, 50], |response, n| {
        let nodes = nodes(response, "/deals/nodes", n);
        assert_eq!(nodes[0]["stage"]["name"], "Scoping");
        assert_eq!(nodes[0]["company"]["name"], "Initech");
        assert_eq!(
            nodes[0]["stageHistory"]["nodes"].as_array().unwrap().len(),
            2
        );
    })
    .await;
    // The principal check (with BEGIN and the settings), the page, stages, leads, companies,
    // owners, the histories, and the histories' from, to and by.
    assert_eq!(costs, [10, 10]);
}

/// A page of campaigns with their stats and a page of their pending members' leads costs the
/// same for 3 and 30 campaigns.
#[tokio::test]
async fn a_page_of_campaigns_with_stats_and_members_costs_the_same_for_3_and_30_rows() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    app.owner_sql(
        acme.organization_id,
        &format!(
            "{leads}
             INSERT INTO campaigns (organization_id, name, campaign_type)
             SELECT '{org}', 'Campaign ' || n, 'email' FROM generate_series(1, 40) n;
             INSERT INTO campaign_members (organization_id, campaign_id, lead_id, status)
             SELECT '{org}', c.id, l.id, CASE WHEN l.last_name = 'N1' THEN 'excluded' ELSE 'pending' END
             FROM campaigns c, leads l WHERE c.organization_id = '{org}' AND l.organization_id = '{org}'",
            org = acme.organization_id,
            leads = numbered_leads(acme.organization_id, 1, 5),
        ),
    )
    .await;
    let page = "query($n: Int!) { campaigns(first: $n) { nodes { name
        stats { members excluded conversionRate }
        members(first: 3, filter: { status: [PENDING] }) { totalCount nodes { lead { email } } }
    } } }";
    let costs = costs(&app, &acme, page, json!({}), &[3, 30], |response, n| {
        let nodes = nodes(response, "/campaigns/nodes", n);
        assert_eq!(nodes[0]["stats"]["members"], "5");
        assert_eq!(nodes[0]["members"]["totalCount"], 4);
        assert_eq!(nodes[0]["members"]["nodes"].as_array().unwrap().len(), 3);
    })
    .await;
    // The principal check, the page, the stats, the members, their count, their leads.
    assert_eq!(costs, [6, 6]);
}

/// A page of segments, each with its live lead count and first leads (each a filter of its
/// own) and their companies, costs the same for 2 and 10 segments.
#[tokio::test]
async fn a_page_of_segments_with_their_leads_costs_the_same_for_2_and_10_rows() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    for score in [10, 20, 30, 40, 50] {
        acme.create_lead(&app, json!({ "score": score, "companyId": company }))
            .await;
    }
    for n in 0..10 {
        app.gql(
            acme.token(),
            "mutation($input: CreateSegmentInput!) { createSegment(input: $input) { segment { id } } }",
            json!({ "input": { "name": format!("Score {n}+"), "filter": { "scoreMin": n * 5 } } }),
        )
        .await
        .ok();
    }
    let page = "query($n: Int!) { segments(first: $n) { nodes { name leadCount
        leads(first: 3) { totalCount nodes { company { name } } } } } }";
    let costs = costs(&app, &acme, page, json!({}), &[2, 10], |response, n| {
        let nodes = nodes(response, "/segments/nodes", n);
        // Newest first: "Score 9+" keeps the leads of score 45 and up.
        assert_eq!(nodes[0]["leadCount"], "1");
        assert_eq!(nodes[0]["leads"]["totalCount"], 1);
        assert_eq!(
            nodes[n - 1]["leads"]["nodes"][0]["company"]["name"],
            "Initech"
        );
    })
    .await;
    // The principal check, the page, the lead counts, the leads, their companies, and the
    // leads' totalCount (the same counts, asked for a round later).
    assert_eq!(costs, [6, 6]);
}

/// A page of leads with their score explanations and histories costs the same for 5 and 50
/// leads, whatever the number of rules.
#[tokio::test]
async fn a_page_of_leads_with_score_explanations_costs_the_same_for_5_and_50_rows() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for (name, tag) in [("VIPs", "vip"), ("Partners", "partner")] {
        app.gql(
            acme.token(),
            "mutation($input: CreateScoringRuleInput!) { createScoringRule(input: $input) { rule { id } } }",
            json!({ "input": { "name": name, "ruleType": "ENGAGEMENT", "points": 20,
                "conditions": [{ "field": "LEAD_TAGS", "operator": "CONTAINS", "values": [tag] }] } }),
        )
        .await
        .ok();
    }
    for _ in 0..50 {
        acme.create_lead(&app, json!({ "tags": ["vip", "partner"] }))
            .await;
    }
    let page = "query($n: Int!) { leads(first: $n) { nodes { score
        scoreExplanation { score contributions { rule { name } points } }
        scoreHistory(first: 2) { nodes { previous new reason } } } } }";
    let costs = costs(&app, &acme, page, json!({}), &[5, 50], |response, n| {
        let nodes = nodes(response, "/leads/nodes", n);
        assert_eq!(nodes[0]["score"], 40);
        assert_eq!(nodes[0]["scoreExplanation"]["score"], 40);
        assert_eq!(nodes[0]["scoreHistory"]["nodes"][0]["new"], 40);
    })
    .await;
    // The principal check, the page, the active rules, the rules that fire, the histories.
    assert_eq!(costs, [5, 5]);
}
