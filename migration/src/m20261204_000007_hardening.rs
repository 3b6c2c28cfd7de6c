//! Defence in depth, from a review of the schema as the app role (issue 10, section 5):
//!
//! - retention cannot be shortened by the caller of `prune_lead_events`;
//! - only a note's author may change or delete it;
//! - a webhook delivery cannot name another tenant's lead (composite foreign key);
//! - every index a tenant query can reach leads with organization_id (`btree_gin` lets the
//!   trigram and array indexes do so); the three left as they are serve cross-tenant lookups
//!   that only SECURITY DEFINER functions make;
//! - no SECURITY DEFINER function is executable by PUBLIC.

use sea_orm_migration::prelude::*;

use crate::run_sql;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Retention: `prune_lead_events` refuses to keep less than a day, the least
/// `EVENT_RETENTION_DAYS` allows, so only a caller that is not the configured server asks for
/// less. Same function otherwise (CREATE OR REPLACE keeps its owner and grants).
const PRUNE: &str = r#"
CREATE OR REPLACE FUNCTION prune_lead_events(p_keep interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    -- The app role calls this across tenants: it must not be able to empty every log.
    IF p_keep IS NULL OR p_keep < interval '1 day' THEN
        RAISE EXCEPTION 'lead event retention must be at least 1 day, not %', p_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Each tenant loses a prefix of its log (up to its newest expired position), so what is
    -- kept stays dense.
    WITH cut AS (
        SELECT e.organization_id, max(e.position) AS through
        FROM public.lead_events e WHERE e.occurred_at < now() - p_keep
        GROUP BY e.organization_id
    ), gone AS (
        DELETE FROM public.lead_events e USING cut c
        WHERE e.organization_id = c.organization_id AND e.position <= c.through
        RETURNING 1
    ), recorded AS (
        UPDATE public.lead_event_streams s
        SET pruned_through = greatest(s.pruned_through, c.through)
        FROM cut c WHERE s.organization_id = c.organization_id
    )
    SELECT count(*) INTO removed FROM gone;
    RETURN removed;
END
$$;
"#;

const NOTES_AND_DELIVERIES: &str = r#"
-- A colleague may read a public note, not rewrite or delete it (nor take it over by setting
-- author_id: the new row must name the caller too).
ALTER POLICY lead_notes_update ON lead_notes
    USING (organization_id = current_organization_id() AND (author_id = current_user_id()))
    WITH CHECK (organization_id = current_organization_id() AND (author_id = current_user_id()));
ALTER POLICY lead_notes_delete ON lead_notes
    USING (organization_id = current_organization_id() AND (author_id = current_user_id()));

-- A delivery names the lead of its event; like the event, it goes with the lead (leads are
-- soft-deleted: only an organization's deletion removes them).
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_lead_fkey
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
    ON DELETE CASCADE;
"#;

const UNDO_NOTES_AND_DELIVERIES: &str = r#"
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_lead_fkey;
ALTER POLICY lead_notes_update ON lead_notes
    USING (organization_id = current_organization_id()
           AND (NOT is_private OR author_id = current_user_id()))
    WITH CHECK (organization_id = current_organization_id() AND (author_id = current_user_id()));
ALTER POLICY lead_notes_delete ON lead_notes
    USING (organization_id = current_organization_id()
           AND (NOT is_private OR author_id = current_user_id()));
"#;

const INDEXES: &str = r#"
-- Tenant-led GIN indexes: btree_gin indexes the uuid column next to the trigrams or array
-- elements, so a search reads the tenant's entries only (and EXPLAIN ANALYZE shows no other
-- tenant's row counts). Trusted extension: the owner creates it, as pg_trgm. (Under RLS a
-- query's `LIKE` or `&&` never becomes an index condition, not being LEAKPROOF: the app role's
-- search goes through lead_search_ids, below.)
CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX companies_name_search;
CREATE INDEX companies_name_search ON companies
    USING gin (organization_id, lower(name) gin_trgm_ops);
DROP INDEX leads_tags;
CREATE INDEX leads_tags ON leads USING gin (organization_id, tags);
DROP INDEX leads_search;
CREATE INDEX leads_search ON leads
    USING gin (organization_id, lower(first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);

-- The worker claims a tenant's due deliveries in that tenant's transaction;
-- webhook_tenants_with_work reads the whole (pending-only) index.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (organization_id, next_attempt_at)
    WHERE status = 'pending';

-- Kept cross-tenant on purpose: only a SECURITY DEFINER function looks these up without the
-- tenant (tenant queries use the (organization_id, ...) unique constraints).
COMMENT ON INDEX refresh_tokens_token_hash IS
    'Cross-tenant on purpose: used only by auth_rotate_refresh_token (SECURITY DEFINER).';
COMMENT ON INDEX api_keys_prefix IS
    'Cross-tenant on purpose: used only by auth_api_key (SECURITY DEFINER).';
COMMENT ON INDEX lead_events_by_time IS
    'Cross-tenant on purpose: used only by prune_lead_events (SECURITY DEFINER).';

-- Trigger functions fire whatever EXECUTE says; nobody needs to call them directly.
REVOKE EXECUTE ON FUNCTION lock_lead_event_stream(), lead_events_on_lead_insert(),
    lead_events_on_lead_update(), lead_events_on_activity_insert(),
    lead_events_on_note_insert() FROM PUBLIC;
"#;

/// btree_gin stays on the way down (harmless).
const UNDO_INDEXES: &str = r#"
GRANT EXECUTE ON FUNCTION lock_lead_event_stream(), lead_events_on_lead_insert(),
    lead_events_on_lead_update(), lead_events_on_activity_insert(),
    lead_events_on_note_insert() TO PUBLIC;
COMMENT ON INDEX refresh_tokens_token_hash IS NULL;
COMMENT ON INDEX api_keys_prefix IS NULL;
COMMENT ON INDEX lead_events_by_time IS NULL;
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
DROP INDEX leads_search, leads_tags, companies_name_search;
CREATE INDEX leads_search ON leads
    USING gin (lower(first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);
CREATE INDEX leads_tags ON leads USING gin (tags);
CREATE INDEX companies_name_search ON companies USING gin (lower(name) gin_trgm_ops);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!("{PRUNE}\n{NOTES_AND_DELIVERIES}\n{INDEXES}"),
        )
        .await
    }

    /// Keeps the retention floor: it refuses only what the configured server never asks for.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!("{UNDO_INDEXES}\n{UNDO_NOTES_AND_DELIVERIES}"),
        )
        .await
    }
}
