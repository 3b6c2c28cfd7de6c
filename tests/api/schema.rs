//! `schema.graphql` is generated from the code; this fails when it drifts.

#[test]
fn schema_graphql_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let exported = leadgraph::graphql::export_sdl();
    assert!(
        committed == exported,
        "schema.graphql is stale: run `cargo run -- export-schema --output schema.graphql`"
    );
}
