//! The server refuses to serve when the database would not enforce isolation.

use leadgraph::{server, tenancy::SelfCheckError};

use sea_orm::ConnectionTrait;

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

/// Runs `sql` as the superuser on the test database `database`.
async fn admin_sql(database: &str, sql: &str) {
    let admin = admin_url();
    let url = format!("{}/{database}", admin.rsplit_once('/').unwrap().0);
    let db = leadgraph::db::connect(&leadgraph::config::Secret::new(url), 1)
        .await
        .expect("connect as admin");
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db.close().await.ok();
}

/// What the self-check says once the superuser has run `sql` on a fresh test database.
async fn refusal_after_admin(sql: &str) -> server::StartupError {
    let app = TestApp::spawn().await;
    admin_sql(&app.db.name, sql).await;
    server::prepare(&TestApp::config_for(&app.db.name))
        .await
        .err()
        .expect("must refuse")
}

/// Roles are shared by the whole cluster (and every concurrent test): each test makes its
/// own, named after its database, and drops them when done.
struct ScratchRoles {
    names: Vec<String>,
}

impl Drop for ScratchRoles {
    fn drop(&mut self) {
        let names = self.names.join(", ");
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(admin_sql(
                    "postgres",
                    &format!("DROP ROLE IF EXISTS {names}"),
                ))
        })
        .join()
        .ok();
    }
}

/// A login role that has the app role's rights and is a member, through `chain` (roles made
/// with the given attributes, outermost first), of a privileged role; start-up as it.
async fn refusal_as_member_of(chain: &[&str]) -> server::StartupError {
    let app = TestApp::spawn().await;
    let login = format!("{}_login", app.db.name);
    let mut roles = ScratchRoles {
        names: vec![login.clone()],
    };
    let mut sql = format!(
        "CREATE ROLE {login} LOGIN PASSWORD 'scratch' IN ROLE {};",
        migration::roles::APP
    );
    let mut member = login.clone();
    for (i, attributes) in chain.iter().enumerate() {
        let role = format!("{}_r{i}", app.db.name);
        roles.names.insert(0, role.clone());
        sql.push_str(&format!(
            "CREATE ROLE {role} NOLOGIN {attributes}; GRANT {role} TO {member};"
        ));
        member = role;
    }
    admin_sql(&app.db.name, &sql).await;
    let mut config = TestApp::config_for(&app.db.name);
    let admin = admin_url();
    let host = admin
        .rsplit_once('@')
        .unwrap()
        .1
        .rsplit_once('/')
        .unwrap()
        .0;
    config.database_url = leadgraph::config::Secret::new(format!(
        "postgres://{login}:scratch@{host}/{}",
        app.db.name
    ));
    let err = server::prepare(&config).await.err().expect("must refuse");
    drop(roles);
    err
}

#[tokio::test]
async fn the_server_refuses_to_start_as_a_member_of_a_bypassrls_role_even_indirectly() {
    let err = refusal_as_member_of(&["NOBYPASSRLS", "BYPASSRLS"]).await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::MemberOfPrivilegedRole { privileged, .. })
                if privileged.ends_with("_r1")
        ),
        "{err}"
    );
    assert!(err.to_string().contains("SET ROLE"), "{err}");
}

#[tokio::test]
async fn the_server_refuses_to_start_as_a_member_of_a_superuser_role() {
    let err = refusal_as_member_of(&["SUPERUSER"]).await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::MemberOfPrivilegedRole { privileged, .. })
                if privileged.ends_with("_r0")
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_with_a_permissive_policy_the_migrations_did_not_write() {
    let err = refusal_after("CREATE POLICY leads_reporting ON leads FOR SELECT USING (true)").await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::UnexpectedPolicy { table, policy, .. })
                if table == "leads" && policy == "leads_reporting"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("leads_reporting"), "{err}");
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_policy_loses_its_tenant_condition() {
    let err = refusal_after(
        "ALTER POLICY lead_notes_select ON lead_notes
             USING (organization_id = current_organization_id() OR NOT is_private)",
    )
    .await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::UnexpectedPolicy { policy, .. })
                if policy == "lead_notes_select"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("tenant condition"), "{err}");
}

#[tokio::test]
async fn a_restrictive_policy_is_no_reason_to_refuse() {
    let app = TestApp::spawn().await;
    app.owner_sql(
        uuid::Uuid::nil(),
        "CREATE POLICY leads_business_hours ON leads AS RESTRICTIVE FOR SELECT USING (true)",
    )
    .await;
    server::prepare(&TestApp::config_for(&app.db.name))
        .await
        .expect("restrictive policies only narrow what the tenant policies allow");
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_definer_function_changes_owner() {
    let err =
        refusal_after_admin("ALTER FUNCTION prune_events(interval) OWNER TO CURRENT_USER").await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::DefinerOwner { function, found, expected })
                if function == "prune_events(interval)" && found != expected
                    && *expected == migration::roles::AUTH
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_with_a_superuser_definer_function() {
    let err = refusal_after_admin(
        "CREATE FUNCTION all_leads() RETURNS bigint LANGUAGE sql SECURITY DEFINER
             SET search_path = pg_catalog, pg_temp AS 'SELECT count(*) FROM public.leads'",
    )
    .await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::DefinerOwner { function, .. })
                if function == "all_leads()"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_definer_function_is_executable_by_public() {
    let err =
        refusal_after("GRANT EXECUTE ON FUNCTION auth_login_candidate(text, text) TO PUBLIC").await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::DefinerAcl { function, found, .. })
                if function == "auth_login_candidate(text,text)" && found.contains("PUBLIC")
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_when_the_app_role_may_run_an_owner_definer_function() {
    let err = refusal_after(
        "GRANT EXECUTE ON FUNCTION append_events(uuid, event_draft[]) TO leadgraph_app",
    )
    .await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::DefinerAcl { found, .. })
                if found == "leadgraph_app"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_definer_function_search_path_changes() {
    let err = refusal_after(
        "ALTER FUNCTION webhook_tenants_with_work(integer) SET search_path = public, pg_catalog",
    )
    .await;
    assert!(
        matches!(
            &err,
            server::StartupError::SelfCheck(SelfCheckError::DefinerSearchPath { function, .. })
                if function == "webhook_tenants_with_work(integer)"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("search_path"), "{err}");
}

/// Why `prepare` refuses `config`, as the operator reads it.
async fn startup_refusal(config: &leadgraph::config::Config) -> server::StartupError {
    server::prepare(config).await.err().expect("must refuse")
}

#[tokio::test]
async fn an_unreachable_database_is_named_by_its_address_once() {
    let port = {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        unused.local_addr().unwrap().port()
    };
    let mut config = TestApp::config_for("leadgraph");
    config.database_url = leadgraph::config::Secret::new(format!(
        "postgres://leadgraph_app:secret@127.0.0.1:{port}/leadgraph"
    ));
    let err = startup_refusal(&config).await;
    assert_eq!(
        format!("{:#}", anyhow::Error::from(err)),
        format!("DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused")
    );
}

#[tokio::test]
async fn a_missing_database_says_to_run_db_init() {
    let err = startup_refusal(&TestApp::config_for("lg_no_such_database")).await;
    assert_eq!(
        format!("{:#}", anyhow::Error::from(err)),
        "DATABASE_URL: database \"lg_no_such_database\" does not exist: run `leadgraph db-init` \
         (scripts/demo.sh does)"
    );
}

#[tokio::test]
async fn a_database_behind_on_migrations_says_to_migrate_first() {
    let app = TestApp::spawn().await;
    app.owner_sql(
        uuid::Uuid::nil(),
        "DELETE FROM seaql_migrations WHERE version = (SELECT max(version) FROM seaql_migrations)",
    )
    .await;
    let err = startup_refusal(&TestApp::config_for(&app.db.name)).await;
    assert!(matches!(err, server::StartupError::NotMigrated(_)), "{err}");
    let message = err.to_string();
    assert!(message.contains("1 migration(s) pending"), "{message}");
    assert!(
        message.ends_with("run `leadgraph migrate up` first"),
        "{message}"
    );
}
