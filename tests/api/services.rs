//! Domain services run outside GraphQL — from a worker, an import, a test — over a tenant
//! transaction and an actor, with the same validation, policies and audit as the API.

use std::time::Duration;

use leadgraph::{
    audit::Actor,
    companies::{self, CreateCompanyInput},
    error::ApiError,
    graphql::RequestMeta,
    leads::{self, CreateLeadInput, UpdateLeadInput},
    service::Acting,
    tenancy::{TenantSettings, TenantTx},
};
use serde_json::json;

use crate::support::{TestApp, tenant::uuid_of};

#[tokio::test]
async fn an_import_creates_companies_and_leads_through_the_services() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let tenant = TenantSettings {
        organization_id: acme.organization_id,
        user_id: uuid_of(&acme.owner.user_id),
    };
    let db = app.app_db().await;
    let tx = TenantTx::begin(&db, false, Duration::from_secs(10), Some(tenant))
        .await
        .unwrap();
    let meta = RequestMeta {
        request_id: "import-42".into(),
        ..Default::default()
    };
    let acting = Acting {
        db: tx.conn(),
        actor: Actor {
            tenant,
            api_key_id: None,
        },
        meta: &meta,
    };
    let company = companies::service::create(
        &acting,
        CreateCompanyInput {
            name: "Initech".into(),
            domain: Some("Initech.example".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(company.domain.as_deref(), Some("initech.example"));
    let company_id = leadgraph::graphql::NodeKind::Company.id(company.id);
    let lead = leads::service::create(
        &acting,
        CreateLeadInput {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ada@initech.example".into(),
            company_id: Some(company_id),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // The same rule as over the API, naming the field; nothing changes.
    let refused = leads::service::update(
        &acting,
        lead.id,
        UpdateLeadInput {
            score: Some(101),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(
        refused,
        ApiError::BadUserInput {
            field: Some("score"),
            ..
        }
    ));
    tx.commit().await.unwrap();

    let response = app
        .gql(
            acme.token(),
            "{ leads { nodes { lastName score company { name } } }
               auditLogs(first: 2) { nodes { action requestId } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response.at("/leads/nodes"),
        &json!([{ "lastName": "Lovelace", "score": 0, "company": { "name": "Initech" } }])
    );
    // One transaction, one creation time: the two records come in id order.
    let mut audit = response.at("/auditLogs/nodes").as_array().unwrap().clone();
    audit.sort_by_key(|record| record["action"].as_str().unwrap().to_owned());
    assert_eq!(
        audit,
        [
            json!({ "action": "company.create", "requestId": "import-42" }),
            json!({ "action": "lead.create", "requestId": "import-42" }),
        ]
    );
}
