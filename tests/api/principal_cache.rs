//! Principals confirmed lately are kept in memory (`PRINCIPAL_CACHE_MS`), so that a request
//! opens its transaction without the principal check; and whatever ends or changes a principal
//! (logout, revocation, deactivation, a role change), wherever it is written, holds for the
//! next request all the same.

use std::time::Duration;

use leadgraph::events::LISTENER_NAME;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::support::{
    Gql, TestApp,
    proxy::Proxy,
    scalar,
    tenant::{Session, Tenant},
};

const ME: &str = "{ me { email role } }";
/// OWNER and ADMIN only: what a demoted admin no longer reads.
const API_KEYS: &str = "{ apiKeys(first: 1) { nodes { id } } }";

/// A server keeping principals long enough that only a forgetting can end an entry.
async fn caching_app() -> TestApp {
    TestApp::spawn_with(|config| config.limits.principal_cache = Duration::from_secs(600)).await
}

/// `me` and the statements it cost: one (the user) when the principal was kept, two with the
/// principal check.
async fn me(app: &TestApp, credential: &str) -> (Gql, usize) {
    let before = app.statements();
    let response = app.gql(Some(credential), ME, json!({})).await;
    (response, app.statements() - before)
}

/// Requests `me` until the principal is kept (the LISTEN connection comes up after start-up);
/// the answer is right throughout.
async fn until_kept(app: &TestApp, credential: &str, email: &str) {
    for _ in 0..500 {
        let (response, statements) = me(app, credential).await;
        assert_eq!(response.at("/me/email"), email);
        if statements == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the principal was never kept");
}

/// Requests until `refused` says the change shows, for at most 10 s: far less than the
/// cache's time, so only a forgetting can make it show.
async fn until_shown(app: &TestApp, credential: &str, query: &str, code: &str) {
    for _ in 0..1000 {
        let response = app.gql(Some(credential), query, json!({})).await;
        if response.body.get("errors").is_some() {
            assert_eq!(response.code(), code);
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{query} still answered, not {code}");
}

#[tokio::test]
async fn a_principal_confirmed_lately_opens_its_transaction_without_the_check() {
    let app = caching_app().await;
    let acme = app.sign_up("acme").await;
    until_kept(&app, &acme.owner.access_token, &acme.owner.email).await;
    for _ in 0..3 {
        let (response, statements) = me(&app, &acme.owner.access_token).await;
        assert_eq!(response.at("/me/role"), "OWNER");
        assert_eq!(statements, 1);
    }
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    until_kept(&app, &key, &acme.owner.email).await;

    // Off (the test servers' default): every request is checked.
    let checking = TestApp::spawn().await;
    let initech = checking.sign_up("initech").await;
    for _ in 0..3 {
        assert_eq!(me(&checking, &initech.owner.access_token).await.1, 2);
    }
}

#[tokio::test]
async fn changes_made_through_this_server_hold_for_the_very_next_request() {
    let app = caching_app().await;
    let acme = app.sign_up("acme").await;
    let admin = acme.add_user(&app, "ADMIN").await;
    let admin_tenant = Tenant {
        owner: admin.clone(),
        ..acme.clone()
    };
    let (key_id, key) = acme.api_key(&app, &["READ"]).await;
    let (_, admins_key) = admin_tenant.api_key(&app, &["READ"]).await;
    for (credential, email) in [
        (&admin.access_token, &admin.email),
        (&key, &acme.owner.email),
        (&admins_key, &admin.email),
        (&acme.owner.access_token, &acme.owner.email),
    ] {
        until_kept(&app, credential, email).await;
    }

    // A role change: the admin's next request reads as an agent.
    app.gql(
        acme.token(),
        "mutation($input: UpdateUserRoleInput!) { updateUserRole(input: $input) { user { role } } }",
        json!({ "input": { "id": admin.user_id, "role": "AGENT" } }),
    )
    .await
    .ok();
    let demoted = app
        .gql(Some(&admin.access_token), API_KEYS, json!({}))
        .await;
    assert_eq!(demoted.code(), "FORBIDDEN");
    assert_eq!(
        app.gql(Some(&admin.access_token), ME, json!({}))
            .await
            .at("/me/role"),
        "AGENT"
    );

    // A revoked key.
    app.gql(
        acme.token(),
        "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { revokedAt } } }",
        json!({ "input": { "id": key_id } }),
    )
    .await
    .ok();
    assert_eq!(
        app.gql(Some(&key), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );

    // A deactivated user: their session and their key.
    app.gql(
        acme.token(),
        "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { user { isActive } } }",
        json!({ "input": { "id": admin.user_id } }),
    )
    .await
    .ok();
    for credential in [&admin.access_token, &admins_key] {
        assert_eq!(
            app.gql(Some(credential), ME, json!({})).await.code(),
            "UNAUTHENTICATED"
        );
    }

    // A logout.
    app.gql(acme.token(), "mutation { logout { success } }", json!({}))
        .await
        .ok();
    assert_eq!(
        app.gql(acme.token(), ME, json!({})).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn changes_written_elsewhere_reach_every_server_through_the_database() {
    let app = caching_app().await;
    let acme = app.sign_up("acme").await;
    let admin = acme.add_user(&app, "ADMIN").await;
    let agent = acme.add_user(&app, "AGENT").await;
    let (key_id, key) = acme.api_key(&app, &["READ"]).await;
    for (credential, email) in [
        (&admin.access_token, &admin.email),
        (&agent.access_token, &agent.email),
        (&key, &acme.owner.email),
    ] {
        until_kept(&app, credential, email).await;
    }
    let uuid = |id: &str| crate::support::tenant::uuid_of(id);

    // Written in SQL, as a script or an operator would: no request of this server's saw it.
    app.owner_sql(
        acme.organization_id,
        &format!(
            "UPDATE users SET role = 'agent' WHERE id = '{}'",
            uuid(&admin.user_id)
        ),
    )
    .await;
    until_shown(&app, &admin.access_token, API_KEYS, "FORBIDDEN").await;
    // Only that user was forgotten.
    assert_eq!(me(&app, &agent.access_token).await.1, 1);

    app.owner_sql(
        acme.organization_id,
        &format!(
            "UPDATE api_keys SET revoked_at = now() WHERE id = '{}'",
            uuid(&key_id)
        ),
    )
    .await;
    until_shown(&app, &key, ME, "UNAUTHENTICATED").await;

    // Through another server: its request forgets on that server; this one hears it.
    let replica = app.replica().await;
    replica
        .gql(
            acme.token(),
            "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { user { isActive } } }",
            json!({ "input": { "id": agent.user_id } }),
        )
        .await
        .ok();
    until_shown(&app, &agent.access_token, ME, "UNAUTHENTICATED").await;
}

/// A caching server and an ADMIN of a new organization whose principal it keeps.
async fn an_admin_kept() -> (TestApp, Session) {
    let app = caching_app().await;
    let acme = app.sign_up("acme").await;
    let admin = acme.add_user(&app, "ADMIN").await;
    until_kept(&app, &admin.access_token, &admin.email).await;
    (app, admin)
}

/// The statement that makes `admin` an agent, written in SQL by a superuser (no server's
/// request sees it).
fn demoted(admin: &Session) -> String {
    format!(
        "UPDATE users SET role = 'agent' WHERE id = '{}'",
        crate::support::tenant::uuid_of(&admin.user_id)
    )
}

#[tokio::test]
async fn nothing_kept_survives_a_lost_listener_connection() {
    let (app, admin) = an_admin_kept().await;

    // The server's LISTEN connection goes and cannot come back (only superusers may connect)
    // until a change has been made: its notification reaches nobody.
    let superuser = app.admin_db().await;
    let run = async |sql: String| {
        superuser
            .execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let database = &app.db.name;
    run(format!("ALTER DATABASE {database} CONNECTION LIMIT 0")).await;
    let terminated = scalar(
        &superuser,
        format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = '{LISTENER_NAME}'"
        ),
    )
    .await;
    assert_eq!(terminated, 1, "the server listens on one connection");
    // Until the server notices, what it keeps may still be used (the cache's time bounds
    // that); once it has, every request is checked.
    let mut noticed = false;
    for _ in 0..500 {
        if me(&app, &admin.access_token).await.1 == 2 {
            noticed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        noticed,
        "the server did not notice its lost LISTEN connection"
    );
    run(demoted(&admin)).await;
    run(format!("ALTER DATABASE {database} CONNECTION LIMIT -1")).await;
    // Once the server listens again it keeps principals again, but none from before.
    until_kept(&app, &admin.access_token, &admin.email).await;
    let demoted = app
        .gql(Some(&admin.access_token), API_KEYS, json!({}))
        .await;
    assert_eq!(demoted.code(), "FORBIDDEN");
}

#[tokio::test]
async fn a_listener_connection_that_stops_answering_is_noticed_and_made_again() {
    // Its packets dropped on the way (a NAT or load balancer forgetting an idle flow, a broken
    // route), the LISTEN connection stays open and nothing arrives on it: only asking it tells.
    let proxy = Proxy::start(Duration::ZERO).await;
    let app = TestApp::spawn_behind(&proxy, |config| {
        config.limits.principal_cache = Duration::from_secs(600);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let admin = acme.add_user(&app, "ADMIN").await;
    until_kept(&app, &admin.access_token, &admin.email).await;
    let superuser = app.admin_db().await;
    let port = scalar(
        &superuser,
        format!(
            "SELECT client_port::bigint FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = '{LISTENER_NAME}'"
        ),
    )
    .await;
    proxy.black_hole_connection_from(u16::try_from(port).unwrap());
    // Announced on the lost connection only; shown once the server has noticed the loss.
    superuser
        .execute_unprepared(&demoted(&admin))
        .await
        .unwrap();
    until_shown(&app, &admin.access_token, API_KEYS, "FORBIDDEN").await;
}

#[tokio::test]
async fn a_kept_api_key_stops_at_its_expiry_without_any_change_announced() {
    // The key itself kept as verified as long: only the principal's entry can end it.
    let app = TestApp::spawn_with(|config| {
        config.limits.principal_cache = Duration::from_secs(600);
        config.limits.api_key_cache = Duration::from_secs(600);
    })
    .await;
    let acme = app.sign_up("acme").await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let created = app
        .gql(
            acme.token(),
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
            json!({ "input": { "name": "brief", "scopes": ["READ"], "expiresAt": expires_at } }),
        )
        .await;
    let key = created
        .at("/createApiKey/secret")
        .as_str()
        .unwrap()
        .to_owned();
    until_kept(&app, &key, &acme.owner.email).await;
    // Nothing is written when it expires: its entry ends with it, not after the cache's time.
    until_shown(&app, &key, ME, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn changes_written_as_a_replica_applies_them_still_reach_the_servers() {
    let (app, admin) = an_admin_kept().await;
    // As logical replication or a restore with --disable-triggers writes: ordinary triggers
    // do not fire; the principal notifications are ENABLE ALWAYS.
    let superuser = app.admin_db().await;
    superuser
        .execute_unprepared(&format!(
            "BEGIN; SET LOCAL session_replication_role = replica; {}; COMMIT;",
            demoted(&admin)
        ))
        .await
        .unwrap();
    until_shown(&app, &admin.access_token, API_KEYS, "FORBIDDEN").await;
}
