//! Authentication and roles: sessions, refresh rotation, API keys, and who may do what.

use serde_json::json;

use crate::support::{Tenant, TestApp, tenant::PASSWORD};

const ME: &str = "{ me { email role } }";
const CREATE_COMPANY: &str =
    "mutation($input: CreateCompanyInput!) { createCompany(input: $input) { company { id } } }";

async fn refresh(app: &TestApp, token: &str) -> crate::support::Gql {
    app.gql(
        None,
        "mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken refreshToken } }",
        json!({ "input": { "refreshToken": token } }),
    )
    .await
}

#[tokio::test]
async fn the_first_user_of_a_signed_up_organization_is_its_owner() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let me = app.gql(acme.token(), ME, json!({})).await;
    assert_eq!(me.at("/me/role"), "OWNER");
    assert_eq!(me.at("/me/email"), "owner@acme.test");
}

#[tokio::test]
async fn a_taken_slug_is_a_conflict() {
    let app = TestApp::spawn().await;
    app.sign_up("acme").await;
    let again = app
        .gql(
            None,
            "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
            json!({ "input": { "organizationName": "Other", "organizationSlug": "acme",
                               "email": "x@y.test", "password": PASSWORD, "fullName": "X" } }),
        )
        .await;
    assert_eq!(again.code(), "CONFLICT");
}

#[tokio::test]
async fn wrong_credentials_all_look_the_same() {
    let app = TestApp::spawn().await;
    app.sign_up("acme").await;
    let wrong_password = app
        .login("acme", "owner@acme.test", "not the password")
        .await;
    let wrong_email = app.login("acme", "nobody@acme.test", PASSWORD).await;
    let wrong_org = app.login("nope", "owner@acme.test", PASSWORD).await;
    for response in [&wrong_password, &wrong_email, &wrong_org] {
        assert_eq!(response.code(), "UNAUTHENTICATED");
        assert_eq!(response.message(), wrong_password.message());
    }
    assert!(
        app.login("acme", "OWNER@acme.test", PASSWORD).await.ok()["login"]["accessToken"]
            .is_string()
    );
}

#[tokio::test]
async fn requests_without_credentials_are_unauthenticated() {
    let app = TestApp::spawn().await;
    assert_eq!(app.gql(None, ME, json!({})).await.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn expired_and_tampered_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let keys = leadgraph::auth::JwtKeys::new(
        &leadgraph::config::Secret::new(crate::support::app::JWT_SECRET),
        std::time::Duration::from_secs(900),
    );
    let now = chrono::Utc::now().timestamp();
    let expired = keys.sign(&leadgraph::auth::AccessClaims {
        sub: crate::support::tenant::uuid_of(&acme.owner.user_id),
        org: acme.organization_id,
        fam: uuid::Uuid::new_v4(),
        iat: now - 2000,
        exp: now - 1000,
    });
    assert_eq!(
        app.gql(Some(&expired), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );

    let mut tampered = acme.owner.access_token.clone();
    let flipped = if tampered.ends_with('A') { 'B' } else { 'A' };
    tampered.pop();
    tampered.push(flipped);
    assert_eq!(
        app.gql(Some(&tampered), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn refreshing_rotates_the_token_and_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let first = refresh(&app, &acme.owner.refresh_token).await;
    let rotated = first
        .at("/refreshSession/refreshToken")
        .as_str()
        .unwrap()
        .to_owned();
    let access = first
        .at("/refreshSession/accessToken")
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, acme.owner.refresh_token);
    assert_eq!(
        app.gql(Some(&access), ME, json!({})).await.at("/me/role"),
        "OWNER"
    );

    // The old token again: theft is assumed, the whole family dies.
    assert_eq!(
        refresh(&app, &acme.owner.refresh_token).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(refresh(&app, &rotated).await.code(), "UNAUTHENTICATED");
    assert_eq!(
        app.gql(Some(&access), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let out = app
        .gql(acme.token(), "mutation { logout { success } }", json!({}))
        .await;
    assert_eq!(out.at("/logout/success"), true);
    assert_eq!(
        app.gql(acme.token(), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        refresh(&app, &acme.owner.refresh_token).await.code(),
        "UNAUTHENTICATED"
    );
}

async fn deactivate(app: &TestApp, admin: &Tenant, user_id: &str) -> crate::support::Gql {
    app.gql(
        admin.token(),
        "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { user { isActive } } }",
        json!({ "input": { "id": user_id } }),
    )
    .await
}

#[tokio::test]
async fn a_deactivated_users_tokens_and_keys_stop_working_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let admin = acme.add_user(&app, "ADMIN").await;
    let admin_tenant = Tenant {
        owner: admin.clone(),
        ..acme.clone()
    };
    let (_, key) = admin_tenant.api_key(&app, &["READ"]).await;
    assert_eq!(
        app.gql(Some(&key), ME, json!({})).await.at("/me/email"),
        admin.email.as_str()
    );

    assert_eq!(
        deactivate(&app, &acme, &admin.user_id)
            .await
            .at("/deactivateUser/user/isActive"),
        false
    );
    assert_eq!(
        app.gql(Some(&admin.access_token), ME, json!({}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.gql(Some(&key), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        refresh(&app, &admin.refresh_token).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.login("acme", &admin.email, PASSWORD).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let response = app
        .gql(
            acme.token(),
            "mutation($input: UpdateUserRoleInput!) { updateUserRole(input: $input) { user { role } } }",
            json!({ "input": { "id": acme.owner.user_id, "role": "ADMIN" } }),
        )
        .await;
    assert_eq!(response.code(), "CONFLICT");
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let agent = acme.add_user(&app, "AGENT").await;
    app.gql(
        acme.token(),
        "mutation($input: UpdateUserRoleInput!) { updateUserRole(input: $input) { user { role } } }",
        json!({ "input": { "id": agent.user_id, "role": "VIEWER" } }),
    )
    .await
    .ok();
    let write = app
        .gql(
            Some(&agent.access_token),
            CREATE_COMPANY,
            json!({ "input": { "name": "X" } }),
        )
        .await;
    assert_eq!(write.code(), "FORBIDDEN");
}

#[tokio::test]
async fn viewers_cannot_mutate() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let viewer = acme.add_user(&app, "VIEWER").await;
    let response = app
        .gql(
            Some(&viewer.access_token),
            CREATE_COMPANY,
            json!({ "input": { "name": "X" } }),
        )
        .await;
    assert_eq!(response.code(), "FORBIDDEN");
    let read = app
        .gql(
            Some(&viewer.access_token),
            "{ companies { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(read.at("/companies/totalCount"), 0);
}

#[tokio::test]
async fn only_owners_and_admins_manage_users_and_keys() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let manager = acme.add_user(&app, "MANAGER").await;
    let create_user = app
        .gql(
            Some(&manager.access_token),
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
            json!({ "input": { "email": "x@acme.test", "fullName": "X", "password": PASSWORD, "role": "AGENT" } }),
        )
        .await;
    assert_eq!(create_user.code(), "FORBIDDEN");
    let create_key = app
        .gql(
            Some(&manager.access_token),
            "mutation { createApiKey(input: { name: \"k\", scopes: [READ] }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(create_key.code(), "FORBIDDEN");
    let admin = acme.add_user(&app, "ADMIN").await;
    let grant_owner = app
        .gql(
            Some(&admin.access_token),
            "mutation($input: UpdateUserRoleInput!) { updateUserRole(input: $input) { user { role } } }",
            json!({ "input": { "id": manager.user_id, "role": "OWNER" } }),
        )
        .await;
    assert_eq!(grant_owner.code(), "FORBIDDEN");
}

/// `createUser` passwords are hashed before the request's transaction opens (no pooled
/// connection waits on argon2), so the server finds them however the request passes them:
/// written in the document, in a variable inside the input, as a variable's default, under
/// aliases and through a fragment. Each new user signs in with their own password.
#[tokio::test]
async fn passwords_set_by_create_user_are_found_however_they_are_passed() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let user = |alias: &str, password: &str| {
        format!(
            "{alias}: createUser(input: {{ email: \"{alias}@acme.test\", fullName: \"{alias}\", \
             password: {password}, role: AGENT }}) {{ user {{ email }} }}"
        )
    };
    let written = user("written", "\"a password written inline\"");
    let variable = user("variable", "$password");
    let defaulted = user("defaulted", "$fallback");
    let spread = user("spread", "$password");
    let response = app
        .gql(
            acme.token(),
            &format!(
                "mutation($password: String!, $fallback: String = \"a default password here\") {{
                    {written} {variable} {defaulted} ...more
                 }}
                 fragment more on Mutation {{ {spread} }}"
            ),
            json!({ "password": "a password in a variable" }),
        )
        .await;
    for alias in ["written", "variable", "defaulted", "spread"] {
        assert_eq!(
            response.at(&format!("/{alias}/user/email")),
            &json!(format!("{alias}@acme.test"))
        );
    }
    for (email, password) in [
        ("written@acme.test", "a password written inline"),
        ("variable@acme.test", "a password in a variable"),
        ("defaulted@acme.test", "a default password here"),
        ("spread@acme.test", "a password in a variable"),
    ] {
        let login = app.login("acme", email, password).await;
        assert!(login.at("/login/accessToken").is_string(), "{email}");
    }

    // A password the rules refuse is refused by name, not as a fault, and changes nothing.
    let short = app
        .gql(
            acme.token(),
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
            json!({ "input": { "email": "short@acme.test", "fullName": "S", "password": "short", "role": "AGENT" } }),
        )
        .await;
    short.assert_bad_input("password");
    assert_eq!(
        app.login("acme", "short@acme.test", "short").await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_read_scoped_api_key_reads_but_cannot_mutate() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    assert_eq!(
        app.gql(Some(&key), "{ leads { totalCount } }", json!({}))
            .await
            .at("/leads/totalCount"),
        0
    );
    let write = app
        .gql(
            Some(&key),
            CREATE_COMPANY,
            json!({ "input": { "name": "X" } }),
        )
        .await;
    assert_eq!(write.code(), "FORBIDDEN");
}

#[tokio::test]
async fn api_keys_work_from_the_x_api_key_header_and_record_their_use() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ", "WRITE"]).await;
    for _ in 0..2 {
        let response = app
            .http()
            .post(app.url("/graphql"))
            .header("x-api-key", &key)
            .json(&json!({ "query": "{ organization { slug } }" }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["data"]["organization"]["slug"], "acme");
    }
    // Uses are counted in memory and written every API_KEY_USAGE_FLUSH_MS (50 in tests).
    let mut keys = None;
    for _ in 0..100 {
        let listed = app
            .gql(
                acme.token(),
                "{ apiKeys { nodes { usageCount lastUsedAt prefix } } }",
                json!({}),
            )
            .await;
        if listed.at("/apiKeys/nodes/0/usageCount") == "2" {
            keys = Some(listed);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let keys = keys.expect("the two uses are written");
    // A BigInt: a decimal string, exact beyond 2^53.
    assert_eq!(keys.at("/apiKeys/nodes/0/usageCount"), "2");
    assert!(keys.at("/apiKeys/nodes/0/lastUsedAt").is_string());
    assert!(key.contains(keys.at("/apiKeys/nodes/0/prefix").as_str().unwrap()));
}

#[tokio::test]
async fn revoked_and_expired_api_keys_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (revoked_id, revoked) = acme.api_key(&app, &["READ"]).await;
    // Used first: the server now holds the key as verified (API_KEY_CACHE_MS), and must still
    // refuse it the moment it is revoked or expires.
    app.gql(Some(&revoked), ME, json!({})).await.ok();
    app.gql(
        acme.token(),
        "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { revokedAt } } }",
        json!({ "input": { "id": revoked_id } }),
    )
    .await
    .ok();
    assert_eq!(
        app.gql(Some(&revoked), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );

    let (expired_id, expired) = acme.api_key(&app, &["READ"]).await;
    app.gql(Some(&expired), ME, json!({})).await.ok();
    let uuid = crate::support::tenant::uuid_of(&expired_id);
    app.owner_sql(
        acme.organization_id,
        &format!(
            "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = '{uuid}'"
        ),
    )
    .await;
    assert_eq!(
        app.gql(Some(&expired), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.gql(Some("lg_0123456789ab_forged"), ME, json!({}))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
}

/// A key verified moments ago is not looked up again: its next request costs one statement
/// fewer (no `auth_api_key`), while the transaction still confirms the key.
#[tokio::test]
async fn a_key_verified_lately_skips_the_lookup() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    let mut costs = Vec::new();
    for _ in 0..3 {
        let before = app.statements();
        app.gql(Some(&key), ME, json!({})).await.ok();
        costs.push(app.statements() - before);
    }
    assert_eq!(costs[1] + 1, costs[0], "{costs:?}");
    assert_eq!(costs[2], costs[1], "{costs:?}");
}

#[tokio::test]
async fn api_keys_cannot_mint_api_keys() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ", "WRITE"]).await;
    let response = app
        .gql(
            Some(&key),
            "mutation { createApiKey(input: { name: \"k\", scopes: [READ] }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(response.code(), "FORBIDDEN");
}

#[tokio::test]
async fn every_mutation_writes_an_audit_row_in_its_transaction() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    acme.create_company(&app, "Initech").await;
    let logs = app
        .gql(acme.token(), "{ auditLogs(first: 10) { nodes { action resourceType ipAddress actor { email } changes } } }", json!({}))
        .await;
    let nodes = logs.at("/auditLogs/nodes").as_array().unwrap();
    assert_eq!(nodes[0]["action"], "company.create");
    assert_eq!(nodes[0]["actor"]["email"], "owner@acme.test");
    assert_eq!(nodes[0]["ipAddress"], "127.0.0.1");
    assert_eq!(nodes[0]["changes"]["name"], "Initech");
    assert!(nodes.iter().any(|n| n["action"] == "organization.sign_up"));
}
