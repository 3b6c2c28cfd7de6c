//! Every ordering of every list is an index range scan: for each list the schema has, each
//! sort column has an index `(organization_id, [parent,] column, id)`. The lists come from
//! `list_orderings()`, which is held to the schema's connection fields, so a new list or a
//! new ordering without its index fails here.

use std::collections::BTreeSet;

use leadgraph::graphql::{export_sdl, list_orderings};
use sea_orm::{ConnectionTrait, Statement};

use crate::support::TestApp;

/// `Type.field` of every field whose type is a connection, read from the SDL.
fn connection_fields(sdl: &str) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let mut current: Option<&str> = None;
    for line in sdl.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("type ") {
            current = rest.split_whitespace().next();
        } else if line == "}" {
            current = None;
        } else if let (Some(owner), Some((name, rest))) = (current, line.split_once(['(', ':']))
            && rest.trim_end().ends_with("Connection!")
            && !owner.ends_with("Connection")
        {
            fields.insert(format!("{owner}.{name}"));
        }
    }
    fields
}

#[test]
fn every_connection_of_the_schema_declares_its_orderings() {
    let schema = connection_fields(&export_sdl());
    let declared: BTreeSet<String> = list_orderings()
        .iter()
        .map(|list| list.field.to_owned())
        .collect();
    assert!(schema.contains("Query.leads") && schema.contains("Lead.activities"));
    assert_eq!(
        schema, declared,
        "add the list to graphql::schema::list_orderings()"
    );
}

#[tokio::test]
async fn every_list_ordering_has_an_index_led_by_the_tenant() {
    let app = TestApp::spawn().await;
    let db = app.admin_db().await;
    let mut missing = Vec::new();
    for list in list_orderings() {
        // The leading key columns of each index of the list's table.
        let indexes: Vec<Vec<String>> = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT array_agg(a.attname::text ORDER BY k.ord)
                 FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = $1::regclass
                 GROUP BY i.indexrelid",
                [list.table.into()],
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index(0).unwrap())
            .collect();
        for column in &list.columns {
            let expected: Vec<&str> = ["organization_id"]
                .into_iter()
                .chain(list.parent)
                .chain([*column, "id"])
                .collect();
            let leads_with = |index: &Vec<String>| {
                index.len() >= expected.len() && index.iter().zip(&expected).all(|(a, b)| a == b)
            };
            if !indexes.iter().any(leads_with) {
                missing.push(format!("{}: ({})", list.field, expected.join(", ")));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "orderings without an index: {missing:#?}"
    );
}
