//! The server refuses to serve when the database would not enforce isolation.

use leadgraph::{server, tenancy::SelfCheckError};

use crate::support::{TestApp, admin_url};

#[tokio::test]
async fn the_server_refuses_to_start_as_a_superuser() {
    let app = TestApp::spawn().await;
    let mut config = TestApp::config_for(&app.db.name);
    let admin = admin_url();
    let superuser = format!("{}/{}", admin.rsplit_once('/').unwrap().0, app.db.name);
    config.database_url = leadgraph::config::Secret::new(superuser);
    let err = server::prepare(&config)
        .await
        .err()
        .expect("a superuser must be refused");
    assert!(
        matches!(
            err,
            server::StartupError::SelfCheck(SelfCheckError::Superuser(_))
        ),
        "{err}"
    );
    assert!(err.to_string().contains("superuser"));
}

/// What the self-check says once the owner has run `sql` on a fresh test database.
async fn refusal_after(sql: &str) -> server::StartupError {
    let app = TestApp::spawn().await;
    app.owner_sql(uuid::Uuid::nil(), sql).await;
    server::prepare(&TestApp::config_for(&app.db.name))
        .await
        .err()
        .expect("must refuse")
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_table_has_rls_not_forced() {
    let err = refusal_after("ALTER TABLE leads NO FORCE ROW LEVEL SECURITY").await;
    assert!(
        matches!(&err, server::StartupError::SelfCheck(SelfCheckError::RlsNotForced(t)) if t == "leads"),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_table_has_rls_disabled() {
    let err = refusal_after("ALTER TABLE companies DISABLE ROW LEVEL SECURITY").await;
    assert!(
        matches!(&err, server::StartupError::SelfCheck(SelfCheckError::RlsDisabled(t)) if t == "companies"),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_as_the_table_owner() {
    let app = TestApp::spawn().await;
    let mut config = TestApp::config_for(&app.db.name);
    config.database_url = leadgraph::config::Secret::new(crate::support::owner_url(&app.db.name));
    let err = server::prepare(&config).await.err().expect("must refuse");
    assert!(
        matches!(
            err,
            server::StartupError::SelfCheck(SelfCheckError::OwnsTable { .. })
        ),
        "{err}"
    );
}
