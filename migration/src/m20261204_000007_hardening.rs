//! Defence in depth, from a review of the schema as the app role (issue 10, section 5):
//!
//! - retention cannot be shortened by the caller of `prune_lead_events`;
//! - only a note's author may change or delete it;
//! - a webhook delivery cannot name another tenant's lead (composite foreign key).

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, &format!("{PRUNE}\n{NOTES_AND_DELIVERIES}")).await
    }

    /// Keeps the retention floor: it refuses only what the configured server never asks for.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, UNDO_NOTES_AND_DELIVERIES).await
    }
}
