//! Background rescoring: `rescoreLeads` over more leads than a request should hold a
//! transaction for becomes a job, worked through in batches, each its own short transaction
//! that moves the job's cursor and progress with the scores it writes. The only cross-tenant step is
//! `scoring_tenants_with_work`, which names the organizations with a job to work on.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, rls::TenantTable, roles, script_migration};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = r#"
CREATE TABLE scoring_jobs (
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    -- A LeadFilter, as the API took it: the leads to rescore.
    filter           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter) = 'object'),
    -- The rule whose change the rescoring follows, if one.
    rule_id          uuid,
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed')),
    total            bigint NOT NULL CHECK (total >= 0),
    processed        bigint NOT NULL DEFAULT 0 CHECK (processed >= 0),
    changed          bigint NOT NULL DEFAULT 0 CHECK (changed >= 0),
    -- Where the next batch starts: the leads after this (created_at, id), oldest first.
    after_created_at timestamptz,
    after_id         uuid,
    error            text,
    created_by_id    uuid,
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, rule_id) REFERENCES scoring_rules (organization_id, id)
        ON DELETE SET NULL (rule_id),
    FOREIGN KEY (organization_id, created_by_id) REFERENCES users (organization_id, id)
);
CREATE INDEX scoring_jobs_by_creation ON scoring_jobs (organization_id, created_at, id);
CREATE INDEX scoring_jobs_by_state ON scoring_jobs (organization_id, state);

-- The organizations with a job to work on. A batch takes its job `FOR UPDATE SKIP LOCKED`:
-- workers of several processes never work one job at once.
CREATE FUNCTION scoring_tenants_with_work(p_limit integer) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT organization_id FROM public.scoring_jobs
    WHERE state IN ('queued', 'running')
    LIMIT p_limit
$$;
"#;

const UNDO: &str = r#"
DROP FUNCTION scoring_tenants_with_work(integer);
DROP TABLE scoring_jobs;
"#;

fn up() -> String {
    format!(
        "{TABLE}\n{}\nGRANT SELECT ON scoring_jobs TO {};\n{}",
        TenantTable::new("scoring_jobs", "SELECT, INSERT, UPDATE").sql(),
        roles::AUTH,
        cross_tenant_functions(&["scoring_tenants_with_work(integer)"])
    )
}

script_migration!(&up(), UNDO);
