//! Lead events get their positions at commit, so a tenant's writers no longer wait for each
//! other. Until now every write statement first locked the tenant's stream row and held it to
//! commit: a tenant's write transactions ran one at a time, and a long import held every
//! other write of its tenant for as long as it ran (docs/benchmarks.md, "Event-log lock").
//!
//! Now an appended event has no position until its transaction is about to commit. A deferred
//! constraint trigger (or `notify_lead_events`, which the server calls just before COMMIT)
//! then locks the stream row, numbers the transaction's events after the head in the order
//! they were appended, and commit releases the lock: the lock covers the numbering and the
//! commit, nothing before. Positions stay dense and in commit order, which is what makes
//! resume exact: a transaction numbers its events only once it holds the lock, and the next
//! one can take it only after the first has committed.
//!
//! The lock no longer orders row locks, so two transactions updating the same leads in
//! opposite orders deadlock as they would without events; PostgreSQL aborts one (the API
//! answers CONFLICT: retry).

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
DROP TRIGGER leads_lock_stream ON leads;
DROP TRIGGER activities_lock_stream ON activities;
DROP TRIGGER lead_notes_lock_stream ON lead_notes;
DROP FUNCTION lock_lead_event_stream();

-- Rows are identified by an id from the start; the position comes at commit.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_organization_id_event_position_fkey;
ALTER TABLE lead_events DROP CONSTRAINT lead_events_pkey;
ALTER TABLE lead_events
    ALTER COLUMN position DROP NOT NULL,
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY,
    -- Marks the first event a transaction appends (until numbered): only its row queues the
    -- numbering trigger, which then numbers them all, so an import of 50,000 leads fires it
    -- once, not 50,000 times while holding the lock.
    ADD COLUMN opens_batch boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT lead_events_position_key UNIQUE (organization_id, position);
ALTER TABLE lead_events ADD PRIMARY KEY (organization_id, id);
ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_organization_id_event_position_fkey
    FOREIGN KEY (organization_id, event_position)
    REFERENCES lead_events (organization_id, position) ON DELETE CASCADE;
-- The events a transaction has appended and not yet numbered (only its own are visible) are
-- found through lead_events_position_key: a btree keeps NULLs, and `position IS NULL` uses it.

-- Appends without a position and without a lock; remembers that the transaction has events
-- to number.
CREATE OR REPLACE FUNCTION append_lead_events(p_org uuid, p_events lead_event_draft[])
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

-- Numbers the transaction's events after the tenant's head, in the order they were appended,
-- holding the stream row until commit. Fires at commit (or when notify_lead_events makes the
-- constraint immediate) for the event that opened the batch.
CREATE FUNCTION number_lead_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    org  uuid := current_organization_id();
    n    bigint;
    last bigint;
BEGIN
    IF current_setting('app.lead_events_unnumbered', true) IS DISTINCT FROM 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('app.lead_events_unnumbered', '', true);
    SELECT count(*) INTO n FROM lead_events WHERE organization_id = org AND position IS NULL;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO lead_event_streams AS s (organization_id, head) VALUES (org, n)
    ON CONFLICT (organization_id) DO UPDATE SET head = s.head + n
    RETURNING s.head INTO last;
    UPDATE lead_events e SET position = last - n + o.ord, opens_batch = false
    FROM (SELECT u.id, row_number() OVER (ORDER BY u.id) AS ord
          FROM lead_events u WHERE u.organization_id = org AND u.position IS NULL) o
    WHERE e.organization_id = org AND e.id = o.id;
    PERFORM set_config('app.lead_event_head', last::text, true);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION number_lead_events() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER lead_events_numbered AFTER INSERT ON lead_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.opens_batch) EXECUTE FUNCTION number_lead_events();

-- Called by the server just before it commits a write: numbers the transaction's events now
-- (the deferred trigger would at COMMIT) and wakes every instance's listener with the tenant
-- and its new head. The application issues the NOTIFY, not a trigger: on a distributed
-- PostgreSQL triggers run on the shards.
CREATE OR REPLACE FUNCTION notify_lead_events() RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    head text;
BEGIN
    SET CONSTRAINTS lead_events_numbered IMMEDIATE;
    head := nullif(current_setting('app.lead_event_head', true), '');
    IF head IS NOT NULL THEN
        PERFORM pg_notify('lead_events', current_organization_id()::text || ':' || head);
    END IF;
END
$$;
"#;

const UNDO: &str = r#"
CREATE OR REPLACE FUNCTION notify_lead_events() RETURNS void
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
DROP TRIGGER lead_events_numbered ON lead_events;
DROP FUNCTION number_lead_events();
CREATE OR REPLACE FUNCTION append_lead_events(p_org uuid, p_events lead_event_draft[])
RETURNS void
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
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_organization_id_event_position_fkey;
ALTER TABLE lead_events DROP CONSTRAINT lead_events_pkey;
ALTER TABLE lead_events DROP CONSTRAINT lead_events_position_key, DROP COLUMN id,
    DROP COLUMN opens_batch,
    ALTER COLUMN position SET NOT NULL, ADD PRIMARY KEY (organization_id, position);
ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_organization_id_event_position_fkey
    FOREIGN KEY (organization_id, event_position)
    REFERENCES lead_events (organization_id, position) ON DELETE CASCADE;
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
CREATE TRIGGER leads_lock_stream BEFORE INSERT OR UPDATE ON leads
    FOR EACH STATEMENT EXECUTE FUNCTION lock_lead_event_stream();
CREATE TRIGGER activities_lock_stream BEFORE INSERT ON activities
    FOR EACH STATEMENT EXECUTE FUNCTION lock_lead_event_stream();
CREATE TRIGGER lead_notes_lock_stream BEFORE INSERT ON lead_notes
    FOR EACH STATEMENT EXECUTE FUNCTION lock_lead_event_stream();
"#;

script_migration!(SQL, UNDO);
