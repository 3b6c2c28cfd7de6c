//! Domain services run outside GraphQL — from a worker, an import, a test — over a tenant
//! transaction and an actor, with the same validation, policies and audit as the API.

use std::time::Duration;

use entity::companies;
use leadgraph::{
    api_keys::{self, CreateApiKeyInput},
    audit::Actor,
    auth::HashedPasswords,
    companies::CreateCompanyInput,
    error::ApiError,
    graphql::RequestMeta,
    leads::{self, CreateLeadInput, UpdateLeadInput},
    service::Acting,
    tenancy::{Role, Scope, TenantSettings, TenantTx},
    users::{self, CreateUserInput},
};
use serde_json::json;

use crate::support::{Tenant, TestApp, tenant::uuid_of};

fn settings(tenant: &Tenant) -> TenantSettings {
    TenantSettings {
        organization_id: tenant.organization_id,
        user_id: uuid_of(&tenant.owner.user_id),
    }
}

/// A transaction as a worker opens one for `tenant`'s owner, and the request facts it acts
/// under (`request_id` in the audit log).
async fn worker_transaction(
    app: &TestApp,
    tenant: &Tenant,
    request_id: &str,
) -> (TenantTx, RequestMeta) {
    let db = app.app_db().await;
    let tx = TenantTx::begin(
        &(&db).into(),
        false,
        Duration::from_secs(10),
        Some(settings(tenant)),
    )
    .await
    .unwrap();
    let meta = RequestMeta {
        request_id: request_id.into(),
        ..Default::default()
    };
    (tx, meta)
}

/// Acting in `tx` as `tenant`'s owner user, with `role`.
fn acting<'a>(tx: &'a TenantTx, tenant: &Tenant, role: Role, meta: &'a RequestMeta) -> Acting<'a> {
    Acting {
        db: tx.conn(),
        actor: Actor {
            tenant: settings(tenant),
            api_key_id: None,
        },
        role,
        meta,
    }
}

#[tokio::test]
async fn an_import_creates_companies_and_leads_through_the_services() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (tx, meta) = worker_transaction(&app, &acme, "import-42").await;
    let acting = acting(&tx, &acme, Role::Owner, &meta);
    // Companies have no rules beyond their fields': the generic service writes them.
    let mut input = CreateCompanyInput {
        name: "Initech".into(),
        domain: Some("Initech.example".into()),
        ..Default::default()
    };
    let company: companies::Model = acting.insert(input.changes().unwrap()).await.unwrap();
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

/// The admin services carry their rules with them: acting as an ADMIN (say, a provisioning
/// job), a service refuses to hand out ownership as the API does, and what it does is audited.
#[tokio::test]
async fn an_admin_service_keeps_its_role_rules_outside_graphql() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    // Passwords are hashed before the transaction opens: argon2 holds no pooled connection.
    let passwords = HashedPasswords::of(["a long enough password".to_owned()])
        .await
        .unwrap();
    let (tx, meta) = worker_transaction(&app, &acme, "provisioning-7").await;
    let acting = acting(&tx, &acme, Role::Admin, &meta);
    let input = |email: &str, role| CreateUserInput {
        email: email.into(),
        full_name: "Grace Hopper".into(),
        password: "a long enough password".into(),
        role,
    };
    let refused =
        users::service::create(&acting, input("owner2@acme.test", Role::Owner), &passwords)
            .await
            .unwrap_err();
    assert!(matches!(refused, ApiError::Forbidden(_)), "{refused:?}");
    let agent = users::service::create(&acting, input("AGENT@acme.test", Role::Agent), &passwords)
        .await
        .unwrap();
    assert_eq!(agent.email, "agent@acme.test");
    let (key, secret) = api_keys::service::create(
        &acting,
        CreateApiKeyInput {
            name: "sync".into(),
            scopes: vec![Scope::Read],
            expires_at: None,
            rate_limit_per_hour: None,
        },
    )
    .await
    .unwrap();
    assert!(secret.starts_with("lg_"), "{secret}");
    assert_eq!(key.rate_limit_per_hour, 1_000);
    tx.commit().await.unwrap();

    let response = app
        .gql(
            acme.token(),
            "{ users { nodes { email role } } auditLogs(first: 5) { nodes { action requestId changes } } }",
            json!({}),
        )
        .await;
    let emails: Vec<&str> = response
        .at("/users/nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"agent@acme.test"), "{emails:?}");
    let audit = response.at("/auditLogs/nodes").to_string();
    assert!(
        audit.contains("user.create") && audit.contains("api_key.create"),
        "{audit}"
    );
    assert!(audit.contains("provisioning-7"), "{audit}");
    // Neither the password's hash nor the key's is in the audit log.
    assert!(
        !audit.contains("argon2") && !audit.contains("keyHash"),
        "{audit}"
    );
}
