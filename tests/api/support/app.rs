//! `TestApp`: the real server, on its own database, on a loopback port.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use leadgraph::{
    config::{Config, Secret},
    db,
    events::EventFeed,
    metrics::Metrics,
    server,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Gql,
    db::{TestDb, app_url, owner_url},
};

pub const JWT_SECRET: &str = "test-signing-key-test-signing-key-0123456789";

pub struct TestApp {
    pub addr: SocketAddr,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub events: EventFeed,
    // Dropped last: the database outlives the server's connections.
    pub db: Arc<TestDb>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose configuration `configure` may change first (limits, timeouts).
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::start(Arc::new(TestDb::create().await), configure).await
    }

    /// A server reaching its database through `proxy` (see `support::proxy`), `configure`d
    /// further.
    pub async fn spawn_behind(
        proxy: &super::proxy::Proxy,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        Self::spawn_with(|config| {
            proxy.route(config);
            configure(config);
        })
        .await
    }

    /// A server on a database of a test's own PostgreSQL server (see `support::private_pg`).
    pub async fn spawn_on(db: TestDb, configure: impl FnOnce(&mut Config)) -> Self {
        Self::start(Arc::new(db), configure).await
    }

    /// Another server process on the same database (a replica, or this one restarted).
    pub async fn replica(&self) -> Self {
        self.replica_with(|_| {}).await
    }

    /// A replica whose configuration `configure` may change first.
    pub async fn replica_with(&self, configure: impl FnOnce(&mut Config)) -> Self {
        Self::start(self.db.clone(), configure).await
    }

    async fn start(db: Arc<TestDb>, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Self::config_for_db(&db);
        configure(&mut config);
        let app = server::prepare(&config).await.expect("server start-up");
        let metrics = app.metrics.clone();
        let listener = server::listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let events = app.events.clone();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(
            listener,
            app,
            async {
                let _ = stop.await;
            },
            Duration::from_secs(5),
        ));
        Self {
            addr,
            client: reqwest::Client::new(),
            metrics,
            shutdown: Some(shutdown),
            server: Some(server),
            events,
            db,
        }
    }

    /// The configuration a test server gets: the test database (on the shared server), the
    /// fixed roles.
    pub fn config_for(database: &str) -> Config {
        Self::configure(app_url(database), owner_url(database))
    }

    fn config_for_db(db: &TestDb) -> Config {
        Self::configure(db.app_url(), db.owner_url())
    }

    fn configure(app_url: String, owner_url: String) -> Config {
        let vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", app_url),
            ("MIGRATION_DATABASE_URL", owner_url),
            ("JWT_SECRET", JWT_SECRET.to_owned()),
            ("DB_POOL_SIZE", "4".to_owned()),
            // Receivers in tests listen on loopback; the SSRF tests turn this off again.
            ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true".to_owned()),
            // Quick retries; the worker still polls at its default pace (new events wake it),
            // so idle servers of other tests add little load.
            ("WEBHOOK_RETRY_BASE_MS", "100".to_owned()),
            // API keys' uses are written soon after, for the tests that read them.
            ("API_KEY_USAGE_FLUSH_MS", "50".to_owned()),
            // Every request checks its principal, so that statement counts are exact; the
            // cache's own tests (`principal_cache`) turn it on.
            ("PRINCIPAL_CACHE_MS", "0".to_owned()),
        ]);
        Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration")
    }

    /// Sends the shutdown signal; the handle resolves when the server has stopped.
    pub fn shut_down(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.take().expect("server running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// POSTs a GraphQL request, with a bearer credential when given.
    pub async fn gql(&self, credential: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        let response = request.send().await.expect("request");
        Gql {
            body: response.json().await.expect("JSON response"),
        }
    }

    /// SQL statements the server's requests and subscriptions have run so far (in and out of
    /// transactions; BEGIN and COMMIT are not counted; background jobs have their own
    /// connections).
    pub fn statements(&self) -> usize {
        self.metrics.statements_total() as usize
    }

    /// The app role's URL for this test's database.
    pub fn app_url(&self) -> String {
        self.db.app_url()
    }

    /// A connection as the app role, for raw-SQL isolation tests.
    pub async fn app_db(&self) -> DatabaseConnection {
        db::connect(&Secret::new(self.db.app_url()), 2)
            .await
            .expect("connect as app")
    }

    /// A superuser connection to this test's database: for what only it may see (other
    /// roles' activity in `pg_stat_activity`).
    pub async fn admin_db(&self) -> DatabaseConnection {
        db::connect(&Secret::new(self.db.admin_url()), 1)
            .await
            .expect("connect as admin")
    }

    /// A connection as the owner role (which RLS binds too: FORCE).
    pub async fn owner_db(&self) -> DatabaseConnection {
        db::connect(&Secret::new(self.db.owner_url()), 1)
            .await
            .expect("connect as owner")
    }

    /// Runs statements as the owner inside one transaction with `organization` as tenant:
    /// how tests arrange states the API does not offer (an expired key, a broken column).
    pub async fn owner_sql(&self, organization: Uuid, sql: &str) {
        let owner = self.owner_db().await;
        let script = format!(
            "BEGIN; SELECT set_config('app.current_organization_id', '{organization}', true); {sql}; COMMIT;"
        );
        owner
            .execute_unprepared(&script)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        owner.close().await.ok();
    }

    /// All rows of `table` belonging to `organization`, as JSON, in a stable order: to prove a
    /// tenant's data is unchanged.
    pub async fn snapshot(&self, organization: Uuid, table: &str) -> Vec<Value> {
        let owner = self.owner_db().await;
        let key = if table == "organizations" {
            "id"
        } else {
            "organization_id"
        };
        let sql = format!(
            "BEGIN; SELECT set_config('app.current_organization_id', '{organization}', true); \
             CREATE TEMP TABLE snap ON COMMIT DROP AS \
               SELECT to_jsonb(t)::text AS row FROM {table} t WHERE {key} = '{organization}'; "
        );
        owner.execute_unprepared(&sql).await.unwrap();
        let rows = owner
            .query_all_raw(Statement::from_string(
                owner.get_database_backend(),
                "SELECT row FROM snap ORDER BY row",
            ))
            .await
            .unwrap();
        owner.execute_unprepared("COMMIT").await.unwrap();
        owner.close().await.ok();
        rows.iter()
            .map(|r| serde_json::from_str(&r.try_get_by_index::<String>(0).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
