//! The lead event log at the SQL level, as the app role: a tenant's writers do not wait for each
//! other, and positions are given at commit, dense and in commit order.

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
