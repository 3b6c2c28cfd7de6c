//! The lead event log at the SQL level, as the app role: a tenant's writers do not wait for each
//! other, positions are given at commit, dense and in commit order, and numbering reads only
//! the committing transaction's events.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::support::{TestApp, tenant::uuid_of};

async fn run(tx: &DatabaseTransaction, sql: String) {
    tx.execute_unprepared(&sql).await.unwrap();
}

async fn tenant_tx(db: &sea_orm::DatabaseConnection, organization: Uuid) -> DatabaseTransaction {
    let tx = db.begin().await.unwrap();
    run(
        &tx,
        format!("SELECT set_config('app.current_organization_id', '{organization}', true)"),
    )
    .await;
    tx
}

/// Events visible to `tx` that have no position yet.
async fn unnumbered(tx: &DatabaseTransaction) -> i64 {
    tx.query_one_raw(Statement::from_string(
        tx.get_database_backend(),
        "SELECT count(*) FROM events WHERE position IS NULL",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index(0)
    .unwrap()
}

/// Positions of the tenant's `scored` events, in log order, with their leads.
async fn scored(app: &TestApp, org: Uuid) -> Vec<(i64, Uuid)> {
    let owner = app.owner_db().await;
    let tx = tenant_tx(&owner, org).await;
    let rows = tx
        .query_all_raw(Statement::from_string(
            tx.get_database_backend(),
            "SELECT position, subject_id FROM events WHERE kind = 'scored' ORDER BY position",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_tenants_writers_do_not_wait_for_each_other_and_positions_follow_commit_order() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let org = acme.organization_id;
    let x = uuid_of(&acme.create_lead(&app, json!({})).await);
    let y = uuid_of(&acme.create_lead(&app, json!({})).await);
    let (one, two) = (app.app_db().await, app.app_db().await);

    // A long transaction appends an event and stays open...
    let long = tenant_tx(&one, org).await;
    run(
        &long,
        format!("UPDATE leads SET score = 11 WHERE id = '{x}'"),
    )
    .await;
    // ...while another writer of the same tenant appends and commits: it does not wait for
    // the first (until 2026-12-04 it did, until the first committed).
    let quick = async {
        let tx = tenant_tx(&two, org).await;
        run(&tx, format!("UPDATE leads SET score = 22 WHERE id = '{y}'")).await;
        tx.commit().await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), quick)
        .await
        .expect("the second writer was held by the open transaction");
    let committed = scored(&app, org).await;
    assert_eq!(committed.len(), 1, "only the committed event is in the log");
    assert_eq!(committed[0].1, y);

    // The long transaction commits second: its event comes next, with no gap.
    long.commit().await.unwrap();
    let log = scored(&app, org).await;
    assert_eq!(
        log.iter().map(|(_, lead)| *lead).collect::<Vec<_>>(),
        [y, x],
        "events in commit order"
    );
    assert_eq!(log[1].0, log[0].0 + 1, "positions dense: {log:?}");
}

#[tokio::test]
async fn an_event_has_no_position_until_its_transaction_commits() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let org = acme.organization_id;
    let x = uuid_of(&acme.create_lead(&app, json!({})).await);
    let one = app.app_db().await;
    let tx = tenant_tx(&one, org).await;
    run(&tx, format!("UPDATE leads SET score = 33 WHERE id = '{x}'")).await;
    assert_eq!(unnumbered(&tx).await, 1, "appended, not yet numbered");
    tx.commit().await.unwrap();
    assert_eq!(scored(&app, org).await.len(), 1);
    let owner = app.owner_db().await;
    let check = tenant_tx(&owner, org).await;
    assert_eq!(unnumbered(&check).await, 0, "numbered at commit");
}

/// Rows and index entries of the event log `tx`'s transaction has read so far.
async fn event_log_reads(tx: &DatabaseTransaction) -> i64 {
    tx.query_one_raw(Statement::from_string(
        tx.get_database_backend(),
        "SELECT (pg_stat_get_xact_tuples_returned('events'::regclass)
                 + (SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0)
                    FROM pg_index WHERE indrelid = 'events'::regclass))::bigint",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index(0)
    .unwrap()
}

/// What numbering one write's event reads of the log, with the log read through its indexes
/// (as a log too large to scan is).
async fn numbering_reads(db: &sea_orm::DatabaseConnection, org: Uuid, lead: Uuid) -> i64 {
    let tx = tenant_tx(db, org).await;
    run(&tx, "SET LOCAL enable_seqscan = off".into()).await;
    run(
        &tx,
        format!("UPDATE leads SET job_title = 'measured' WHERE id = '{lead}'"),
    )
    .await;
    let before = event_log_reads(&tx).await;
    run(&tx, "SET CONSTRAINTS events_numbered IMMEDIATE".into()).await;
    let read = event_log_reads(&tx).await - before;
    tx.commit().await.unwrap();
    read
}

#[tokio::test]
async fn numbering_reads_only_the_committing_transactions_events() {
    // Every numbered event leaves a version without a position until vacuum, and while a
    // snapshot holds the horizon back scans cannot skip those either. Numbering used to read
    // them all, holding the tenant's stream row meanwhile: its writers queued, held the horizon
    // longer, and collapsed (docs/benchmarks.md, tenth sitting).
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let org = acme.organization_id;
    let lead = uuid_of(&acme.create_lead(&app, json!({})).await);
    let db = app.app_db().await;
    let alone = numbering_reads(&db, org, lead).await;

    let holder = db.begin().await.unwrap();
    run(
        &holder,
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ".into(),
    )
    .await;
    run(&holder, "SELECT 1".into()).await;
    for i in 0..300 {
        let tx = tenant_tx(&db, org).await;
        run(
            &tx,
            format!("UPDATE leads SET job_title = 'title {i}' WHERE id = '{lead}'"),
        )
        .await;
        tx.commit().await.unwrap();
    }
    let among_dead = numbering_reads(&db, org, lead).await;
    holder.rollback().await.unwrap();
    assert!(
        among_dead <= alone + 10,
        "numbering read {among_dead} entries of the log after 300 numbered events, {alone} before"
    );
}
