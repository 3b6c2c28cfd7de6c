//! Leads: the list's filters, orders and keyset pages, and the lifecycle mutations.

use std::collections::HashMap;

use leadgraph::{
    companies::CompanyFilter,
    leads::{LeadFilter, filtered_leads},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Tenant, TestApp, tenant::Session};

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

/// Only the cursors a selection reads are made: the answer is the same however they are asked
/// for (through fragments, by `pageInfo` alone, by edge), and each one resumes after its row.
#[tokio::test]
async fn cursors_selected_through_fragments_or_page_info_alone_each_resume_after_their_row() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for (i, score) in [50, 40, 30, 20].iter().enumerate() {
        acme.create_lead(
            &app,
            json!({ "email": format!("l{i}@x.io"), "score": score }),
        )
        .await;
    }
    let emails_after = |cursor: Value| {
        let (app, token) = (&app, acme.token());
        async move {
            let page = app
                .gql(
                    token,
                    "query($after: String) { leads(first: 10, after: $after,
                        orderBy: { field: SCORE, direction: DESC }) { nodes { email } } }",
                    json!({ "after": cursor }),
                )
                .await;
            page.at("/leads/nodes")
                .as_array()
                .unwrap()
                .iter()
                .map(|node| node["email"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let by_fragments = app
        .gql(
            acme.token(),
            "{ leads(first: 3, orderBy: { field: SCORE, direction: DESC }) { ...Edges ...Ends } }
             fragment Edges on LeadConnection { edges { ... on LeadEdge { at: cursor } } }
             fragment Ends on LeadConnection { pageInfo { startCursor endCursor } }",
            json!({}),
        )
        .await;
    let edges = by_fragments.at("/leads/edges").as_array().unwrap().clone();
    assert_eq!(edges.len(), 3);
    assert_eq!(
        edges[0]["at"],
        *by_fragments.at("/leads/pageInfo/startCursor")
    );
    assert_eq!(
        edges[2]["at"],
        *by_fragments.at("/leads/pageInfo/endCursor")
    );
    let all = ["l0@x.io", "l1@x.io", "l2@x.io", "l3@x.io"];
    for (place, edge) in edges.iter().enumerate() {
        assert_eq!(emails_after(edge["at"].clone()).await, all[place + 1..]);
    }

    let ends_alone = app
        .gql(
            acme.token(),
            "{ leads(first: 3, orderBy: { field: SCORE, direction: DESC }) {
                 nodes { email } pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let end = ends_alone.at("/leads/pageInfo/endCursor").clone();
    assert_eq!(end, edges[2]["at"]);
    assert_eq!(emails_after(end).await, ["l3@x.io"]);
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

/// An access token of the demo user of `role` in organization `slug`.
async fn demo_login(app: &TestApp, slug: &str, role: leadgraph::tenancy::Role) -> String {
    let email = leadgraph::seed::demo_email(role, slug);
    let login = app
        .login(slug, &email, leadgraph::seed::DEMO_PASSWORD)
        .await;
    login.ok()["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{email} logs in"))
        .to_owned()
}

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_its_logins_work() {
    let app = TestApp::spawn().await;
    let db = app.app_db().await;
    let first = leadgraph::seed::seed_demo(&db, 30).await.unwrap();
    assert_eq!(first.leads, 60);
    // A deal for every fourth lead, five partners, three campaigns with every tenth lead in
    // each, in each organization.
    assert_eq!((first.deals, first.partners), (14, 10));
    assert_eq!((first.campaigns, first.campaign_members), (6, 18));
    assert_eq!(first.scoring_rules, 10);
    let second = leadgraph::seed::seed_demo(&db, 30).await.unwrap();
    assert_eq!(second, leadgraph::seed::SeedCounts::default());
    // The seeded tables get planner statistics (what `seed-demo` does as the schema's owner).
    let owner = app.owner_db().await;
    leadgraph::seed::analyze_owned(&owner).await.unwrap();
    let unanalyzed = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT relname FROM pg_stat_user_tables
             WHERE relname IN ('leads', 'companies', 'deals', 'users') AND last_analyze IS NULL",
        ))
        .await
        .unwrap();
    assert!(
        unanalyzed.is_empty(),
        "{} tables not analyzed",
        unanalyzed.len()
    );
    for org in &leadgraph::seed::DEMO_ORGANIZATIONS {
        for role in leadgraph::seed::DEMO_ROLES {
            let token = demo_login(&app, org.slug, role).await;
            let leads = app
                .gql(Some(&token), "{ leads { totalCount } }", json!({}))
                .await;
            assert_eq!(
                leads.at("/leads/totalCount"),
                30,
                "{} of {}",
                role.as_db(),
                org.slug
            );
        }
        // Its deals sit across the pipeline, won and lost ones included.
        let token = demo_login(&app, org.slug, leadgraph::tenancy::Role::Manager).await;
        let board = app
            .gql(
                Some(&token),
                "{ pipelineBoard { stage { kind } dealCount } }",
                json!({}),
            )
            .await;
        let columns = board.at("/pipelineBoard").as_array().unwrap();
        let count = |kind: &str| -> u64 {
            columns
                .iter()
                .filter(|c| c["stage"]["kind"] == kind)
                .map(|c| c["dealCount"].as_str().unwrap().parse::<u64>().unwrap())
                .sum()
        };
        assert_eq!((count("OPEN"), count("WON"), count("LOST")), (5, 1, 1));
        // The server's scoring worker scores every lead by the seeded rules, some of which
        // fire: soon every score is what its explanation says.
        let scores = "{ leads(first: 30) { nodes { score scoreExplanation { score contributions { points } } } } }";
        let limit = std::time::Duration::from_secs(30);
        let scored = crate::support::eventually(limit, "the demo's scores", || async {
            let page = app.gql(Some(&token), scores, json!({})).await;
            let nodes = page.at("/leads/nodes").as_array().unwrap().clone();
            let done = nodes
                .iter()
                .all(|n| n["score"] == n["scoreExplanation"]["score"]);
            done.then_some(nodes)
        })
        .await;
        assert!(scored.iter().any(|n| {
            !n["scoreExplanation"]["contributions"]
                .as_array()
                .unwrap()
                .is_empty()
        }));
    }
    // The two organizations look different at a glance: no company or person in common.
    let mut seen: Vec<Vec<String>> = Vec::new();
    for org in &leadgraph::seed::DEMO_ORGANIZATIONS {
        let token = demo_login(&app, org.slug, leadgraph::tenancy::Role::Agent).await;
        let page = app
            .gql(
                Some(&token),
                "{ leads(first: 30) { nodes { fullName company { name headquartersLocation } } } }",
                json!({}),
            )
            .await;
        let words = page
            .at("/leads/nodes")
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|lead| {
                [
                    lead["fullName"].as_str().unwrap().to_owned(),
                    lead["company"]["name"].as_str().unwrap().to_owned(),
                    lead["company"]["headquartersLocation"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ]
            });
        seen.push(words.collect());
    }
    let shared: Vec<&String> = seen[0].iter().filter(|w| seen[1].contains(w)).collect();
    assert!(shared.is_empty(), "seen in both organizations: {shared:?}");
}

#[tokio::test]
async fn search_finds_short_terms_company_names_and_the_trash() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = acme.create_company(&app, "Initech").await;
    acme.create_lead(&app, json!({ "email": "b@x.io", "companyId": initech }))
        .await;
    acme.create_lead(&app, json!({ "email": "c@x.io", "firstName": "Grace" }))
        .await;
    let gone = acme
        .create_lead(&app, json!({ "email": "d@x.io", "lastName": "Hopper" }))
        .await;
    acme.delete_lead(&app, &gone).await;

    // Two letters: no trigram, the per-lead test; three or more: the index.
    assert_eq!(
        ids(&app, &acme, json!({ "search": "IN" })).await,
        ["b@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "gr" })).await,
        ["c@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "hopper" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "hopper", "deleted": true })).await,
        ["d@x.io"]
    );
    assert_eq!(
        ids(&app, &acme, json!({ "search": "x.io", "deleted": false })).await,
        ["b@x.io", "c@x.io"]
    );
}

/// Every plan node of an `EXPLAIN (FORMAT JSON)` result, depth first.
fn plan_nodes(plan: &Value) -> Vec<&Value> {
    let mut nodes = vec![plan];
    if let Some(children) = plan["Plans"].as_array() {
        for child in children {
            nodes.extend(plan_nodes(child));
        }
    }
    nodes
}

/// Runs `EXPLAIN (FORMAT JSON)` of `statement` on `conn`; the plan's nodes.
async fn explain(conn: &impl ConnectionTrait, statement: Statement) -> Value {
    let explained = Statement {
        sql: format!("EXPLAIN (FORMAT JSON) {}", statement.sql),
        ..statement
    };
    let row = conn.query_one_raw(explained).await.unwrap().unwrap();
    let plan: Value = row.try_get_by_index(0).unwrap();
    plan[0]["Plan"].clone()
}

/// Asserts `plan` reads leads and companies only through indexes that lead with
/// organization_id; returns the names of the indexes it uses.
fn assert_tenant_led(plan: &Value, first_columns: &HashMap<String, String>) -> Vec<String> {
    let mut used = Vec::new();
    for node in plan_nodes(plan) {
        let relation = node["Relation Name"].as_str().unwrap_or_default();
        assert!(
            !(node["Node Type"] == "Seq Scan" && ["leads", "companies"].contains(&relation)),
            "sequential scan of {relation}: {plan:#}"
        );
        if let Some(index) = node["Index Name"].as_str() {
            assert_eq!(
                first_columns.get(index).map(String::as_str),
                Some("organization_id"),
                "{index} does not lead with organization_id: {plan:#}"
            );
            used.push(index.to_owned());
        }
    }
    used
}

/// Companies and leads for `organization`, written as the app role (RLS checks each row).
async fn bulk_leads(db: &DatabaseConnection, organization: Uuid, companies: u32, leads: u32) {
    let tx = db.begin().await.unwrap();
    tx.execute_unprepared(&format!(
        "SELECT set_config('app.current_organization_id', '{organization}', true);
         INSERT INTO companies (organization_id, name)
         SELECT '{organization}', 'Company ' || md5(i::text) FROM generate_series(1, {companies}) i;
         INSERT INTO leads (organization_id, first_name, last_name, email, company_id)
         SELECT '{organization}', 'First' || i % 97, 'Last' || md5(i::text),
                'lead' || i || '@example.com',
                (SELECT array_agg(id) FROM companies WHERE organization_id = '{organization}')
                    [1 + i % {companies}]
         FROM generate_series(1, {leads}) i;"
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Two tenants with 1,500 companies and 6,000 leads each, vacuumed and analyzed; the first
/// column of every index of leads and companies.
async fn bulk_tenants(app: &TestApp) -> (Tenant, HashMap<String, String>) {
    let acme = app.sign_up("acme").await;
    let globex = app.sign_up("globex").await;
    let db = app.app_db().await;
    for tenant in [&acme, &globex] {
        bulk_leads(&db, tenant.organization_id, 1_500, 6_000).await;
    }
    // What autovacuum does after a bulk load: statistics, and the GIN pending lists merged
    // (until then every GIN scan also reads them, and the planner prices that in).
    let owner = app.owner_db().await;
    owner
        .execute_unprepared("VACUUM ANALYZE leads, companies")
        .await
        .unwrap();
    let first_columns = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text, pg_get_indexdef(i.indexrelid, 1, true)
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid IN ('leads'::regclass, 'companies'::regclass)",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
            )
        })
        .collect();
    (acme, first_columns)
}

/// The plans of the page (newest first) and count statements `leads(filter:)` runs for
/// `tenant`, as the app role, each asserted to read only through tenant-led indexes.
async fn tenant_led_list_plans(
    app: &TestApp,
    tenant: &Tenant,
    first_columns: &HashMap<String, String>,
    filter: impl Fn() -> LeadFilter,
) -> Vec<Value> {
    let organization = tenant.organization_id;
    let mut page = filtered_leads(organization, filter(), "t.*").unwrap();
    page.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT 21");
    let count = filtered_leads(organization, filter(), "count(*)").unwrap();
    let db = app.app_db().await;
    let tx = db.begin().await.unwrap();
    tx.execute_unprepared(&format!(
        "SELECT set_config('app.current_organization_id', '{organization}', true)"
    ))
    .await
    .unwrap();
    let mut plans = Vec::new();
    for statement in [page.build(), count.build()] {
        let plan = explain(&tx, statement).await;
        assert_tenant_led(&plan, first_columns);
        plans.push(plan);
    }
    tx.rollback().await.unwrap();
    plans
}

#[tokio::test]
async fn a_filter_on_the_leads_company_is_answered_from_tenant_led_indexes() {
    let app = TestApp::spawn().await;
    let (acme, first_columns) = bulk_tenants(&app).await;
    let filter = || LeadFilter {
        company: Some(CompanyFilter {
            industry: Some(vec!["energy".into()]),
            is_fortune500: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    tenant_led_list_plans(&app, &acme, &first_columns, filter).await;
}

#[tokio::test]
async fn a_search_that_matches_nothing_is_answered_from_tenant_led_indexes() {
    let app = TestApp::spawn().await;
    let (acme, first_columns) = bulk_tenants(&app).await;
    let owner = app.owner_db().await;

    // The statements the `leads` list runs (page and totalCount), as the app role.
    let filter = || LeadFilter {
        search: Some("zzzz".into()),
        ..Default::default()
    };
    for plan in tenant_led_list_plans(&app, &acme, &first_columns, filter).await {
        assert!(plan.to_string().contains("lead_search_ids"), "{plan:#}");
    }

    // What `lead_search_ids` runs, as its owner (no RLS, which is why it can use the trigram
    // indexes), planned as its `EXECUTE ... USING` is: with the values.
    let body: String = owner
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT prosrc FROM pg_proc WHERE oid = 'lead_search_ids(text, boolean)'::regprocedure",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    let query = body
        .split("$q$")
        .nth(1)
        .expect("the statement between $q$ quotes");
    let tx = owner.begin().await.unwrap();
    tx.execute_unprepared(&format!(
        "SET LOCAL ROLE {};
         SET LOCAL search_path = pg_catalog, pg_temp;
         SET LOCAL plan_cache_mode = force_custom_plan;
         PREPARE search(uuid, text, boolean) AS {query};",
        migration::roles::AUTH
    ))
    .await
    .unwrap();
    let plan_of = |trash: bool| {
        let statement = Statement::from_string(
            DbBackend::Postgres,
            format!(
                "EXECUTE search('{}', '%zzzz%', {trash})",
                acme.organization_id
            ),
        );
        explain(&tx, statement)
    };
    let live = plan_of(false).await;
    let used = assert_tenant_led(&live, &first_columns);
    for index in ["leads_search", "companies_name_search"] {
        assert!(used.iter().any(|u| u == index), "{index} unused: {live:#}");
    }
    // The pattern is an index condition, not a filter over the tenant's rows.
    for node in plan_nodes(&live) {
        if node["Node Type"] == "Bitmap Index Scan" {
            let condition = node["Index Cond"].as_str().unwrap_or_default();
            assert!(condition.contains("~~"), "{condition}");
        }
    }
    // The (empty) trash is read through its own partial index.
    assert_tenant_led(&plan_of(true).await, &first_columns);
    tx.rollback().await.unwrap();
}

/// `myFollowUps`: the caller's own live leads whose follow-up is due, soonest first; leads of
/// other users, unassigned, deleted or not due yet stay out.
#[tokio::test]
async fn my_follow_ups_are_my_live_due_leads_soonest_first() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let owner = acme.owner.user_id.as_str();
    let lead = |email: &str, assignee: Option<&str>, at: &str| json!({ "email": email, "assignedToId": assignee, "nextFollowUpAt": at });
    let later = acme
        .create_lead(
            &app,
            lead("later@x.io", Some(owner), "2026-03-01T09:00:00Z"),
        )
        .await;
    acme.create_lead(
        &app,
        lead("sooner@x.io", Some(owner), "2026-01-01T09:00:00Z"),
    )
    .await;
    acme.create_lead(
        &app,
        lead("future@x.io", Some(owner), "2999-01-01T09:00:00Z"),
    )
    .await;
    acme.create_lead(
        &app,
        lead("agents@x.io", Some(&agent.user_id), "2026-01-01T09:00:00Z"),
    )
    .await;
    acme.create_lead(&app, lead("nobodys@x.io", None, "2026-01-01T09:00:00Z"))
        .await;
    let deleted = acme
        .create_lead(
            &app,
            lead("deleted@x.io", Some(owner), "2026-01-01T09:00:00Z"),
        )
        .await;
    acme.delete_lead(&app, &deleted).await;

    let follow_ups = |token: Option<String>, due_before: Value| {
        let app = &app;
        async move {
            let response = app
                .gql(
                    token.as_deref(),
                    "query($due: DateTime) { myFollowUps(dueBefore: $due) {
                        totalCount nodes { id email } } }",
                    json!({ "due": due_before }),
                )
                .await;
            let emails: Vec<String> = response
                .at("/myFollowUps/nodes")
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["email"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(response.at("/myFollowUps/totalCount"), emails.len());
            (emails, response)
        }
    };
    let owner_token = acme.token().map(str::to_owned);
    let (due_now, response) = follow_ups(owner_token.clone(), Value::Null).await;
    assert_eq!(due_now, ["sooner@x.io", "later@x.io"]);
    assert_eq!(response.at("/myFollowUps/nodes/1/id"), later.as_str());
    let (due_by_february, _) = follow_ups(owner_token.clone(), json!("2026-02-01T00:00:00Z")).await;
    assert_eq!(due_by_february, ["sooner@x.io"]);
    let (due_ever, _) = follow_ups(owner_token, json!("3000-01-01T00:00:00Z")).await;
    assert_eq!(due_ever, ["sooner@x.io", "later@x.io", "future@x.io"]);
    let (agents, _) = follow_ups(Some(agent.access_token.clone()), Value::Null).await;
    assert_eq!(agents, ["agents@x.io"]);
}

/// An organization with, besides its owner, an agent and a manager (signed in).
async fn team(app: &TestApp) -> (Tenant, Session, Session) {
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(app, "AGENT").await;
    let manager = acme.add_user(app, "MANAGER").await;
    (acme, agent, manager)
}

/// Every assignment is kept, newest first: from whom, to whom, by whom, why. The database
/// writes it, so assigning at creation and through `assignLead` both count, and a write that
/// leaves the assignee as it was adds nothing.
#[tokio::test]
async fn every_assignment_lands_in_the_leads_assignment_history() {
    let app = TestApp::spawn().await;
    let (acme, agent, manager) = team(&app).await;
    let lead = acme
        .create_lead(&app, json!({ "assignedToId": manager.user_id }))
        .await;
    let assign = "mutation($input: AssignLeadInput!) { assignLead(input: $input) { lead { id } } }";
    let reassigned = app
        .gql(
            Some(&manager.access_token),
            assign,
            json!({ "input": { "leadId": lead, "userId": agent.user_id, "reason": " territory " } }),
        )
        .await;
    reassigned.ok();
    acme.update_lead(&app, &lead, json!({ "score": 40 })).await;
    app.gql(
        acme.token(),
        assign,
        json!({ "input": { "leadId": lead, "userId": null } }),
    )
    .await
    .ok();
    // A reason is checked like any field, and a refused assignment leaves no history.
    let refused = app
        .gql(
            acme.token(),
            assign,
            json!({ "input": { "leadId": lead, "userId": agent.user_id, "reason": "  " } }),
        )
        .await;
    refused.assert_bad_input("reason");

    let history = app
        .gql(
            acme.token(),
            "query($id: ID!) { lead(id: $id) { assignmentHistory(first: 10) { totalCount nodes {
                from { email } to { email } by { email } reason at } } } }",
            json!({ "id": lead }),
        )
        .await;
    let nodes = history
        .at("/lead/assignmentHistory/nodes")
        .as_array()
        .unwrap();
    let email = |v: &Value| v["email"].as_str().map(str::to_owned);
    let seen: Vec<_> = nodes
        .iter()
        .map(|n| {
            (
                email(&n["from"]),
                email(&n["to"]),
                email(&n["by"]),
                n["reason"].clone(),
            )
        })
        .collect();
    let (owner, manager, agent) = (
        Some(acme.owner.email.clone()),
        Some(manager.email.clone()),
        Some(agent.email.clone()),
    );
    assert_eq!(
        seen,
        [
            (agent.clone(), None, owner.clone(), Value::Null),
            (manager.clone(), agent, manager.clone(), json!("territory")),
            (None, manager, owner, Value::Null),
        ]
    );
    assert_eq!(history.at("/lead/assignmentHistory/totalCount"), 3);
    assert!(nodes.iter().all(|n| n["at"].is_string()));
}

/// Auto-assignment of leads created without an assignee, among active agents and managers:
/// round-robin gives each the same share even when the leads are created at once (no two
/// share a turn); least-loaded picks whoever has the fewest open leads. An explicit assignee
/// wins, and NONE leaves leads unassigned.
#[tokio::test]
async fn new_unassigned_leads_are_auto_assigned_as_the_organization_chooses() {
    let app = TestApp::spawn().await;
    let (acme, agent, manager) = team(&app).await;
    let deactivated = acme.add_user(&app, "AGENT").await;
    app.gql(
        acme.token(),
        "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { id } } }",
        json!({ "id": deactivated.user_id }),
    )
    .await
    .ok();
    acme.add_user(&app, "VIEWER").await;
    let choose = async |mode: &str| {
        let chosen = app
            .gql(
                acme.token(),
                "mutation($mode: LeadAutoAssignment!) {
                    updateOrganization(input: { leadAutoAssignment: $mode }) {
                        organization { leadAutoAssignment } } }",
                json!({ "mode": mode }),
            )
            .await;
        assert_eq!(
            chosen.at("/updateOrganization/organization/leadAutoAssignment"),
            mode
        );
    };
    // The lead's assignee, and the reason of its latest assignment.
    let assignee_of = async |lead: String| {
        let response = app
            .gql(
                acme.token(),
                "query($id: ID!) { lead(id: $id) { assignedTo { email }
                    assignmentHistory { nodes { reason } } } }",
                json!({ "id": lead }),
            )
            .await;
        let lead = &response.ok()["lead"];
        let email = lead["assignedTo"]["email"].as_str().map(str::to_owned);
        (
            email,
            lead["assignmentHistory"]["nodes"][0]["reason"].clone(),
        )
    };

    // NONE, the default: unassigned.
    let lead = acme.create_lead(&app, json!({})).await;
    assert_eq!(assignee_of(lead).await.0, None);

    // Round robin: six leads created at once go three to each of the two eligible users (the
    // owner, the viewer and the deactivated agent are not).
    choose("ROUND_ROBIN").await;
    let leads = futures::future::join_all((0..6).map(|_| acme.create_lead(&app, json!({})))).await;
    let mut shares: HashMap<String, usize> = HashMap::new();
    for lead in leads {
        let (email, reason) = assignee_of(lead).await;
        assert_eq!(reason, "auto-assigned: round robin");
        *shares.entry(email.expect("assigned")).or_default() += 1;
    }
    assert_eq!(
        shares,
        HashMap::from([(agent.email.clone(), 3), (manager.email.clone(), 3)])
    );

    // An explicit assignee wins.
    let chosen = acme
        .create_lead(&app, json!({ "assignedToId": acme.owner.user_id }))
        .await;
    assert_eq!(assignee_of(chosen).await.0, Some(acme.owner.email.clone()));

    // Least loaded: the agent closes two of their leads, so they have fewer open ones.
    choose("LEAST_LOADED").await;
    let agents: Vec<String> = app
        .gql(
            acme.token(),
            "{ leads(first: 50) { nodes { id assignedTo { email } } } }",
            json!({}),
        )
        .await
        .at("/leads/nodes")
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["assignedTo"]["email"] == agent.email.as_str())
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    for lead in &agents[..2] {
        acme.update_lead(&app, lead, json!({ "status": "CLOSED_WON" }))
            .await;
    }
    let lead = acme.create_lead(&app, json!({})).await;
    assert_eq!(
        assignee_of(lead).await,
        (
            Some(agent.email.clone()),
            json!("auto-assigned: fewest open leads")
        )
    );
    let lead = acme.create_lead(&app, json!({})).await;
    assert_eq!(assignee_of(lead).await.0, Some(agent.email.clone()));
}

/// A lead as its owner sees it, to compare before and after.
const LEAD: &str = "query($id: ID!) { lead(id: $id) {
    score deletedAt updatedAt assignedTo { id } assignmentHistory { totalCount } } }";

/// An AGENT changes only the leads assigned to them (and may hand one on); others' leads are
/// FORBIDDEN to them and stay as they were. A MANAGER changes any lead.
#[tokio::test]
async fn agents_change_only_their_own_leads_and_managers_any() {
    let app = TestApp::spawn().await;
    let (acme, agent, manager) = team(&app).await;
    let colleague = acme.add_user(&app, "AGENT").await;
    let mine = acme
        .create_lead(&app, json!({ "assignedToId": agent.user_id }))
        .await;
    let theirs = acme
        .create_lead(&app, json!({ "assignedToId": colleague.user_id }))
        .await;
    let nobodys = acme.create_lead(&app, json!({})).await;
    let score = "mutation($id: ID!, $score: Int!) {
        updateLead(input: { id: $id, score: $score }) { lead { score } } }";
    let assign = "mutation($id: ID!, $user: ID!) {
        assignLead(input: { leadId: $id, userId: $user }) { lead { id } } }";
    let delete = "mutation($id: ID!) { deleteLead(input: { id: $id }) { lead { id } } }";
    let as_user = |token: &str, document: &'static str, variables: Value| {
        let (app, token) = (&app, token.to_owned());
        async move { app.gql(Some(&token), document, variables).await }
    };
    for lead in [&theirs, &nobodys] {
        let before = app.gql(acme.token(), LEAD, json!({ "id": lead })).await;
        for (document, variables) in [
            (score, json!({ "id": lead, "score": 77 })),
            (delete, json!({ "id": lead })),
            (assign, json!({ "id": lead, "user": agent.user_id })),
        ] {
            let refused = as_user(&agent.access_token, document, variables).await;
            assert_eq!(refused.code(), "FORBIDDEN", "{document}");
        }
        let after = app.gql(acme.token(), LEAD, json!({ "id": lead })).await;
        assert_eq!(before.ok(), after.ok());
    }

    let score_as = |user: &Session, lead: &str, value: i32| {
        as_user(
            &user.access_token,
            score,
            json!({ "id": lead, "score": value }),
        )
    };
    let own = score_as(&agent, &mine, 60).await;
    assert_eq!(own.at("/updateLead/lead/score"), 60);
    // Handing it on is a change of their own lead; then it is no longer theirs to change.
    let handing_on = json!({ "id": mine, "user": colleague.user_id });
    as_user(&agent.access_token, assign, handing_on).await.ok();
    assert_eq!(score_as(&agent, &mine, 61).await.code(), "FORBIDDEN");

    let managed = score_as(&manager, &theirs, 42).await;
    assert_eq!(managed.at("/updateLead/lead/score"), 42);
}
