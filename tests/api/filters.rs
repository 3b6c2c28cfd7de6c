//! Filters over typed columns, and the one CRM filter peers lack: leads by their company's
//! fields (`leads(filter: { company: { industry: [...], isFortune500: true } })`).

use serde_json::{Value, json};

use crate::support::{Tenant, TestApp};

async fn company(app: &TestApp, tenant: &Tenant, input: Value) -> String {
    app.gql(
        tenant.token(),
        "mutation($input: CreateCompanyInput!) { createCompany(input: $input) { company { id } } }",
        json!({ "input": input }),
    )
    .await
    .at("/createCompany/company/id")
    .as_str()
    .unwrap()
    .to_owned()
}

/// Last names of the leads `filter` keeps (sorted), and the list's `totalCount`.
async fn leads_matching(app: &TestApp, tenant: &Tenant, filter: Value) -> (Vec<String>, i64) {
    let response = app
        .gql(
            tenant.token(),
            "query($filter: LeadFilter) { leads(first: 100, filter: $filter) {
                totalCount nodes { lastName } } }",
            json!({ "filter": filter }),
        )
        .await;
    let mut names: Vec<String> = response
        .at("/leads/nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|lead| lead["lastName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    (names, response.at("/leads/totalCount").as_i64().unwrap())
}

#[tokio::test]
async fn leads_are_filtered_by_their_companys_fields() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let initech = company(
        &app,
        &acme,
        json!({ "name": "Initech", "industry": "energy", "fortuneRank": 120, "employeeCount": 5000 }),
    )
    .await;
    let hooli = company(
        &app,
        &acme,
        json!({ "name": "Hooli", "industry": "energy" }),
    )
    .await;
    let globex = company(
        &app,
        &acme,
        json!({ "name": "Globex", "industry": "finance", "fortuneRank": 30, "employeeCount": 90 }),
    )
    .await;
    for (last_name, company) in [
        ("Initech-1", Some(&initech)),
        ("Initech-2", Some(&initech)),
        ("Hooli", Some(&hooli)),
        ("Globex", Some(&globex)),
        ("Nobody", None),
    ] {
        acme.create_lead(&app, json!({ "lastName": last_name, "companyId": company }))
            .await;
    }
    // Another tenant's energy company in the Fortune 500, with a lead: never matched for acme.
    let umbrella = app.sign_up("umbrella").await;
    let theirs = company(
        &app,
        &umbrella,
        json!({ "name": "Umbrella", "industry": "energy", "fortuneRank": 7 }),
    )
    .await;
    umbrella
        .create_lead(&app, json!({ "lastName": "Theirs", "companyId": theirs }))
        .await;

    let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        leads_matching(
            &app,
            &acme,
            json!({ "company": { "industry": ["energy"], "isFortune500": true } })
        )
        .await,
        (names(&["Initech-1", "Initech-2"]), 2)
    );
    assert_eq!(
        leads_matching(&app, &acme, json!({ "company": { "isFortune500": false } })).await,
        (names(&["Hooli"]), 1)
    );
    assert_eq!(
        leads_matching(
            &app,
            &acme,
            json!({ "company": { "industry": ["energy", "finance"] } })
        )
        .await,
        (names(&["Globex", "Hooli", "Initech-1", "Initech-2"]), 4)
    );
    assert_eq!(
        leads_matching(
            &app,
            &acme,
            json!({ "company": { "employeeCountMin": 100, "search": "init" } })
        )
        .await,
        (names(&["Initech-1", "Initech-2"]), 2)
    );
    // Combined with the lead's own fields.
    assert_eq!(
        leads_matching(
            &app,
            &acme,
            json!({ "company": { "industry": ["energy"] }, "search": "Hooli" })
        )
        .await,
        (names(&["Hooli"]), 1)
    );
    // An empty company filter says nothing: every lead, with or without a company.
    assert_eq!(
        leads_matching(&app, &acme, json!({ "company": {} }))
            .await
            .1,
        5
    );
    assert_eq!(
        leads_matching(
            &app,
            &umbrella,
            json!({ "company": { "industry": ["energy"] } })
        )
        .await,
        (names(&["Theirs"]), 1)
    );
}

#[tokio::test]
async fn companies_are_filtered_by_any_of_their_industries_and_size() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for (name, industry, employees) in [
        ("Initech", "energy", 5000),
        ("Hooli", "software", 40),
        ("Globex", "finance", 900),
    ] {
        company(
            &app,
            &acme,
            json!({ "name": name, "industry": industry, "employeeCount": employees }),
        )
        .await;
    }
    let names = |filter: Value| {
        let app = &app;
        let acme = &acme;
        async move {
            let response = app
                .gql(
                    acme.token(),
                    "query($filter: CompanyFilter) { companies(filter: $filter) { nodes { name } } }",
                    json!({ "filter": filter }),
                )
                .await;
            response
                .at("/companies/nodes")
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(json!({ "industry": ["energy", "finance"] })).await,
        ["Globex", "Initech"]
    );
    // A single value where a list is expected is a list of one (GraphQL input coercion).
    assert_eq!(names(json!({ "industry": "software" })).await, ["Hooli"]);
    assert_eq!(
        names(json!({ "employeeCountMin": 100, "employeeCountMax": 1000 })).await,
        ["Globex"]
    );
}

#[tokio::test]
async fn an_over_long_company_search_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let long = "x".repeat(201);
    for (query, field) in [
        (
            "query($s: String) { companies(filter: { search: $s }) { totalCount } }",
            "search",
        ),
        (
            "query($s: String) { leads(filter: { company: { search: $s } }) { totalCount } }",
            "company.search",
        ),
    ] {
        app.gql(acme.token(), query, json!({ "s": long }))
            .await
            .assert_bad_input(field);
    }
}
