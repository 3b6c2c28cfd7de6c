//! An organization chooses how new unassigned leads are assigned: not at all, round-robin, or
//! to whoever has the fewest open leads, among its active agents and managers. The round-robin
//! turn is a counter per organization in a table of its own: taking a turn updates its row, so
//! concurrent creations queue for it (until they commit) and never share a turn, and the
//! organization's own row is not touched.

use sea_orm_migration::prelude::*;

use crate::{rls::TenantTable, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
ALTER TABLE organizations
    ADD COLUMN lead_auto_assignment text NOT NULL DEFAULT 'none'
        CHECK (lead_auto_assignment IN ('none', 'round_robin', 'least_loaded'));

CREATE TABLE lead_assignment_turns (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    turn            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id)
);
"#;

const UNDO: &str = r#"
DROP TABLE lead_assignment_turns;
ALTER TABLE organizations DROP COLUMN lead_auto_assignment;
"#;

fn policies() -> String {
    TenantTable::new("lead_assignment_turns", "SELECT, INSERT, UPDATE")
        .without_updated_at()
        .sql()
}

script_migration!(&format!("{SQL}\n{}", policies()), UNDO);
