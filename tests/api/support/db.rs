//! Databases for tests: one template per test process, migrated once; each test clones it
//! (`CREATE DATABASE ... TEMPLATE`, tens of milliseconds) and drops its clone when done.

use std::sync::{
    OnceLock,
    atomic::{AtomicUsize, Ordering},
};

use leadgraph::{config::Secret, db};
use migration::{Migrator, MigratorTrait, roles};
use sea_orm::{ConnectionTrait, Statement};

/// The role passwords of `.env.example`, so tests and the demo agree on the shared roles.
const APP_PASSWORD: &str = "leadgraph_app_dev_password";
const OWNER_PASSWORD: &str = "leadgraph_owner_dev_password";

pub fn admin_url() -> String {
    std::env::var("LEADGRAPH_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `host:port` of the PostgreSQL server the tests use.
pub fn server() -> String {
    let admin = admin_url();
    let host = admin
        .rsplit_once('@')
        .map(|(_, rest)| rest)
        .unwrap_or("127.0.0.1:5432/postgres");
    host.split('/')
        .next()
        .unwrap_or("127.0.0.1:5432")
        .to_owned()
}

pub fn app_url(database: &str) -> String {
    format!(
        "postgres://{}:{APP_PASSWORD}@{}/{database}",
        roles::APP,
        server()
    )
}

pub fn owner_url(database: &str) -> String {
    format!(
        "postgres://{}:{OWNER_PASSWORD}@{}/{database}",
        roles::OWNER,
        server()
    )
}

/// Runs `future` to completion on a runtime of its own: the template outlives any one test's
/// runtime, and drops happen outside async context.
fn block_on<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    })
    .join()
    .expect("database helper thread panicked")
}

async fn admin_exec(sql: String) {
    let admin = db::connect(&Secret::new(admin_url()), 1)
        .await
        .expect("connect as admin");
    admin
        .execute_unprepared(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    admin.close().await.ok();
}

static TEMPLATE: OnceLock<String> = OnceLock::new();

fn template() -> &'static str {
    TEMPLATE.get_or_init(|| block_on(create_template()))
}

async fn create_template() -> String {
    let pid = std::process::id();
    drop_stale_databases().await;
    let name = format!("lg_test_tmpl_{pid}");
    admin_exec(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    db::bootstrap(
        &Secret::new(admin_url()),
        &Secret::new(app_url(&name)),
        &Secret::new(owner_url(&name)),
    )
    .await
    .expect("db-init for the test template");
    let owner = db::connect(&Secret::new(owner_url(&name)), 1)
        .await
        .expect("connect as owner");
    Migrator::up(&owner, None)
        .await
        .expect("migrate the test template");
    owner.close().await.ok();
    name
}

/// Databases left by test runs whose process is gone (e.g. killed), so they do not pile up.
async fn drop_stale_databases() {
    let admin = db::connect(&Secret::new(admin_url()), 1)
        .await
        .expect("connect as admin");
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            r"SELECT datname::text FROM pg_database WHERE datname LIKE 'lg\_test\_%'",
        ))
        .await
        .expect("list test databases");
    for row in rows {
        let name: String = row.try_get_by_index(0).unwrap();
        let pid = name
            .trim_start_matches("lg_test_tmpl_")
            .trim_start_matches("lg_test_");
        let pid = pid.split('_').next().unwrap_or_default();
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .ok();
        }
    }
    admin.close().await.ok();
}

/// A database of its own for one test, dropped with it.
pub struct TestDb {
    pub name: String,
    /// `host:port` of the PostgreSQL server holding it.
    pub server: String,
    /// On the shared server (dropped when the test ends), or on a test's private server.
    shared: bool,
}

impl TestDb {
    pub async fn create() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let template = template();
        let name = format!(
            "lg_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin_exec(format!(
            "CREATE DATABASE {name} TEMPLATE {template} OWNER {}",
            roles::OWNER
        ))
        .await;
        Self {
            name,
            server: server(),
            shared: true,
        }
    }

    /// The database `leadgraph`, created and migrated on a test's private server (a
    /// superuser `postgres` with trust authentication at `server`).
    pub async fn on_private_server(server: &str) -> Self {
        let db = Self {
            name: "leadgraph".into(),
            server: server.to_owned(),
            shared: false,
        };
        db::bootstrap(
            &Secret::new(format!("postgres://postgres@{server}/postgres")),
            &Secret::new(db.app_url()),
            &Secret::new(db.owner_url()),
        )
        .await
        .expect("db-init on the private server");
        let owner = db::connect(&Secret::new(db.owner_url()), 1)
            .await
            .expect("connect as owner");
        Migrator::up(&owner, None)
            .await
            .expect("migrate the private server");
        owner.close().await.ok();
        db
    }

    pub fn app_url(&self) -> String {
        format!(
            "postgres://{}:{APP_PASSWORD}@{}/{}",
            roles::APP,
            self.server,
            self.name
        )
    }

    pub fn owner_url(&self) -> String {
        format!(
            "postgres://{}:{OWNER_PASSWORD}@{}/{}",
            roles::OWNER,
            self.server,
            self.name
        )
    }

    /// A superuser's URL for this database.
    pub fn admin_url(&self) -> String {
        if !self.shared {
            return format!("postgres://postgres@{}/{}", self.server, self.name);
        }
        let admin = admin_url();
        let server = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(server, _)| server);
        format!("{server}/{}", self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.shared {
            return;
        }
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        block_on(admin_exec(sql));
    }
}
