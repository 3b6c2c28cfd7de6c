//! The lead event log: every change to a lead (and every note or activity added to one) is
//! appended by triggers **in the same transaction** as the change, whatever path made it.
//!
//! Positions are dense per tenant (1, 2, 3, ...) and follow commit order: a writing statement
//! first takes the tenant's row in `lead_event_streams` (before it locks any other row) and
//! holds it until commit, so a later position can never become visible before an earlier one
//! and an aborted transaction leaves no hole. A reader that has seen position N therefore
//! knows exactly what it has not seen (N+1 onwards), and a position missing from a batch is
//! one still to be read, never one lost.
//!
//! Statement-level triggers with transition tables append one statement's rows at once (one
//! counter update per statement, not per row). The trigger functions are SECURITY DEFINER,
//! owned by the owner role, which FORCE makes subject to the same tenant policies: the app
//! role may read events but cannot write, rewrite or delete them.

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, rls::TenantTable, roles, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE lead_event_streams (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    -- The last position appended.
    head            bigint NOT NULL DEFAULT 0 CHECK (head >= 0),
    -- Retention removed every event up to this position.
    pruned_through  bigint NOT NULL DEFAULT 0 CHECK (pruned_through >= 0)
);

CREATE TABLE lead_events (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    position        bigint NOT NULL CHECK (position > 0),
    lead_id         uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN
                    ('created', 'updated', 'status_changed', 'assigned', 'scored', 'deleted',
                     'restored', 'note_added', 'activity_logged')),
    -- Column names of the lead that changed (empty for created, note_added, activity_logged).
    changed_fields  text[] NOT NULL DEFAULT '{}',
    actor_id        uuid,
    -- The note or activity an event is about.
    subject_id      uuid,
    -- A private note's author: the only user its note_added event is delivered to.
    private_to      uuid,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, position),
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, actor_id) REFERENCES users (organization_id, id)
);
-- For retention, which runs across tenants.
CREATE INDEX lead_events_by_time ON lead_events (occurred_at);

-- What one trigger firing appends, before it has a position.
CREATE TYPE lead_event_draft AS (
    lead_id        uuid,
    kind           text,
    changed_fields text[],
    subject_id     uuid,
    private_to     uuid
);
"#;

const FUNCTIONS: &str = r#"
-- Appends a tenant's drafts in order, taking the next positions from its stream row (locked
-- until commit), and leaves the new head in a transaction-local setting for notify_lead_events.
CREATE FUNCTION append_lead_events(p_org uuid, p_events lead_event_draft[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    n    bigint := coalesce(array_length(p_events, 1), 0);
    last bigint;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    INSERT INTO lead_event_streams AS s (organization_id, head) VALUES (p_org, n)
    ON CONFLICT (organization_id) DO UPDATE SET head = s.head + n
    RETURNING s.head INTO last;
    INSERT INTO lead_events
        (organization_id, position, lead_id, kind, changed_fields, actor_id, subject_id, private_to)
    SELECT p_org, last - n + e.ord, e.lead_id, e.kind, e.changed_fields, current_user_id(),
           e.subject_id, e.private_to
    FROM unnest(p_events) WITH ORDINALITY AS e(lead_id, kind, changed_fields, subject_id,
                                                private_to, ord);
    PERFORM set_config('app.lead_event_head', last::text, true);
END
$$;

-- The events one lead update makes: fields grouped by the kind they signal, in a fixed order
-- (a restore first, a delete last). Bookkeeping columns are not changes.
CREATE FUNCTION lead_update_drafts(p_old jsonb, p_new jsonb)
RETURNS TABLE (kind text, changed_fields text[])
LANGUAGE sql IMMUTABLE
AS $$
    WITH changed AS (
        SELECT n.key,
               CASE n.key
                   WHEN 'status' THEN 'status_changed'
                   WHEN 'assigned_to_id' THEN 'assigned'
                   WHEN 'score' THEN 'scored'
                   WHEN 'deleted_at' THEN
                       CASE WHEN p_new ->> 'deleted_at' IS NULL THEN 'restored' ELSE 'deleted' END
                   ELSE 'updated'
               END AS kind
        FROM jsonb_each(p_new) n
        WHERE n.value IS DISTINCT FROM p_old -> n.key
          AND n.key NOT IN ('updated_at', 'created_at', 'organization_id', 'id')
    )
    SELECT kind, array_agg(key ORDER BY key)
    FROM changed
    GROUP BY kind
    ORDER BY array_position(
        ARRAY['restored', 'updated', 'status_changed', 'assigned', 'scored', 'deleted'], kind)
$$;

-- Takes the tenant's stream row before a statement that may append locks any row: writers
-- then always lock in the same order (stream, then rows), so two requests updating the same
-- leads in different orders wait for each other instead of deadlocking.
CREATE FUNCTION lock_lead_event_stream() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    IF current_organization_id() IS NOT NULL THEN
        INSERT INTO lead_event_streams AS s (organization_id)
        VALUES (current_organization_id())
        ON CONFLICT (organization_id) DO UPDATE SET head = s.head;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION lead_events_on_lead_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_lead_events(organization_id,
        array_agg(ROW(id, 'created', '{}', NULL, NULL)::lead_event_draft ORDER BY created_at, id))
    FROM new_rows GROUP BY organization_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION lead_events_on_lead_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_lead_events(n.organization_id, array_agg(
        ROW(n.id, d.kind, d.changed_fields, NULL, NULL)::lead_event_draft ORDER BY n.id, d.ord))
    FROM old_rows o
    JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
    CROSS JOIN LATERAL lead_update_drafts(to_jsonb(o), to_jsonb(n))
        WITH ORDINALITY AS d(kind, changed_fields, ord)
    GROUP BY n.organization_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION lead_events_on_activity_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_lead_events(organization_id, array_agg(
        ROW(lead_id, 'activity_logged', '{}', id, NULL)::lead_event_draft ORDER BY created_at, id))
    FROM new_rows GROUP BY organization_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION lead_events_on_note_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_lead_events(organization_id, array_agg(
        ROW(lead_id, 'note_added', '{}', id, CASE WHEN is_private THEN author_id END)
            ::lead_event_draft ORDER BY created_at, id))
    FROM new_rows GROUP BY organization_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER leads_lock_stream BEFORE INSERT OR UPDATE ON leads
    FOR EACH STATEMENT EXECUTE FUNCTION lock_lead_event_stream();
CREATE TRIGGER activities_lock_stream BEFORE INSERT ON activities
    FOR EACH STATEMENT EXECUTE FUNCTION lock_lead_event_stream();
CREATE TRIGGER lead_notes_lock_stream BEFORE INSERT ON lead_notes
    FOR EACH STATEMENT EXECUTE FUNCTION lock_lead_event_stream();
CREATE TRIGGER leads_record_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_events_on_lead_insert();
CREATE TRIGGER leads_record_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_events_on_lead_update();
CREATE TRIGGER activities_record_insert AFTER INSERT ON activities
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_events_on_activity_insert();
CREATE TRIGGER lead_notes_record_insert AFTER INSERT ON lead_notes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_events_on_note_insert();

-- Called by the server just before it commits a write: wakes every instance's listener with
-- the tenant and its new head, when the transaction appended events. The application issues
-- the NOTIFY, not a trigger: on a distributed PostgreSQL triggers run on the shards.
CREATE FUNCTION notify_lead_events() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    head text := nullif(current_setting('app.lead_event_head', true), '');
BEGIN
    IF head IS NOT NULL THEN
        PERFORM pg_notify('lead_events', current_organization_id()::text || ':' || head);
    END IF;
END
$$;

-- Retention, across tenants: removes events older than p_keep and records how far each
-- tenant's log was cut, so an expired cursor is told so. Owned by the role that may cross
-- tenants; only the app role may call it.
CREATE FUNCTION prune_lead_events(p_keep interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let auth = roles::AUTH;
        let policies: String = [
            TenantTable::new("lead_event_streams", "SELECT").without_updated_at(),
            TenantTable::new("lead_events", "SELECT").without_updated_at(),
        ]
        .iter()
        .map(TenantTable::sql)
        .collect();
        let retention = format!(
            r#"
GRANT SELECT, DELETE ON lead_events TO {auth};
GRANT SELECT, UPDATE ON lead_event_streams TO {auth};
-- Only the triggers (running as the owner) append: the app role cannot forge events.
REVOKE EXECUTE ON FUNCTION append_lead_events(uuid, lead_event_draft[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION lead_update_drafts(jsonb, jsonb) FROM PUBLIC;
{}"#,
            cross_tenant_functions(&["prune_lead_events(interval)"])
        );
        run_sql(
            manager,
            &format!("{TABLES}\n{policies}\n{FUNCTIONS}\n{retention}"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TRIGGER lead_notes_lock_stream ON lead_notes;
             DROP TRIGGER activities_lock_stream ON activities;
             DROP TRIGGER leads_lock_stream ON leads;
             DROP TRIGGER lead_notes_record_insert ON lead_notes;
             DROP TRIGGER activities_record_insert ON activities;
             DROP TRIGGER leads_record_update ON leads;
             DROP TRIGGER leads_record_insert ON leads;
             DROP FUNCTION prune_lead_events(interval), notify_lead_events(),
                 lead_events_on_note_insert(), lead_events_on_activity_insert(),
                 lead_events_on_lead_update(), lead_events_on_lead_insert(),
                 lead_update_drafts(jsonb, jsonb), append_lead_events(uuid, lead_event_draft[]),
                 lock_lead_event_stream();
             DROP TABLE lead_events, lead_event_streams;
             DROP TYPE lead_event_draft;",
        )
        .await
    }
}
