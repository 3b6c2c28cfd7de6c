//! Numbering at commit (m20261204_000013, over the generic log of m20261204_000014) reads only
//! the committing transaction's own events. It found them as the tenant's events without a
//! position; but numbering one leaves a dead version without a position until vacuum, and
//! while any transaction holds the horizon back (a queue of writers waiting on the tenant's
//! stream row is one) those versions cannot even be skipped: each numbering read all of them
//! while holding the stream row, which made the queue longer. Writers not capped by LeadGraph's
//! tenant shares (PostGraphile, plain SQL) collapsed to a few writes a second with PostgreSQL
//! busy on both cores (docs/benchmarks.md, tenth sitting). Events now carry the transaction that
//! appended them (`appended_by`), and the unnumbered ones are indexed by tenant and transaction.

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The numbering function, `{mine}` narrowing its reads to the transaction's own events.
const NUMBER: &str = r#"
CREATE OR REPLACE FUNCTION number_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    org  uuid := current_organization_id();
    n    bigint;
    last bigint;
BEGIN
    IF current_setting('app.events_unnumbered', true) IS DISTINCT FROM 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('app.events_unnumbered', '', true);
    SELECT count(*) INTO n FROM events u
    WHERE u.organization_id = org AND u.position IS NULL{mine};
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO event_streams AS s (organization_id, head) VALUES (org, n)
    ON CONFLICT (organization_id) DO UPDATE SET head = s.head + n
    RETURNING s.head INTO last;
    UPDATE events e SET position = last - n + o.ord, opens_batch = false
    FROM (SELECT u.id, row_number() OVER (ORDER BY u.id) AS ord
          FROM events u WHERE u.organization_id = org AND u.position IS NULL{mine}) o
    WHERE e.organization_id = org AND e.id = o.id;
    PERFORM set_config('app.event_head', last::text, true);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION number_events() FROM PUBLIC;
"#;

/// `txid_current()` is the top-level transaction's id, savepoints included.
const MINE: &str = " AND u.appended_by = txid_current()";

fn number(mine: &str) -> String {
    NUMBER.replace("{mine}", mine)
}

script_migration!(
    &format!(
        "ALTER TABLE events ADD COLUMN appended_by bigint;
         ALTER TABLE events ALTER COLUMN appended_by SET DEFAULT txid_current();
         CREATE INDEX events_unnumbered ON events (organization_id, appended_by)
             WHERE position IS NULL;
         {}",
        number(MINE)
    ),
    &format!(
        "{}
         DROP INDEX events_unnumbered;
         ALTER TABLE events DROP COLUMN appended_by;",
        number("")
    )
);
