//! Lead scoring: an organization's rules (typed conditions, validated by the API and stored as
//! JSONB; never code) and every change of a lead's score with its reason.

use sea_orm_migration::prelude::*;

use crate::{rls::TenantTable, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE scoring_rules (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    rule_type       text NOT NULL
                    CHECK (rule_type IN ('demographic', 'firmographic', 'behavioral', 'engagement')),
    -- All must hold for the rule to fire (src/scoring/conditions.rs).
    conditions      jsonb NOT NULL CHECK (jsonb_typeof(conditions) = 'array'),
    points          integer NOT NULL CHECK (points BETWEEN -100 AND 100),
    priority        integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 1000),
    active          boolean NOT NULL DEFAULT true,
    created_by_id   uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id)
);
CREATE UNIQUE INDEX scoring_rules_name ON scoring_rules (organization_id, lower(name));
CREATE INDEX scoring_rules_by_creation ON scoring_rules (organization_id, created_at, id);

CREATE TABLE lead_score_changes (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    lead_id         uuid NOT NULL,
    previous_score  integer NOT NULL CHECK (previous_score BETWEEN 0 AND 100),
    new_score       integer NOT NULL CHECK (new_score BETWEEN 0 AND 100),
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 200),
    -- The rule whose change caused it, if one did.
    rule_id         uuid,
    changed_by_id   uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (organization_id, rule_id) REFERENCES scoring_rules (organization_id, id)
        ON DELETE SET NULL (rule_id),
    FOREIGN KEY (organization_id, changed_by_id) REFERENCES users (organization_id, id)
);
CREATE INDEX lead_score_changes_by_lead
    ON lead_score_changes (organization_id, lead_id, created_at, id);
CREATE INDEX lead_score_changes_of_rule ON lead_score_changes (organization_id, rule_id);
"#;

const UNDO: &str = r#"
DROP TABLE lead_score_changes;
DROP TABLE scoring_rules;
"#;

fn up() -> String {
    let policies = [
        TenantTable::new("scoring_rules", "SELECT, INSERT, UPDATE, DELETE").sql(),
        // Written by the scoring service only, never changed.
        TenantTable::new("lead_score_changes", "SELECT, INSERT")
            .without_updated_at()
            .sql(),
    ]
    .join("\n");
    format!("{TABLES}\n{policies}")
}

script_migration!(&up(), UNDO);
