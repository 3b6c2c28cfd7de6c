//! A parent's first page of children (`lead.activities(first: n)`, `company.leads`) travels in
//! the parent's statement, as arrays; it must answer exactly as the page loaded on its own
//! does. A page is loaded on its own when two fields ask for different first pages of the same
//! relation, which is how these tests get both answers.

use serde_json::{Value, json};

use crate::support::{
    Gql, Tenant, TestApp,
    tenant::{numbered_leads, uuid_of},
};

/// Leads with 0, 1, 3 and 7 activities (the 7 written at one instant, so that their order
/// falls to their ids), with subjects null and not, and metadata.
async fn leads_with_activities(app: &TestApp, acme: &Tenant) {
    app.owner_sql(
        acme.organization_id,
        &format!(
            "{leads}
             INSERT INTO activities
                 (organization_id, lead_id, user_id, kind, direction, subject, metadata, created_at)
             SELECT l.organization_id, l.id, '{owner}', 'call', 'outbound',
                    CASE WHEN a % 2 = 0 THEN 'Call ' || a END,
                    jsonb_build_object('n', a),
                    CASE WHEN l.last_name = 'N3' THEN now()
                         ELSE now() - a * interval '1 minute' END
             FROM leads l
             CROSS JOIN LATERAL generate_series(1, CASE l.last_name
                 WHEN 'N0' THEN 0 WHEN 'N1' THEN 1 WHEN 'N2' THEN 3 ELSE 7 END) a",
            leads = numbered_leads(acme.organization_id, 0, 3),
            owner = uuid_of(&acme.owner.user_id),
        ),
    )
    .await;
}

const ACTIVITY_PAGE: &str = "totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id kind subject createdAt metadata user { email } lead { lastName } } }";

/// The leads page with each lead's first `first` activities; with `loaded`, another field asks
/// for another first page (of other rows: both ask whether more follow), so that both are
/// loaded on their own.
fn leads_query(first: usize, loaded: bool) -> String {
    let other = if loaded {
        format!(
            "other: activities(first: {}) {{ nodes {{ id }} pageInfo {{ hasNextPage }} }}",
            first + 1
        )
    } else {
        String::new()
    };
    format!(
        "{{ leads(first: 10, orderBy: {{ field: LAST_NAME, direction: ASC }}) {{ nodes {{
             lastName activities(first: {first}) {{ {ACTIVITY_PAGE} }} {other} }} }} }}"
    )
}

/// The statements a request costs, and its answer.
async fn measured(app: &TestApp, acme: &Tenant, query: &str, variables: Value) -> (Gql, usize) {
    let before = app.statements();
    let response = app.gql(acme.token(), query, variables).await;
    response.ok();
    (response, app.statements() - before)
}

#[tokio::test]
async fn first_pages_of_activities_with_the_leads_answer_as_loaded_pages_do() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    leads_with_activities(&app, &acme).await;

    for first in [0, 1, 3, 7, 20] {
        let (joined, joined_cost) =
            measured(&app, &acme, &leads_query(first, false), json!({})).await;
        let (loaded, loaded_cost) =
            measured(&app, &acme, &leads_query(first, true), json!({})).await;
        let joined_leads = joined.at("/leads/nodes").as_array().unwrap();
        let loaded_leads = loaded.at("/leads/nodes").as_array().unwrap();
        assert_eq!(joined_leads.len(), 4);
        for (with_parent, alone) in joined_leads.iter().zip(loaded_leads) {
            assert_eq!(
                with_parent["activities"], alone["activities"],
                "first: {first}, {}",
                with_parent["lastName"]
            );
        }
        // The loaded answer's activities statement is the one the joined answer does without.
        assert_eq!(joined_cost + 1, loaded_cost, "first: {first}");
    }

    // Each page in the database's order (newest first, then the greater id), and the page
    // after a joined one's end cursor goes on from there.
    let (joined, _) = measured(&app, &acme, &leads_query(3, false), json!({})).await;
    let tied = joined.at("/leads/nodes/3/activities");
    assert_eq!(tied["totalCount"], 7);
    assert_eq!(tied["pageInfo"]["hasNextPage"], true);
    let lead = app
        .gql(
            acme.token(),
            "{ leads(first: 1, orderBy: { field: LAST_NAME, direction: DESC }) { nodes { id } } }",
            json!({}),
        )
        .await
        .at("/leads/nodes/0/id")
        .as_str()
        .unwrap()
        .to_owned();
    let next = app
        .gql(
            acme.token(),
            "query($id: ID!, $after: String) { lead(id: $id) {
                 activities(first: 4, after: $after) { nodes { id } pageInfo { hasNextPage } } } }",
            json!({ "id": lead, "after": tied["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(next.at("/lead/activities/pageInfo/hasNextPage"), false);
    let ids: Vec<&Value> = (tied["edges"].as_array().unwrap().iter())
        .map(|edge| &edge["node"]["id"])
        .chain(
            next.at("/lead/activities/nodes")
                .as_array()
                .unwrap()
                .iter()
                .map(|n| &n["id"]),
        )
        .collect();
    let stored: Vec<String> = {
        use sea_orm::{ConnectionTrait, Statement};
        let db = app.admin_db().await;
        db.query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT id::text FROM activities WHERE lead_id = '{}'
                 ORDER BY created_at DESC, id DESC",
                uuid_of(&lead)
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
    };
    let answered: Vec<String> = ids
        .iter()
        .map(|id| uuid_of(id.as_str().unwrap()).to_string())
        .collect();
    assert_eq!(answered, stored);

    // One lead by id carries its first page too, the same as the list's.
    let query = format!(
        "query($id: ID!) {{ lead(id: $id) {{ activities(first: 3) {{ {ACTIVITY_PAGE} }} }} }}"
    );
    let (one, cost) = measured(&app, &acme, &query, json!({ "id": lead })).await;
    assert_eq!(one.at("/lead/activities"), tied);
    // The principal check, the lead with its page, the count, the activities' users and lead.
    assert_eq!(cost, 5);
}

#[tokio::test]
async fn first_pages_of_live_leads_with_their_companies_carry_every_column_type() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = uuid_of(&acme.create_company(&app, "Initech").await);
    acme.create_company(&app, "Hooli").await;
    // Text arrays (empty and not), JSON, exact decimals, dates, nullable timestamps; one lead
    // soft-deleted, which `company.leads` leaves out.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "INSERT INTO leads (organization_id, first_name, last_name, email, company_id, tags,
                                custom_fields, estimated_deal_value, estimated_deal_currency,
                                expected_close_date, next_follow_up_at, deleted_at, score)
             SELECT '{org}', 'Lead', 'N' || n, 'lead' || n || '@example.com', '{initech}',
                    CASE WHEN n % 2 = 0 THEN ARRAY['vip', 'tag \"' || n || '\"'] ELSE '{{}}' END,
                    jsonb_build_object('n', n, 'nested', jsonb_build_array(n, 'x')),
                    CASE WHEN n % 3 = 0 THEN NULL ELSE 1234567.89 + n END, 'EUR',
                    CASE WHEN n % 2 = 1 THEN date '2027-01-01' + n END,
                    CASE WHEN n % 2 = 0 THEN now() + n * interval '1 day' END,
                    CASE WHEN n = 4 THEN now() END,
                    n * 10
             FROM generate_series(1, 6) n",
            org = acme.organization_id,
        ),
    )
    .await;
    // `fullName` is written by hand: the leads are read with every column.
    let lead_fields = "id fullName email tags customFields score status seniority
        estimatedDealValue { amount currency } expectedCloseDate nextFollowUpAt deletedAt
        company { name }";
    let query = |loaded: bool| {
        let other = if loaded {
            "other: leads(first: 2) { nodes { id } }"
        } else {
            ""
        };
        format!(
            "{{ companies(first: 10, orderBy: {{ field: NAME, direction: ASC }}) {{ nodes {{ name
                 leads(first: 10) {{ totalCount nodes {{ {lead_fields} }} }} {other} }} }} }}"
        )
    };
    let (joined, joined_cost) = measured(&app, &acme, &query(false), json!({})).await;
    let (loaded, loaded_cost) = measured(&app, &acme, &query(true), json!({})).await;
    let companies = |response: &Gql| -> Vec<Value> {
        (response.at("/companies/nodes").as_array().unwrap().iter())
            .map(|company| company["leads"].clone())
            .collect()
    };
    assert_eq!(companies(&joined), companies(&loaded));
    assert_eq!(joined_cost + 1, loaded_cost);

    let hooli = joined.at("/companies/nodes/0");
    assert_eq!(hooli["name"], "Hooli");
    assert_eq!(hooli["leads"]["nodes"], json!([]));
    let leads = joined
        .at("/companies/nodes/1/leads/nodes")
        .as_array()
        .unwrap();
    assert_eq!(joined.at("/companies/nodes/1/leads/totalCount"), 5);
    let names: Vec<&str> = leads
        .iter()
        .map(|l| l["fullName"].as_str().unwrap())
        .collect();
    // Newest first: written in one statement, so by id; N4 is deleted.
    assert_eq!(names.len(), 5);
    assert!(!names.contains(&"Lead N4"), "{names:?}");
    let n6 = leads.iter().find(|l| l["fullName"] == "Lead N6").unwrap();
    assert_eq!(n6["tags"], json!(["vip", "tag \"6\""]));
    assert_eq!(n6["customFields"], json!({ "n": 6, "nested": [6, "x"] }));
    assert_eq!(n6["estimatedDealValue"], Value::Null);
    assert_eq!(n6["expectedCloseDate"], Value::Null);
    assert!(n6["nextFollowUpAt"].is_string());
    let n5 = leads.iter().find(|l| l["fullName"] == "Lead N5").unwrap();
    assert_eq!(n5["tags"], json!([]));
    assert_eq!(
        n5["estimatedDealValue"],
        json!({ "amount": "1234572.89", "currency": "EUR" })
    );
    assert_eq!(n5["expectedCloseDate"], "2027-01-06");
    assert_eq!(n5["company"]["name"], "Initech");
}

#[tokio::test]
async fn first_pages_of_notes_carry_their_mentions_and_leave_others_private_notes_out() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let colleague = acme.add_user(&app, "MANAGER").await;
    let lead = acme.create_lead(&app, json!({})).await;
    // The owner's notes: one private, two that mention the colleague (a `uuid[]` column).
    for (content, private) in [("Budget", false), ("Only mine", true), ("Timeline", false)] {
        app.gql(
            acme.token(),
            "mutation($input: AddLeadNoteInput!) { addLeadNote(input: $input) { note { id } } }",
            json!({ "input": { "leadId": lead, "content": content, "isPrivate": private,
                               "mentionedUserIds": [colleague.user_id] } }),
        )
        .await
        .ok();
    }
    let query = |loaded: bool| {
        let other = if loaded {
            "other: notes(first: 1) { nodes { id } }"
        } else {
            ""
        };
        format!(
            "{{ leads(first: 5) {{ nodes {{
                 notes(first: 5) {{ totalCount nodes {{ content isPrivate mentionedUserIds author {{ email }} }} }}
                 {other} }} }} }}"
        )
    };
    for (credential, seen) in [
        (acme.token(), 3),
        (Some(colleague.access_token.as_str()), 2),
    ] {
        let before = app.statements();
        let joined = app.gql(credential, &query(false), json!({})).await;
        let joined_cost = app.statements() - before;
        let before = app.statements();
        let loaded = app.gql(credential, &query(true), json!({})).await;
        // The notes' statement is the one the joined answer does without.
        assert_eq!(joined_cost + 1, app.statements() - before);
        let notes = joined.at("/leads/nodes/0/notes");
        assert_eq!(notes, &loaded.at("/leads/nodes/0/notes").clone());
        assert_eq!(notes["totalCount"], seen);
        let nodes = notes["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), seen);
        for note in nodes {
            assert_eq!(note["mentionedUserIds"], json!([colleague.user_id]));
            if credential != acme.token() {
                assert_eq!(note["isPrivate"], false);
            }
        }
    }
}

/// A page fetches the row beyond it only for a selection that asks whether more rows follow,
/// and answers that right however it is asked (inline fragments, named fragments, on
/// `PageInfo`), on a list read forward and backward, on first pages that travel with their
/// leads and on pages loaded on their own.
#[tokio::test]
async fn whether_more_rows_follow_is_answered_however_the_selection_asks_it() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    leads_with_activities(&app, &acme).await;
    // With `loaded`, a second first page of the activities makes both load on their own.
    let query = |loaded: bool| {
        let alone = if loaded {
            "alone: activities(first: 3) { ...Next }"
        } else {
            ""
        };
        format!(
            "fragment Next on ActivityConnection {{ pageInfo {{ hasNextPage }} }}
             fragment Before on PageInfo {{ hasPreviousPage }}
             query($n: Int!) {{
               forward: leads(first: $n, orderBy: {{ field: LAST_NAME, direction: ASC }}) {{
                 ... on LeadConnection {{ pageInfo {{ hasNextPage }} }}
                 nodes {{ lastName activities(first: 2) {{ ...Next nodes {{ id }} }} {alone} }}
               }}
               backward: leads(last: $n, orderBy: {{ field: LAST_NAME, direction: ASC }}) {{
                 pageInfo {{ ...Before }}
                 nodes {{ lastName }}
               }}
             }}"
        )
    };
    let mut costs = Vec::new();
    for loaded in [false, true] {
        // Activities per lead N0..N3: 0, 1, 3, 7.
        let (three, cost) = measured(&app, &acme, &query(loaded), json!({ "n": 3 })).await;
        costs.push(cost);
        assert_eq!(three.at("/forward/pageInfo/hasNextPage"), true);
        assert_eq!(three.at("/backward/pageInfo/hasPreviousPage"), true);
        for (lead, more, nodes) in [(0, false, 0), (1, false, 1), (2, true, 2)] {
            let activities = three.at(&format!("/forward/nodes/{lead}/activities"));
            assert_eq!(activities["pageInfo"]["hasNextPage"], more, "lead {lead}");
            assert_eq!(activities["nodes"].as_array().unwrap().len(), nodes);
            if loaded {
                let alone = three.at(&format!("/forward/nodes/{lead}/alone"));
                assert_eq!(alone["pageInfo"]["hasNextPage"], false, "lead {lead}");
            }
        }

        let (all, _) = measured(&app, &acme, &query(loaded), json!({ "n": 4 })).await;
        assert_eq!(all.at("/forward/pageInfo/hasNextPage"), false);
        assert_eq!(all.at("/backward/pageInfo/hasPreviousPage"), false);
        let busiest = all.at("/forward/nodes/3");
        assert_eq!(busiest["lastName"], "N3");
        assert_eq!(busiest["activities"]["pageInfo"]["hasNextPage"], true);
        if loaded {
            assert_eq!(busiest["alone"]["pageInfo"]["hasNextPage"], true);
        }
    }
    assert!(
        costs[0] < costs[1],
        "the first answer's pages were joined: {costs:?}"
    );
}

/// One lead by id with a joined relation reads only the columns its selection reads (as a
/// page's rows do): each field, asked alone or with the others, answers as `node(id:)`, which
/// reads every column.
#[tokio::test]
async fn one_lead_by_id_with_its_company_answers_each_field_as_node_does() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = uuid_of(&acme.create_company(&app, "Initech").await);
    app.owner_sql(
        acme.organization_id,
        &format!(
            "INSERT INTO leads (organization_id, first_name, last_name, email, company_id, phone,
                                job_title, department, seniority, source, status, score,
                                temperature, probability_to_close, tags, linkedin_url,
                                custom_fields, estimated_deal_value, estimated_deal_currency,
                                expected_close_date, last_contacted_at, next_follow_up_at)
             SELECT '{org}', 'Lead', 'N' || n, 'lead' || n || '@example.com', '{initech}',
                    CASE WHEN n = 1 THEN '+1 555 0100' END,
                    CASE WHEN n = 1 THEN 'CISO' END, CASE WHEN n = 1 THEN 'Security' END,
                    CASE WHEN n = 1 THEN 'c_level' END, 'referral', 'qualified', 70 + n,
                    'hot', CASE WHEN n = 1 THEN 40 END,
                    CASE WHEN n = 1 THEN ARRAY['vip', 'q\"uote'] ELSE '{{}}' END,
                    CASE WHEN n = 1 THEN 'https://linkedin.example/n1' END,
                    jsonb_build_object('n', n),
                    CASE WHEN n = 1 THEN 98765.43 END, 'USD',
                    CASE WHEN n = 1 THEN date '2027-03-01' END,
                    CASE WHEN n = 1 THEN now() - interval '2 days' END,
                    CASE WHEN n = 1 THEN now() + interval '2 days' END
             FROM generate_series(1, 2) n",
            org = acme.organization_id,
        ),
    )
    .await;
    let fields = [
        "id",
        "firstName",
        "lastName",
        "fullName",
        "email",
        "phone",
        "jobTitle",
        "department",
        "seniority",
        "source",
        "status",
        "score",
        "temperature",
        "probabilityToClose",
        "tags",
        "linkedinUrl",
        "customFields",
        "estimatedDealValue { amount currency }",
        "expectedCloseDate",
        "lastContactedAt",
        "nextFollowUpAt",
        "deletedAt",
        "createdAt",
        "updatedAt",
    ];
    let ids = app
        .gql(
            acme.token(),
            "{ leads(first: 2, orderBy: { field: LAST_NAME, direction: ASC }) { nodes { id } } }",
            json!({}),
        )
        .await;
    let every = fields.join(" ");
    for lead in ids.at("/leads/nodes").as_array().unwrap() {
        for selection in fields.iter().copied().chain([every.as_str()]) {
            let variables = json!({ "id": lead["id"] });
            let (by_id, cost) = measured(
                &app,
                &acme,
                &format!(
                    "query($id: ID!) {{ lead(id: $id) {{ {selection} company {{ name }} }} }}"
                ),
                variables.clone(),
            )
            .await;
            let node = app
                .gql(
                    acme.token(),
                    &format!(
                        "query($id: ID!) {{ node(id: $id) {{
                             ... on Lead {{ {selection} company {{ name }} }} }} }}"
                    ),
                    variables,
                )
                .await;
            assert_eq!(by_id.at("/lead"), node.at("/node"), "{selection}");
            assert_eq!(by_id.at("/lead/company/name"), "Initech");
            // The check and the lead with its company.
            assert_eq!(cost, 2, "{selection}");
        }
    }
}
