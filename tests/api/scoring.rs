//! Lead scoring: typed rules, scores recomputed in the transaction of what changes them, every
//! change kept with its reason, explanations, rescoring after a rule changes.

use serde_json::{Value, json};

use std::time::Duration;

use crate::support::{Tenant, TestApp, eventually};

const CREATE_RULE: &str = "mutation($input: CreateScoringRuleInput!) {
    createScoringRule(input: $input) { rule { id name conditions { field operator values withinDays } } } }";

async fn rule(app: &TestApp, tenant: &Tenant, input: Value) -> String {
    tenant.create(app, "ScoringRule", "rule", input).await
}

async fn lead_score(app: &TestApp, tenant: &Tenant, id: &str) -> Value {
    app.gql(
        tenant.token(),
        "query($id: ID!) { lead(id: $id) { score
            scoreExplanation { score contributions { rule { name } points } }
            scoreHistory { nodes { previous new delta reason rule { name } by { id } } } } }",
        json!({ "id": id }),
    )
    .await
    .at("/lead")
    .clone()
}

fn condition(field: &str, operator: &str, values: &[&str]) -> Value {
    json!({ "field": field, "operator": operator, "values": values })
}

#[tokio::test]
async fn a_leads_score_follows_its_rules_as_the_lead_its_activities_and_company_change() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    rule(
        &app,
        &acme,
        json!({ "name": "Decision makers", "ruleType": "DEMOGRAPHIC", "points": 30,
        "conditions": [condition("LEAD_SENIORITY", "IN", &["C_LEVEL", "VP"])] }),
    )
    .await;
    rule(
        &app,
        &acme,
        json!({ "name": "Large companies", "ruleType": "FIRMOGRAPHIC", "points": 25,
        "conditions": [condition("COMPANY_EMPLOYEE_COUNT", "AT_LEAST", &["1000"])] }),
    )
    .await;
    let mut engaged = condition("ACTIVITY_COUNT", "AT_LEAST", &["2"]);
    engaged["withinDays"] = json!(30);
    rule(
        &app,
        &acme,
        json!({ "name": "Engaged", "ruleType": "ENGAGEMENT", "points": 20,
        "conditions": [engaged] }),
    )
    .await;
    rule(
        &app,
        &acme,
        json!({ "name": "Students", "ruleType": "DEMOGRAPHIC", "points": -50,
        "priority": 10, "conditions": [condition("LEAD_JOB_TITLE", "CONTAINS", &["Student"])] }),
    )
    .await;

    let company = app
        .gql(
            acme.token(),
            "mutation { createCompany(input: { name: \"Initech\", employeeCount: 50 }) { company { id } } }",
            json!({}),
        )
        .await
        .at("/createCompany/company/id")
        .as_str()
        .unwrap()
        .to_owned();
    let lead = acme
        .create_lead(
            &app,
            json!({ "seniority": "C_LEVEL", "companyId": company }),
        )
        .await;
    assert_eq!(lead_score(&app, &acme, &lead).await["score"], 30);
    app.gql(
        acme.token(),
        "mutation($id: ID!) { updateCompany(input: { id: $id, employeeCount: 5000 }) { company { id } } }",
        json!({ "id": company }),
    )
    .await
    .ok();
    assert_eq!(lead_score(&app, &acme, &lead).await["score"], 55);
    acme.log_activity(&app, &lead).await;
    assert_eq!(
        lead_score(&app, &acme, &lead).await["score"],
        55,
        "one activity is not two"
    );
    acme.log_activity(&app, &lead).await;
    assert_eq!(lead_score(&app, &acme, &lead).await["score"], 75);
    acme.update_lead(&app, &lead, json!({ "jobTitle": "PhD student" }))
        .await;

    let scored = lead_score(&app, &acme, &lead).await;
    assert_eq!(scored["score"], 25);
    assert_eq!(
        scored["scoreExplanation"],
        json!({ "score": 25, "contributions": [
            { "rule": { "name": "Students" }, "points": -50 },
            { "rule": { "name": "Decision makers" }, "points": 30 },
            { "rule": { "name": "Large companies" }, "points": 25 },
            { "rule": { "name": "Engaged" }, "points": 20 },
        ] })
    );
    let history: Vec<(Value, Value, Value, Value)> = scored["scoreHistory"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["previous"].clone(),
                h["new"].clone(),
                h["delta"].clone(),
                h["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (json!(75), json!(25), json!(-50), json!("lead updated")),
            (json!(55), json!(75), json!(20), json!("activity logged")),
            (json!(30), json!(55), json!(25), json!("company changed")),
            (json!(0), json!(30), json!(30), json!("lead created")),
        ]
    );
    assert!(
        scored["scoreHistory"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["by"]["id"] == acme.owner.user_id.as_str())
    );
    // Each change is a SCORED event of the lead.
    let admin = app.admin_db().await;
    let scored_events = crate::support::scalar(
        &admin,
        format!(
            "SELECT count(*) FROM events WHERE kind = 'scored' AND subject_id = '{}'",
            crate::support::tenant::uuid_of(&lead)
        ),
    )
    .await;
    assert_eq!(scored_events, 4);
    // Scores are the rules' now: one set by hand is refused.
    let by_hand = app
        .gql(
            acme.token(),
            "mutation($id: ID!) { updateLead(input: { id: $id, score: 99 }) { lead { score } } }",
            json!({ "id": lead }),
        )
        .await;
    by_hand.assert_bad_input("score");
    // Clamped to 0.
    let student = acme
        .create_lead(&app, json!({ "jobTitle": "Student" }))
        .await;
    assert_eq!(lead_score(&app, &acme, &student).await["score"], 0);
}

#[tokio::test]
async fn conditions_are_typed_and_checked_and_only_managers_keep_rules() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let attempt = |conditions: Value| {
        let (app, acme) = (&app, &acme);
        async move {
            app.gql(
                acme.token(),
                CREATE_RULE,
                json!({ "input": { "name": "R", "ruleType": "BEHAVIORAL", "points": 5, "conditions": conditions } }),
            )
            .await
        }
    };
    for wrong in [
        json!([]),
        json!([condition("LEAD_TEMPERATURE", "AT_LEAST", &["1"])]),
        json!([condition("LEAD_SENIORITY", "IN", &["CEO"])]),
        json!([condition("COMPANY_EMPLOYEE_COUNT", "AT_LEAST", &["many"])]),
        json!([condition("ACTIVITY_COUNT", "AT_LEAST", &["2"])]),
        json!([condition("LEAD_TAGS", "IS_SET", &["x"])]),
    ] {
        attempt(wrong.clone()).await.assert_bad_input("conditions");
    }
    let points = app
        .gql(
            acme.token(),
            CREATE_RULE,
            json!({ "input": { "name": "R", "ruleType": "BEHAVIORAL", "points": 500,
                "conditions": [condition("LEAD_TAGS", "IS_SET", &[])] } }),
        )
        .await;
    points.assert_bad_input("points");
    let created = attempt(json!([condition("LEAD_SOURCE", "IN", &["referral"])])).await;
    assert_eq!(
        created.at("/createScoringRule/rule/conditions"),
        &json!([{ "field": "LEAD_SOURCE", "operator": "IN", "values": ["REFERRAL"], "withinDays": null }])
    );
    let refused = app
        .gql(
            Some(&agent.access_token),
            CREATE_RULE,
            json!({ "input": { "name": "Mine", "ruleType": "BEHAVIORAL", "points": 5,
                "conditions": [condition("LEAD_TAGS", "IS_SET", &[])] } }),
        )
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
}

/// A new or changed rule reaches existing leads when they change, or all at once with
/// `rescoreLeads`, whose changes name the rule: in the request for a few leads, by a job of
/// the background worker, in batches, for many.
#[tokio::test]
async fn rescoring_applies_a_rule_change_to_existing_leads() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let vip = acme
        .create_lead(&app, json!({ "tags": ["vip"], "score": 10 }))
        .await;
    let other = acme.create_lead(&app, json!({ "score": 10 })).await;
    let id = rule(
        &app,
        &acme,
        json!({ "name": "VIPs", "ruleType": "ENGAGEMENT", "points": 40,
        "conditions": [condition("LEAD_TAGS", "CONTAINS", &["VIP"])] }),
    )
    .await;
    assert_eq!(
        lead_score(&app, &acme, &vip).await["score"],
        10,
        "not rescored yet"
    );
    let rescore =
        "mutation($input: RescoreLeadsInput!) { rescoreLeads(input: $input) { rescored changed } }";
    let done = app
        .gql(acme.token(), rescore, json!({ "input": { "ruleId": id } }))
        .await;
    assert_eq!(
        done.at("/rescoreLeads"),
        &json!({ "rescored": "2", "changed": "2" })
    );
    let vip_scored = lead_score(&app, &acme, &vip).await;
    assert_eq!(vip_scored["score"], 40);
    assert_eq!(
        vip_scored["scoreHistory"]["nodes"][0]["reason"],
        "rule changed"
    );
    assert_eq!(
        vip_scored["scoreHistory"]["nodes"][0]["rule"]["name"],
        "VIPs"
    );
    assert_eq!(lead_score(&app, &acme, &other).await["score"], 0);
    let again = app
        .gql(
            acme.token(),
            rescore,
            json!({ "input": { "filter": { "tagsAny": ["vip"] } } }),
        )
        .await;
    assert_eq!(
        again.at("/rescoreLeads"),
        &json!({ "rescored": "1", "changed": "0" })
    );
    // More than a request rescores is a job of the background worker, followed to its end.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "INSERT INTO leads (organization_id, first_name, last_name, email, tags)
             SELECT '{}', 'Lead', 'N' || n, 'bulk' || n || '@example.com', ARRAY['vip']
             FROM generate_series(1, 5000) n",
            acme.organization_id
        ),
    )
    .await;
    let queued = app
        .gql(
            acme.token(),
            "mutation { rescoreLeads(input: {}) { rescored job { id total } } }",
            json!({}),
        )
        .await;
    assert_eq!(queued.at("/rescoreLeads/rescored"), &Value::Null);
    assert_eq!(queued.at("/rescoreLeads/job/total"), "5002");
    let job = queued.at("/rescoreLeads/job/id").clone();
    let progress = "query($id: ID!) { scoringJob(id: $id) { state total processed changed } }";
    let finished = eventually(Duration::from_secs(60), "the job's end", || async {
        let seen = app.gql(acme.token(), progress, json!({ "id": job })).await;
        let job = seen.at("/scoringJob").clone();
        (job["state"] != "QUEUED" && job["state"] != "RUNNING").then_some(job)
    })
    .await;
    assert_eq!(
        finished,
        json!({ "state": "DONE", "total": "5002", "processed": "5002", "changed": "5000" })
    );
    let vips = app
        .gql(
            acme.token(),
            "{ leads(filter: { scoreMin: 40 }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(vips.at("/leads/totalCount"), 5001);
}
