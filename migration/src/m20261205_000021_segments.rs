//! Segments: saved lead filters, evaluated whenever they are read (`segment.leads`,
//! `segment.leadCount`), never materialized, so they are never stale.

use sea_orm_migration::prelude::*;

use crate::{rls::TenantTable, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = r#"
CREATE TABLE segments (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    description     text CHECK (char_length(description) BETWEEN 1 AND 5000),
    -- A LeadFilter, as the API took it.
    filter          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter) = 'object'),
    created_by_id   uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id)
);
CREATE UNIQUE INDEX segments_name ON segments (organization_id, lower(name));
CREATE INDEX segments_by_creation ON segments (organization_id, created_at, id);
"#;

const UNDO: &str = "DROP TABLE segments;";

script_migration!(
    &format!(
        "{TABLE}\n{}",
        TenantTable::new("segments", "SELECT, INSERT, UPDATE, DELETE").sql()
    ),
    UNDO
);
