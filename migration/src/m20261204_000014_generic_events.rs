//! One event log for every resource. `lead_events` becomes `events`: an event names its subject
//! by type and id (`subject_type`, `subject_id`), what happened (`kind`), the subject's columns
//! that changed, the actor, and for events about a lead's note or activity that row
//! (`detail_id`). Positions, numbering at commit, retention and notification are unchanged,
//! so a cursor of the lead log is a cursor of this log.
//!
//! A table becomes evented by three statement triggers calling `record_events(subject_type,
//! kinds)` (see [`crate::evented_table`]): inserts are `created`, deletes `deleted`, and an
//! update is one event per kind of change, its kind taken from the `kinds` map of columns
//! (`updated` otherwise; a `deleted_at` column marks `deleted`/`restored`). Leads and companies
//! are evented; a lead's notes and activities stay events of their lead.
//!
//! The subject has no foreign key: a deleted company's `deleted` event outlives the company.
//! Nothing else can reference another tenant's row here, for only the triggers (as the owner,
//! under the tenant policies) write events.
//!
//! A webhook delivery names its event's subject, held to it by a composite key to the event.
//! Existing webhook endpoints keep receiving lead events only (`subject_types = {lead}`); new
//! ones receive every subject type unless they choose.
//!
//! Undoing drops the events of other subjects (their positions are left unused).

use sea_orm_migration::prelude::*;

use crate::{cross_tenant_functions, evented_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

const RENAME: &str = r#"
ALTER TABLE lead_event_streams RENAME TO event_streams;
ALTER TABLE event_streams RENAME CONSTRAINT lead_event_streams_pkey TO event_streams_pkey;
ALTER TABLE lead_events RENAME TO events;
ALTER TABLE events RENAME CONSTRAINT lead_events_pkey TO events_pkey;
ALTER TABLE events RENAME CONSTRAINT lead_events_position_key TO events_position_key;
ALTER TABLE events RENAME CONSTRAINT lead_events_kind_check TO events_kind_check;
ALTER INDEX lead_events_by_time RENAME TO events_by_time;
ALTER SEQUENCE lead_events_id_seq RENAME TO events_id_seq;
ALTER POLICY lead_event_streams_select ON event_streams RENAME TO event_streams_select;
ALTER POLICY lead_event_streams_insert ON event_streams RENAME TO event_streams_insert;
ALTER POLICY lead_event_streams_update ON event_streams RENAME TO event_streams_update;
ALTER POLICY lead_event_streams_delete ON event_streams RENAME TO event_streams_delete;
ALTER POLICY lead_events_select ON events RENAME TO events_select;
ALTER POLICY lead_events_insert ON events RENAME TO events_insert;
ALTER POLICY lead_events_update ON events RENAME TO events_update;
ALTER POLICY lead_events_delete ON events RENAME TO events_delete;
"#;

const SQL: &str = r#"
ALTER TABLE events DROP CONSTRAINT lead_events_organization_id_lead_id_fkey;
ALTER TABLE events RENAME COLUMN subject_id TO detail_id;
ALTER TABLE events RENAME COLUMN lead_id TO subject_id;
ALTER TABLE events ADD COLUMN subject_type text NOT NULL DEFAULT 'lead'
    CONSTRAINT events_subject_type_check CHECK (subject_type IN ('lead', 'company'));
ALTER TABLE events ALTER COLUMN subject_type DROP DEFAULT;
COMMENT ON COLUMN events.detail_id IS 'The note or activity a lead''s note_added or activity_logged event is about.';
COMMENT ON INDEX events_by_time IS
    'Cross-tenant on purpose: used only by prune_events (SECURITY DEFINER).';

-- A delivery names its event's subject, and exactly that: the key to its event includes the
-- subject, so no delivery can name a row of another tenant (nor another row of its own). It
-- goes with the event (retention), not with the subject.
ALTER TABLE events ADD CONSTRAINT events_subject_key
    UNIQUE (organization_id, position, subject_type, subject_id);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_lead_fkey;
ALTER TABLE webhook_deliveries
    DROP CONSTRAINT webhook_deliveries_organization_id_event_position_fkey;
ALTER TABLE webhook_deliveries RENAME COLUMN lead_id TO subject_id;
ALTER TABLE webhook_deliveries ADD COLUMN subject_type text NOT NULL DEFAULT 'lead';
ALTER TABLE webhook_deliveries ALTER COLUMN subject_type DROP DEFAULT;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_fkey
    FOREIGN KEY (organization_id, event_position, subject_type, subject_id)
    REFERENCES events (organization_id, position, subject_type, subject_id) ON DELETE CASCADE;
-- Subject types an endpoint receives, empty meaning all. Endpoints that exist now were made
-- when only leads had events: they keep exactly those.
ALTER TABLE webhook_endpoints ADD COLUMN subject_types text[] NOT NULL DEFAULT '{lead}'
    CHECK (subject_types <@ ARRAY['lead', 'company']);
ALTER TABLE webhook_endpoints ALTER COLUMN subject_types SET DEFAULT '{}';

-- What one trigger firing appends, before it has a position.
CREATE TYPE event_draft AS (
    subject_type   text,
    subject_id     uuid,
    kind           text,
    changed_fields text[],
    detail_id      uuid,
    private_to     uuid
);

-- Appends without a position and without a lock; remembers that the transaction has events
-- to number (see m20261204_000013_commit_positions).
CREATE FUNCTION append_events(p_org uuid, p_events event_draft[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    opens boolean := current_setting('app.events_unnumbered', true) IS DISTINCT FROM 'yes';
BEGIN
    IF coalesce(array_length(p_events, 1), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO events
        (organization_id, subject_type, subject_id, kind, changed_fields, actor_id, detail_id,
         private_to, opens_batch)
    SELECT p_org, e.subject_type, e.subject_id, e.kind, e.changed_fields, current_user_id(),
           e.detail_id, e.private_to, opens AND e.ord = 1
    FROM unnest(p_events) WITH ORDINALITY AS e(subject_type, subject_id, kind, changed_fields,
                                                detail_id, private_to, ord)
    ORDER BY e.ord;
    PERFORM set_config('app.events_unnumbered', 'yes', true);
END
$$;

-- The events one update of a row makes: its changed columns grouped by the kind their change
-- signals (p_kinds maps a column to a kind, `updated` otherwise; deleted_at means deleted or
-- restored), in a fixed order: a restore first, a delete last. Bookkeeping is no change.
CREATE FUNCTION event_update_drafts(p_old jsonb, p_new jsonb, p_kinds jsonb)
RETURNS TABLE (kind text, changed_fields text[])
LANGUAGE sql IMMUTABLE
AS $$
    WITH changed AS (
        SELECT n.key,
               CASE
                   WHEN n.key = 'deleted_at' THEN
                       CASE WHEN p_new ->> 'deleted_at' IS NULL THEN 'restored' ELSE 'deleted' END
                   ELSE coalesce(p_kinds ->> n.key, 'updated')
               END AS kind
        FROM jsonb_each(p_new) n
        WHERE n.value IS DISTINCT FROM p_old -> n.key
          AND n.key NOT IN ('updated_at', 'created_at', 'organization_id', 'id')
    )
    SELECT kind, array_agg(key ORDER BY key)
    FROM changed
    GROUP BY kind
    ORDER BY CASE kind WHEN 'restored' THEN 0 WHEN 'updated' THEN 1 WHEN 'deleted' THEN 3
             ELSE 2 END,
             array_position(ARRAY['status_changed', 'assigned', 'scored'], kind), kind
$$;

-- The statement trigger of an evented table: TG_ARGV[0] is the subject type, TG_ARGV[1] (when
-- given) the jsonb map of columns to kinds for event_update_drafts.
CREATE FUNCTION record_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    subject text := TG_ARGV[0];
    kinds   jsonb := coalesce(TG_ARGV[1], '{}')::jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM append_events(organization_id, array_agg(
            ROW(subject, id, 'created', '{}', NULL, NULL)::event_draft ORDER BY created_at, id))
        FROM new_rows GROUP BY organization_id;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM append_events(n.organization_id, array_agg(
            ROW(subject, n.id, d.kind, d.changed_fields, NULL, NULL)::event_draft
            ORDER BY n.id, d.ord))
        FROM old_rows o
        JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
        CROSS JOIN LATERAL event_update_drafts(to_jsonb(o), to_jsonb(n), kinds)
            WITH ORDINALITY AS d(kind, changed_fields, ord)
        GROUP BY n.organization_id;
    ELSE
        -- Not when the organization itself is going (its log goes with it).
        PERFORM append_events(organization_id, array_agg(
            ROW(subject, id, 'deleted', '{}', NULL, NULL)::event_draft ORDER BY id))
        FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM organizations g WHERE g.id = o.organization_id)
        GROUP BY organization_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION lead_events_on_activity_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_events(organization_id, array_agg(
        ROW('lead', lead_id, 'activity_logged', '{}', id, NULL)::event_draft
        ORDER BY created_at, id))
    FROM new_rows GROUP BY organization_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION lead_events_on_note_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_events(organization_id, array_agg(
        ROW('lead', lead_id, 'note_added', '{}', id, CASE WHEN is_private THEN author_id END)
            ::event_draft ORDER BY created_at, id))
    FROM new_rows GROUP BY organization_id;
    RETURN NULL;
END
$$;

DROP TRIGGER leads_record_insert ON leads;
DROP TRIGGER leads_record_update ON leads;
DROP TRIGGER lead_events_numbered ON events;
DROP FUNCTION lead_events_on_lead_insert(), lead_events_on_lead_update(),
    lead_update_drafts(jsonb, jsonb), append_lead_events(uuid, lead_event_draft[]),
    number_lead_events(), notify_lead_events();
DROP TYPE lead_event_draft;

-- Trigger functions fire whatever EXECUTE says; only they append.
REVOKE EXECUTE ON FUNCTION append_events(uuid, event_draft[]),
    event_update_drafts(jsonb, jsonb, jsonb), record_events() FROM PUBLIC;


"#;

/// Lead columns whose change has a kind of its own.
const LEAD_KINDS: &str =
    r#"{"status": "status_changed", "assigned_to_id": "assigned", "score": "scored"}"#;

const UNDO: &str = r#"
DROP TRIGGER companies_record_insert ON companies;
DROP TRIGGER companies_record_update ON companies;
DROP TRIGGER companies_record_delete ON companies;
DROP TRIGGER leads_record_insert ON leads;
DROP TRIGGER leads_record_update ON leads;
DROP TRIGGER leads_record_delete ON leads;

-- The owner is under the tenant policies (FORCE); this cleanup is across tenants.
ALTER TABLE events NO FORCE ROW LEVEL SECURITY;
DELETE FROM events WHERE subject_type <> 'lead';
ALTER TABLE events FORCE ROW LEVEL SECURITY;

CREATE TYPE lead_event_draft AS (
    lead_id        uuid,
    kind           text,
    changed_fields text[],
    subject_id     uuid,
    private_to     uuid
);

CREATE FUNCTION append_lead_events(p_org uuid, p_events lead_event_draft[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    opens boolean := current_setting('app.lead_events_unnumbered', true) IS DISTINCT FROM 'yes';
BEGIN
    IF coalesce(array_length(p_events, 1), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO lead_events
        (organization_id, lead_id, kind, changed_fields, actor_id, subject_id, private_to,
         opens_batch)
    SELECT p_org, e.lead_id, e.kind, e.changed_fields, current_user_id(), e.subject_id,
           e.private_to, opens AND e.ord = 1
    FROM unnest(p_events) WITH ORDINALITY AS e(lead_id, kind, changed_fields, subject_id,
                                                private_to, ord)
    ORDER BY e.ord;
    PERFORM set_config('app.lead_events_unnumbered', 'yes', true);
END
$$;

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

CREATE OR REPLACE FUNCTION lead_events_on_activity_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM append_lead_events(organization_id, array_agg(
        ROW(lead_id, 'activity_logged', '{}', id, NULL)::lead_event_draft ORDER BY created_at, id))
    FROM new_rows GROUP BY organization_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION lead_events_on_note_insert() RETURNS trigger
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

REVOKE EXECUTE ON FUNCTION append_lead_events(uuid, lead_event_draft[]),
    lead_update_drafts(jsonb, jsonb), lead_events_on_lead_insert(),
    lead_events_on_lead_update() FROM PUBLIC;

CREATE TRIGGER leads_record_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_events_on_lead_insert();
CREATE TRIGGER leads_record_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_events_on_lead_update();

DROP TRIGGER events_numbered ON events;
DROP FUNCTION notify_events(), record_events(), event_update_drafts(jsonb, jsonb, jsonb),
    number_events(), append_events(uuid, event_draft[]);
DROP TYPE event_draft;

ALTER TABLE webhook_endpoints DROP COLUMN subject_types;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_fkey;
ALTER TABLE webhook_deliveries DROP COLUMN subject_type;
ALTER TABLE webhook_deliveries RENAME COLUMN subject_id TO lead_id;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_lead_fkey
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
    ON DELETE CASCADE;
ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_organization_id_event_position_fkey
    FOREIGN KEY (organization_id, event_position)
    REFERENCES events (organization_id, position) ON DELETE CASCADE;
ALTER TABLE events DROP CONSTRAINT events_subject_key;

ALTER TABLE events DROP COLUMN subject_type;
ALTER TABLE events RENAME COLUMN subject_id TO lead_id;
ALTER TABLE events RENAME COLUMN detail_id TO subject_id;
ALTER TABLE events ADD CONSTRAINT lead_events_organization_id_lead_id_fkey
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id)
    ON DELETE CASCADE;
COMMENT ON COLUMN events.subject_id IS NULL;

ALTER POLICY events_select ON events RENAME TO lead_events_select;
ALTER POLICY events_insert ON events RENAME TO lead_events_insert;
ALTER POLICY events_update ON events RENAME TO lead_events_update;
ALTER POLICY events_delete ON events RENAME TO lead_events_delete;
ALTER POLICY event_streams_select ON event_streams RENAME TO lead_event_streams_select;
ALTER POLICY event_streams_insert ON event_streams RENAME TO lead_event_streams_insert;
ALTER POLICY event_streams_update ON event_streams RENAME TO lead_event_streams_update;
ALTER POLICY event_streams_delete ON event_streams RENAME TO lead_event_streams_delete;
ALTER SEQUENCE events_id_seq RENAME TO lead_events_id_seq;
ALTER INDEX events_by_time RENAME TO lead_events_by_time;
ALTER TABLE events RENAME CONSTRAINT events_kind_check TO lead_events_kind_check;
ALTER TABLE events RENAME CONSTRAINT events_position_key TO lead_events_position_key;
ALTER TABLE events RENAME CONSTRAINT events_pkey TO lead_events_pkey;
ALTER TABLE events RENAME TO lead_events;
ALTER TABLE event_streams RENAME CONSTRAINT event_streams_pkey TO lead_event_streams_pkey;
ALTER TABLE event_streams RENAME TO lead_event_streams;
COMMENT ON INDEX lead_events_by_time IS
    'Cross-tenant on purpose: used only by prune_lead_events (SECURITY DEFINER).';

"#;

/// The names of the log's objects: this migration renames them, and the functions that use
/// them are otherwise the same before and after, so they are written once (below) over these.
struct LogNames {
    log: &'static str,
    streams: &'static str,
    /// The numbering trigger's function and constraint trigger (m20261204_000013).
    number: &'static str,
    numbered: &'static str,
    notify: &'static str,
    channel: &'static str,
    /// Transaction-local settings: events appended and not numbered; the new head.
    unnumbered: &'static str,
    head: &'static str,
    prune: &'static str,
}

const GENERIC: LogNames = LogNames {
    log: "events",
    streams: "event_streams",
    number: "number_events",
    numbered: "events_numbered",
    notify: "notify_events",
    channel: "events",
    unnumbered: "app.events_unnumbered",
    head: "app.event_head",
    prune: "prune_events",
};

const LEAD_ONLY: LogNames = LogNames {
    log: "lead_events",
    streams: "lead_event_streams",
    number: "number_lead_events",
    numbered: "lead_events_numbered",
    notify: "notify_lead_events",
    channel: "lead_events",
    unnumbered: "app.lead_events_unnumbered",
    head: "app.lead_event_head",
    prune: "prune_lead_events",
};

/// Numbering at commit and the notification (see m20261204_000013_commit_positions),
/// retention and the webhook worker's tenant finder.
const LOG_FUNCTIONS: &str = r#"
-- Numbers the transaction's events after the tenant's head, in the order they were appended,
-- holding the stream row until commit.
CREATE FUNCTION {number}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    org  uuid := current_organization_id();
    n    bigint;
    last bigint;
BEGIN
    IF current_setting('{unnumbered}', true) IS DISTINCT FROM 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('{unnumbered}', '', true);
    SELECT count(*) INTO n FROM {log} WHERE organization_id = org AND position IS NULL;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO {streams} AS s (organization_id, head) VALUES (org, n)
    ON CONFLICT (organization_id) DO UPDATE SET head = s.head + n
    RETURNING s.head INTO last;
    UPDATE {log} e SET position = last - n + o.ord, opens_batch = false
    FROM (SELECT u.id, row_number() OVER (ORDER BY u.id) AS ord
          FROM {log} u WHERE u.organization_id = org AND u.position IS NULL) o
    WHERE e.organization_id = org AND e.id = o.id;
    PERFORM set_config('{head}', last::text, true);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION {number}() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER {numbered} AFTER INSERT ON {log}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.opens_batch) EXECUTE FUNCTION {number}();

-- Called by the server just before it commits a write: numbers the transaction's events now
-- and wakes every instance's listener with the tenant and its new head.
CREATE FUNCTION {notify}() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    head text;
BEGIN
    SET CONSTRAINTS {numbered} IMMEDIATE;
    head := nullif(current_setting('{head}', true), '');
    IF head IS NOT NULL THEN
        PERFORM pg_notify('{channel}', current_organization_id()::text || ':' || head);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION {prune}(p_keep interval) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    -- The app role calls this across tenants: it must not be able to empty every log.
    IF p_keep IS NULL OR p_keep < interval '1 day' THEN
        RAISE EXCEPTION 'event retention must be at least 1 day, not %', p_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Each tenant loses a prefix of its log (up to its newest expired position), so what is
    -- kept stays dense.
    WITH cut AS (
        SELECT e.organization_id, max(e.position) AS through
        FROM public.{log} e WHERE e.occurred_at < now() - p_keep
        GROUP BY e.organization_id
    ), gone AS (
        DELETE FROM public.{log} e USING cut c
        WHERE e.organization_id = c.organization_id AND e.position <= c.through
        RETURNING 1
    ), recorded AS (
        UPDATE public.{streams} s
        SET pruned_through = greatest(s.pruned_through, c.through)
        FROM cut c WHERE s.organization_id = c.organization_id
    )
    SELECT count(*) INTO removed FROM gone;
    RETURN removed;
END
$$;

CREATE OR REPLACE FUNCTION webhook_tenants_with_work(p_limit integer) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT organization_id FROM (
        SELECT d.organization_id FROM public.webhook_deliveries d
        JOIN public.webhook_endpoints e
            ON e.organization_id = d.organization_id AND e.id = d.endpoint_id AND e.is_active
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until < now())
        UNION
        SELECT e.organization_id FROM public.webhook_endpoints e
        JOIN public.{streams} s ON s.organization_id = e.organization_id
        WHERE e.is_active AND e.event_cursor < s.head
    ) t
    LIMIT p_limit
$$;
"#;

impl LogNames {
    /// [`LOG_FUNCTIONS`] over these names, with the cross-tenant functions' ownership and grants.
    fn functions(&self) -> String {
        let sql = [
            ("{log}", self.log),
            ("{streams}", self.streams),
            ("{number}", self.number),
            ("{numbered}", self.numbered),
            ("{notify}", self.notify),
            ("{channel}", self.channel),
            ("{unnumbered}", self.unnumbered),
            ("{head}", self.head),
            ("{prune}", self.prune),
        ]
        .iter()
        .fold(LOG_FUNCTIONS.to_owned(), |sql, (name, value)| {
            sql.replace(name, value)
        });
        let prune = format!("{}(interval)", self.prune);
        let definers = [prune.as_str(), "webhook_tenants_with_work(integer)"];
        format!("{sql}\n{}", cross_tenant_functions(&definers))
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "{RENAME}\n{SQL}\n{}\n{}\n\
             ALTER FUNCTION prune_lead_events(interval) RENAME TO prune_events;\n{}",
            evented_table("leads", "lead", LEAD_KINDS),
            evented_table("companies", "company", "{}"),
            GENERIC.functions(),
        );
        crate::run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "{UNDO}\nALTER FUNCTION prune_events(interval) RENAME TO prune_lead_events;\n{}",
            LEAD_ONLY.functions(),
        );
        crate::run_sql(manager, &sql).await
    }
}
