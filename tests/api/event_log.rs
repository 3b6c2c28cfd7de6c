//! The lead event log at the SQL level, as the app role: concurrent writers are ordered, never
//! deadlocked, and positions follow commit order.

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

#[tokio::test]
async fn writers_updating_the_same_leads_in_opposite_orders_wait_instead_of_deadlocking() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let org = acme.organization_id;
    let x = uuid_of(&acme.create_lead(&app, json!({})).await);
    let y = uuid_of(&acme.create_lead(&app, json!({})).await);
    let (one, two) = (app.app_db().await, app.app_db().await);

    let first = tenant_tx(&one, org).await;
    run(
        &first,
        format!("UPDATE leads SET score = 11 WHERE id = '{x}'"),
    )
    .await;
    let second = tokio::spawn(async move {
        let tx = tenant_tx(&two, org).await;
        run(&tx, format!("UPDATE leads SET score = 22 WHERE id = '{y}'")).await;
        run(&tx, format!("UPDATE leads SET score = 22 WHERE id = '{x}'")).await;
        tx.commit().await.unwrap();
    });
    // The second writer now waits for the tenant's stream, holding no lead.
    tokio::time::sleep(Duration::from_millis(300)).await;
    run(
        &first,
        format!("UPDATE leads SET score = 11 WHERE id = '{y}'"),
    )
    .await;
    first.commit().await.unwrap();
    second.await.unwrap();

    let owner = app.owner_db().await;
    let tx = tenant_tx(&owner, org).await;
    let rows = tx
        .query_all_raw(Statement::from_string(
            tx.get_database_backend(),
            "SELECT lead_id FROM lead_events WHERE kind = 'scored' ORDER BY position",
        ))
        .await
        .unwrap();
    let order: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect();
    assert_eq!(order, [x, y, y, x], "events in commit order");
}
