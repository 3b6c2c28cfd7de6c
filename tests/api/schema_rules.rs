//! The tenancy rules of docs/architecture.md, checked over the catalog of a migrated database:
//! every table with an `organization_id` column is covered, so a new table that breaks a rule
//! fails here without anyone listing it. The last test plants a table breaking each rule, so
//! none of the checks can pass by finding nothing.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::support::TestApp;

/// Rows of `sql` (as the superuser on the test database), first column as text.
async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// Tables of the public schema with an `organization_id` column.
const TENANT_TABLES: &str = "
    SELECT c.oid, c.relname FROM pg_class c
    JOIN pg_attribute a
        ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')";

async fn primary_keys_not_led_by_the_tenant(db: &DatabaseConnection) -> Vec<String> {
    let sql = format!(
        "SELECT t.relname::text FROM ({TENANT_TABLES}) t
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_constraint k
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
             WHERE k.conrelid = t.oid AND k.contype = 'p' AND a.attname = 'organization_id')"
    );
    rows(db, &sql).await
}

/// Foreign keys between tenant tables that do not match organization_id with organization_id
/// (only such a key keeps a row from pointing into another tenant).
async fn references_without_the_tenant(db: &DatabaseConnection) -> Vec<String> {
    let sql = format!(
        "SELECT k.conname::text FROM pg_constraint k
         JOIN ({TENANT_TABLES}) src ON src.oid = k.conrelid
         JOIN ({TENANT_TABLES}) dst ON dst.oid = k.confrelid
         WHERE k.contype = 'f' AND NOT EXISTS (
             SELECT 1 FROM unnest(k.conkey, k.confkey) AS pair(src_col, dst_col)
             JOIN pg_attribute s ON s.attrelid = k.conrelid AND s.attnum = pair.src_col
             JOIN pg_attribute d ON d.attrelid = k.confrelid AND d.attnum = pair.dst_col
             WHERE s.attname = 'organization_id' AND d.attname = 'organization_id')"
    );
    rows(db, &sql).await
}

/// Indexes of tenant tables not led by organization_id, unique ones included (uniqueness
/// across tenants would tell one tenant of another's rows), except the few cross-tenant
/// lookups reached only through SECURITY DEFINER functions, which say so in their comment.
async fn indexes_not_led_by_the_tenant(db: &DatabaseConnection) -> Vec<String> {
    let sql = format!(
        "SELECT i.indexrelid::regclass::text FROM pg_index i
         JOIN ({TENANT_TABLES}) t ON t.oid = i.indrelid
         LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE a.attname IS DISTINCT FROM 'organization_id'
           AND coalesce(obj_description(i.indexrelid, 'pg_class'), '')
               NOT LIKE 'Cross-tenant on purpose%'"
    );
    rows(db, &sql).await
}

/// `table: COMMAND` for each tenant table without RLS enabled and forced, or without a
/// permissive policy comparing organization_id with the tenant setting for that command.
async fn tables_without_forced_tenant_policies(db: &DatabaseConnection) -> Vec<String> {
    let sql = format!(
        "SELECT t.relname::text || ': ' || command.name FROM ({TENANT_TABLES}) t
         JOIN pg_class c ON c.oid = t.oid
         CROSS JOIN (VALUES ('SELECT', 'r'), ('INSERT', 'a'), ('UPDATE', 'w'), ('DELETE', 'd'))
             AS command(name, code)
         WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)
            OR NOT EXISTS (
                SELECT 1 FROM pg_policy p
                WHERE p.polrelid = t.oid AND p.polcmd IN (command.code, '*') AND p.polpermissive
                  AND coalesce(pg_get_expr(p.polqual, p.polrelid),
                               pg_get_expr(p.polwithcheck, p.polrelid))
                      LIKE '%organization_id = current_organization_id()%')"
    );
    rows(db, &sql).await
}

async fn catalog() -> (TestApp, DatabaseConnection) {
    let app = TestApp::spawn().await;
    let db = app.admin_db().await;
    (app, db)
}

#[tokio::test]
async fn the_migrated_schema_follows_every_tenancy_rule() {
    let (_app, db) = catalog().await;
    let tables = rows(
        &db,
        &format!("SELECT relname::text FROM ({TENANT_TABLES}) t"),
    )
    .await;
    assert!(tables.len() >= 13, "tenant tables found: {tables:?}");
    let found = primary_keys_not_led_by_the_tenant(&db).await;
    assert!(
        found.is_empty(),
        "primary key not led by organization_id: {found:?}"
    );
    let found = references_without_the_tenant(&db).await;
    assert!(
        found.is_empty(),
        "foreign keys without the tenant: {found:?}"
    );
    let found = indexes_not_led_by_the_tenant(&db).await;
    assert!(
        found.is_empty(),
        "indexes not led by organization_id: {found:?}"
    );
    let found = tables_without_forced_tenant_policies(&db).await;
    assert!(
        found.is_empty(),
        "without forced RLS and tenant policies: {found:?}"
    );
}

#[tokio::test]
async fn the_rules_catch_a_table_that_breaks_them() {
    let (_app, db) = catalog().await;
    db.execute_unprepared(
        "CREATE UNIQUE INDEX leads_id_alone ON leads (id);
         CREATE TABLE probe (organization_id uuid NOT NULL, id uuid PRIMARY KEY,
                             lead_id uuid CONSTRAINT probe_lead REFERENCES leads (id));
         CREATE INDEX probe_by_lead ON probe (lead_id);",
    )
    .await
    .unwrap();
    assert!(
        primary_keys_not_led_by_the_tenant(&db)
            .await
            .contains(&"probe".to_owned())
    );
    assert!(
        references_without_the_tenant(&db)
            .await
            .contains(&"probe_lead".to_owned())
    );
    let indexes = indexes_not_led_by_the_tenant(&db).await;
    for index in ["probe_by_lead", "probe_pkey", "leads_id_alone"] {
        assert!(
            indexes.contains(&index.to_owned()),
            "{index} in {indexes:?}"
        );
    }
    let tables = tables_without_forced_tenant_policies(&db).await;
    for command in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
        let missing = format!("probe: {command}");
        assert!(tables.contains(&missing), "{missing} in {tables:?}");
    }
}

/// The migrations of this domain-kit work undo and redo cleanly on a database with data in
/// them (a lead with a deal value, a company, and their events), and leave the tenancy rules
/// as they were.
#[tokio::test]
async fn the_latest_migrations_undo_and_redo_with_data_in_place() {
    use migration::{Migrator, MigratorTrait};
    use serde_json::json;

    let mut app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme
        .create_lead(
            &app,
            json!({ "estimatedDealValue": { "amount": "1200.50", "currency": "EUR" } }),
        )
        .await;
    acme.create_company(&app, "Initech").await;
    // A deal, with its stage history and events: undoing 000019 drops them all. Made
    // before the endpoint, so no delivery is in flight while the migrations run.
    app.gql(
        acme.token(),
        "mutation { createDeal(input: { title: \"Pentest\" }) { deal { id } } }",
        json!({}),
    )
    .await
    .ok();
    // A campaign with a member: undoing 000020 drops it and its events.
    acme.campaign_of(&app, "Q1", &[&lead]).await;
    let create_endpoint = "mutation($url: String!) {
        createWebhookEndpoint(input: { url: $url }) { endpoint { id } } }";
    app.gql(
        acme.token(),
        create_endpoint,
        json!({ "url": "http://127.0.0.1:9/old" }),
    )
    .await
    .ok();
    // As an upgrade would, with the server stopped: its workers hold no rows the migrations
    // must wait for.
    app.shut_down().await.unwrap().unwrap();
    let owner = app.owner_db().await;
    Migrator::down(&owner, Some(18))
        .await
        .expect("000029 to 000012 undone");
    Migrator::up(&owner, None).await.expect("and done again");
    let admin = app.admin_db().await;
    assert!(primary_keys_not_led_by_the_tenant(&admin).await.is_empty());
    assert!(references_without_the_tenant(&admin).await.is_empty());
    assert!(indexes_not_led_by_the_tenant(&admin).await.is_empty());
    // The lead kept its value, rounded to a whole amount as it was stored before 000012, and
    // is USD again. A server started now (no statements prepared before) serves it.
    let fresh = app.replica().await;
    let response = fresh
        .gql(
            acme.token(),
            "{ leads { nodes { estimatedDealValue { amount currency } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response.at("/leads/nodes/0/estimatedDealValue"),
        &json!({ "amount": "1201", "currency": "USD" })
    );
    // Undoing 000014 dropped the company's event (the lead log had no place for it); redone,
    // companies are evented again.
    acme.create_company(&fresh, "Hooli").await;
    let companies_evented = crate::support::scalar(
        &admin,
        "SELECT count(*) FROM events WHERE subject_type = 'company'",
    )
    .await;
    assert_eq!(companies_evented, 1);
    // An endpoint made when only leads had events keeps receiving only those; a new one
    // receives every subject type.
    fresh
        .gql(
            acme.token(),
            create_endpoint,
            json!({ "url": "http://127.0.0.1:9/new" }),
        )
        .await
        .ok();
    let endpoints = fresh
        .gql(
            acme.token(),
            "{ webhookEndpoints { nodes { url subjectTypes } } }",
            json!({}),
        )
        .await;
    let mut endpoints = endpoints
        .at("/webhookEndpoints/nodes")
        .as_array()
        .unwrap()
        .clone();
    endpoints.sort_by_key(|e| e["url"].as_str().unwrap().to_owned());
    assert_eq!(
        endpoints,
        [
            json!({ "url": "http://127.0.0.1:9/new", "subjectTypes": [] }),
            json!({ "url": "http://127.0.0.1:9/old", "subjectTypes": ["LEAD"] }),
        ]
    );
    // An organization older than the pipeline got the default one when 000019 was redone.
    let stages = fresh
        .gql(acme.token(), "{ pipelineStages { name kind } }", json!({}))
        .await;
    let names: Vec<&str> = stages
        .at("/pipelineStages")
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| stage["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Discovery",
            "Scoping",
            "Proposal",
            "Negotiation",
            "Won",
            "Lost"
        ]
    );
}

/// Each entity module's table and columns, as sea-orm-cli generated them.
macro_rules! entities {
    ($($module:ident),+ $(,)?) => {{
        use sea_orm::{EntityName, Iterable, IdenStatic};
        let mut tables: Vec<(String, Vec<String>)> = vec![$(
            (
                entity::$module::Entity.table_name().to_owned(),
                entity::$module::Column::iter().map(|c| c.as_str().to_owned()).collect(),
            )
        ),+];
        for (_, columns) in &mut tables {
            columns.sort();
        }
        tables.sort();
        tables
    }};
}

/// The entities are generated from the migrated schema (README, "Regenerating entities"): a
/// table or column a migration adds, renames or drops without regenerating them fails here.
/// The list below is every module of `entity/src`, which the test also checks.
#[tokio::test]
async fn the_entities_match_the_migrated_tables_and_columns() {
    let (_app, db) = catalog().await;
    let generated = entities!(
        activities,
        api_keys,
        audit_logs,
        campaign_members,
        campaigns,
        companies,
        deal_stage_changes,
        deals,
        event_streams,
        events,
        lead_assignment_turns,
        lead_assignments,
        lead_notes,
        lead_score_changes,
        leads,
        organizations,
        partners,
        pipeline_stages,
        rate_limit_buckets,
        rate_limit_replicas,
        refresh_tokens,
        scoring_jobs,
        scoring_rules,
        segments,
        sign_in_throttle,
        users,
        webhook_attempts,
        webhook_deliveries,
        webhook_endpoints,
    );
    let mut migrated: Vec<(String, Vec<String>)> = Vec::new();
    for table in rows(
        &db,
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
           AND relkind IN ('r', 'p') AND relname <> 'seaql_migrations' ORDER BY 1",
    )
    .await
    {
        let columns = rows(
            &db,
            &format!(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = 'public.{table}'::regclass
                   AND attnum > 0 AND NOT attisdropped ORDER BY 1"
            ),
        )
        .await;
        migrated.push((table, columns));
    }
    assert_eq!(generated, migrated, "regenerate the entities (README)");

    let modules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("entity/src");
    let mut modules: Vec<String> = std::fs::read_dir(modules_dir)
        .unwrap()
        .map(|file| file.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .filter(|name| name != "lib" && name != "prelude")
        .collect();
    modules.sort();
    let listed: Vec<&String> = generated.iter().map(|(table, _)| table).collect();
    assert_eq!(
        modules.iter().collect::<Vec<_>>(),
        listed,
        "list every entity module above"
    );
}
