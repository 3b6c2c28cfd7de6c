//! Schema migrations: tables, Row Level Security policies, grants, triggers and the narrow
//! pre-authentication functions. Everything tenant-related follows the rules in
//! docs/architecture.md ("Tenancy and RLS"); `rls::tenant_table` writes the per-table part once.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_tenancy;
mod m20261121_000002_identity;
mod m20261121_000003_crm;
mod m20261121_000004_auth_functions;
mod m20261122_000005_lead_events;
mod m20261122_000006_webhooks;
mod m20261204_000007_hardening;
mod m20261204_000008_sign_in_throttle;
mod m20261204_000009_shared_rate_limits;
mod m20261204_000010_webhook_backlog;
mod m20261204_000011_list_indexes;
mod m20261204_000012_money;
mod m20261204_000013_commit_positions;
mod m20261204_000014_generic_events;
mod m20261204_000015_api_key_usage;
mod m20261204_000016_follow_ups;
mod m20261204_000017_lead_assignments;
mod m20261204_000018_lead_auto_assignment;
mod m20261205_000019_pipeline_and_deals;
mod m20261205_000020_campaigns;
mod m20261205_000021_segments;
mod m20261205_000022_lead_scoring;
mod m20261205_000023_scoring_jobs;
mod m20261205_000024_request_principal;
mod m20261205_000025_principal_generic_plans;
mod m20261205_000026_prepared_principal_checks;
mod m20261205_000027_principal_notifications;
mod m20261206_000028_principal_notifications_always;
mod m20261206_000029_events_numbered_by_transaction;
pub mod rls;

/// Roles the schema grants to. `leadgraph db-init` creates them; see README "Database roles".
pub mod roles {
    /// Owns every table and runs migrations. Subject to RLS too (FORCE).
    pub const OWNER: &str = "leadgraph_owner";
    /// What the server connects as: NOSUPERUSER, NOBYPASSRLS, owns nothing.
    pub const APP: &str = "leadgraph_app";
    /// NOLOGIN, BYPASSRLS; owns only the narrow SECURITY DEFINER functions that must work
    /// across tenants: the pre-authentication lookups, event retention and finding the
    /// organizations whose webhooks have work.
    pub const AUTH: &str = "leadgraph_auth";
}

/// Every SECURITY DEFINER function that runs as [`roles::AUTH`] (BYPASSRLS), as the migrations
/// leave them: `search_path = pg_catalog, pg_temp`, EXECUTE for [`roles::APP`] only. Any other
/// SECURITY DEFINER function belongs to [`roles::OWNER`] (which FORCE keeps under the tenant
/// policies) and nobody else may execute it. The server's start-up self-check refuses a
/// database where either differs, so a migration adding such a function lists it here.
pub const BYPASSRLS_FUNCTIONS: [&str; 11] = [
    "auth_login_candidate(text, text)",
    "auth_api_key(text, text)",
    "auth_rotate_refresh_token(text, text, timestamptz)",
    "prune_events(interval)",
    "webhook_tenants_with_work(integer)",
    "lead_search_ids(text, boolean)",
    "auth_sign_in_attempt(text, text, integer, integer, interval, interval)",
    "auth_sign_in_succeeded(text, text)",
    "rate_limit_sync(uuid, interval, text[], bigint[], boolean[], bigint[], bigint[])",
    "webhook_backlog()",
    "scoring_tenants_with_work(integer)",
];

/// The `search_path` each kind of SECURITY DEFINER function is pinned to: the BYPASSRLS ones
/// name every object by schema; the owner's trigger functions resolve `public` tables.
pub mod definer_search_path {
    pub const BYPASSRLS: &str = "pg_catalog, pg_temp";
    pub const OWNER: &str = "public, pg_temp";
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_tenancy::Migration),
            Box::new(m20261121_000002_identity::Migration),
            Box::new(m20261121_000003_crm::Migration),
            Box::new(m20261121_000004_auth_functions::Migration),
            Box::new(m20261122_000005_lead_events::Migration),
            Box::new(m20261122_000006_webhooks::Migration),
            Box::new(m20261204_000007_hardening::Migration),
            Box::new(m20261204_000008_sign_in_throttle::Migration),
            Box::new(m20261204_000009_shared_rate_limits::Migration),
            Box::new(m20261204_000010_webhook_backlog::Migration),
            Box::new(m20261204_000011_list_indexes::Migration),
            Box::new(m20261204_000012_money::Migration),
            Box::new(m20261204_000013_commit_positions::Migration),
            Box::new(m20261204_000014_generic_events::Migration),
            Box::new(m20261204_000015_api_key_usage::Migration),
            Box::new(m20261204_000016_follow_ups::Migration),
            Box::new(m20261204_000017_lead_assignments::Migration),
            Box::new(m20261204_000018_lead_auto_assignment::Migration),
            Box::new(m20261205_000019_pipeline_and_deals::Migration),
            Box::new(m20261205_000020_campaigns::Migration),
            Box::new(m20261205_000021_segments::Migration),
            Box::new(m20261205_000022_lead_scoring::Migration),
            Box::new(m20261205_000023_scoring_jobs::Migration),
            Box::new(m20261205_000024_request_principal::Migration),
            Box::new(m20261205_000025_principal_generic_plans::Migration),
            Box::new(m20261205_000026_prepared_principal_checks::Migration),
            Box::new(m20261205_000027_principal_notifications::Migration),
            Box::new(m20261206_000028_principal_notifications_always::Migration),
            Box::new(m20261206_000029_events_numbered_by_transaction::Migration),
        ]
    }
}

/// Hands `functions` (SECURITY DEFINER, by signature) to the BYPASSRLS `leadgraph_auth` role,
/// which owns nothing else, and lets only the app role call them.
pub(crate) fn cross_tenant_functions(functions: &[&str]) -> String {
    let (app, auth) = (roles::APP, roles::AUTH);
    // Ownership needs CREATE on the schema for a moment; the auth role keeps none.
    let mut sql = format!("GRANT CREATE ON SCHEMA public TO {auth};\n");
    for function in functions {
        sql.push_str(&format!(
            "ALTER FUNCTION {function} OWNER TO {auth};\n\
             REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC;\n\
             GRANT EXECUTE ON FUNCTION {function} TO {app};\n"
        ));
    }
    sql.push_str(&format!("REVOKE CREATE ON SCHEMA public FROM {auth};\n"));
    sql
}

/// The `MigrationTrait` of a migration that is two scripts: `$up`, and `$down` undoing it.
macro_rules! script_migration {
    ($up:expr, $down:expr) => {
        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::run_sql(manager, $up).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::run_sql(manager, $down).await
            }
        }
    };
}
pub(crate) use script_migration;

/// Makes a tenant table evented (see `m20261204_000014_generic_events`): its inserts, updates
/// and deletes append events of `subject_type` in the same statement. `kinds` is a JSON object
/// naming the kind a column's change signals (`{"status": "status_changed"}`); any other
/// changed column makes an `updated` event. The table needs `id` and `created_at` columns.
pub(crate) fn evented_table(table: &str, subject_type: &str, kinds: &str) -> String {
    let record = format!("EXECUTE FUNCTION record_events('{subject_type}', '{kinds}')");
    format!(
        "CREATE TRIGGER {table}_record_insert AFTER INSERT ON {table}
             REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT {record};
         CREATE TRIGGER {table}_record_update AFTER UPDATE ON {table}
             REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT {record};
         CREATE TRIGGER {table}_record_delete AFTER DELETE ON {table}
             REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT {record};\n"
    )
}

/// Runs a migration's SQL script as one unprepared batch.
pub(crate) async fn run_sql(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}
