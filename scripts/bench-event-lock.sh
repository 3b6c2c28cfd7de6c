#!/usr/bin/env bash
# What the lead event log's per-tenant lock costs writers, measured with pgbench straight
# against PostgreSQL (no server in between).
#
# Appending an event takes the tenant's row in (lead_)event_streams, held until commit, so that
# positions follow commit order. Until migration 000013 every write statement took it first
# (trigger leads_lock_stream) and held it for the rest of its transaction; since, events are
# numbered at commit (trigger (lead_)events_numbered) and the lock covers only that and the
# commit. This measures what the lock does to concurrent writers:
#   1. 16 clients, one tenant: each transaction changes the score of one random live lead
#      (one `scored` event each); TPS, latency average and p99;
#   2. the same with the event triggers of leads disabled (leads_record_insert,
#      leads_record_update, and leads_lock_stream where it still exists), the pair of 1;
#   3. 1 with the 16 clients spread over the two demo tenants (each transaction picks one);
#   (and 1 and 2 with a single client: what one writer alone gets, for reading the above;
#   for 1-3 also how many clients wait on a lock on average, sampled every 0.5 s);
#   4. a 50,000-lead import in ONE transaction into tenant A while 4 clients run 1's updates,
#      in tenant A (events on, then off) and in tenant B (events on): the import's duration
#      and the writers' p99 and max latency over the transactions that overlap the import.
# Each run is repeated (3 times by default) and the median of each figure is printed; the pairs
# run back to back so that load noise hits both. Writes go as the app role (RLS on, tenant and
# user set with SET LOCAL); every run checks that rows and events really changed.
#
# It uses a database of its own (BENCH_DB, default leadgraph_eventlock; the name must contain
# "eventlock"), created with `leadgraph db-init`, `migrate up` and `seed-demo`, and drops it
# on exit (KEEP_DB=1 keeps it, with the triggers enabled again). The role passwords come from
# DATABASE_URL / MIGRATION_DATABASE_URL (environment, then .env, then .env.example), so
# db-init leaves the shared roles as they are. Needs psql and pgbench (postgresql-client).
#
# Usage: scripts/bench-event-lock.sh
# Settings (environment): BENCH_BIN (default: a copy of target/debug/leadgraph, which is not
# rebuilt here), BENCH_DB, BENCH_LEADS (per tenant, 20000), BENCH_SECONDS (15),
# BENCH_REPEATS (3), BENCH_IMPORT_ROWS (50000), BENCH_DOWN (migrations to undo after seeding,
# 0: BENCH_DOWN=1 measures the log as the previous migration left it), KEEP_DB, KEEP_LOGS
# (keeps pgbench's logs).
# Takes about 7 minutes with the defaults. Mind the machine: PostgreSQL and pgbench share it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

DB=${BENCH_DB:-leadgraph_eventlock}
LEADS=${BENCH_LEADS:-20000}
SECONDS_PER_RUN=${BENCH_SECONDS:-15}
REPEATS=${BENCH_REPEATS:-3}
IMPORT_ROWS=${BENCH_IMPORT_ROWS:-50000}
CLIENTS=16
IMPORT_WRITERS=4
case $DB in
    *eventlock*) ;;
    *) echo "BENCH_DB must contain 'eventlock' (it is dropped at the end): $DB" >&2; exit 1 ;;
esac
for tool in psql pgbench; do
    command -v $tool >/dev/null || { echo "$tool is needed: apt-get install postgresql-client" >&2; exit 1; }
done

# The demo organizations (src/seed.rs, DEMO_ORGANIZATIONS).
ORG_A=00000000-0000-4000-8000-000000000a01
ORG_B=00000000-0000-4000-8000-000000000b02
EVENT_TRIGGERS="leads_record_insert leads_record_update"

# A URL of the configured one (environment, .env, else .env.example) on database $DB.
url_for() {
    local url
    url=$(setting "$1")
    [ -n "$url" ] || url=$(sed -n "s/^$1=//p" .env.example | tail -n 1)
    echo "${url%/*}/$DB"
}
ADMIN_DATABASE_URL=$(admin_database_url)
DATABASE_URL=$(url_for DATABASE_URL)
MIGRATION_DATABASE_URL=$(url_for MIGRATION_DATABASE_URL)
BENCH_ADMIN_URL="${ADMIN_DATABASE_URL%/*}/$DB"
export ADMIN_DATABASE_URL DATABASE_URL MIGRATION_DATABASE_URL RUST_LOG=warn

BIN=${BENCH_BIN:-}
TMP=$(mktemp -d /tmp/bench-event-lock.XXXXXX)
if [ -z "$BIN" ]; then
    # A copy: someone may rebuild target/ while this runs.
    BIN="$TMP/leadgraph"
    cp "${CARGO_TARGET_DIR:-target}/debug/leadgraph" "$BIN" ||
        { echo "no debug build: cargo build --bin leadgraph, or set BENCH_BIN" >&2; exit 1; }
fi

admin() { psql "$ADMIN_DATABASE_URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
bench_admin() { psql "$BENCH_ADMIN_URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
owner() { psql "$MIGRATION_DATABASE_URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
app() { psql "$DATABASE_URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
db_exists() { [ "$(admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" = 1 ]; }

BACKGROUND=
cleanup() {
    set +e
    [ -n "$BACKGROUND" ] && kill "$BACKGROUND" 2>/dev/null && wait "$BACKGROUND" 2>/dev/null
    if db_exists; then
        triggers ENABLE 2>/dev/null
        if [ "${KEEP_DB:-0}" = 1 ]; then
            echo "kept database $DB" >&2
        else
            admin -c "DROP DATABASE \"$DB\" WITH (FORCE)" && echo "dropped database $DB" >&2
        fi
    fi
    if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "pgbench logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ENABLE or DISABLE the triggers that append lead events (as the owner of leads).
triggers() {
    local sql="ALTER TABLE leads" sep=" "
    for t in $EVENT_TRIGGERS; do sql+="$sep$1 TRIGGER $t"; sep=", "; done
    owner -c "$sql"
}

started=$(date +%s)
echo "setting up $DB ($LEADS leads per tenant)..." >&2
if db_exists; then admin -c "DROP DATABASE \"$DB\" WITH (FORCE)"; fi
"$BIN" db-init >/dev/null
"$BIN" migrate up >/dev/null
"$BIN" seed-demo --leads "$LEADS" >/dev/null
# The schema some migrations back, to compare a change to the log with what it replaced.
for _ in $(seq 1 "${BENCH_DOWN:-0}"); do "$BIN" migrate down >/dev/null; done
for t in $EVENT_TRIGGERS; do
    [ "$(bench_admin -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'leads'::regclass AND tgname = '$t'")" = 1 ] ||
        { echo "trigger $t not found on leads: has the schema changed?" >&2; exit 1; }
done
# Measuring a build from before migration 000013: its up-front lock is an event trigger too.
if [ "$(bench_admin -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'leads'::regclass AND tgname = 'leads_lock_stream'")" = 1 ]; then
    EVENT_TRIGGERS="leads_lock_stream $EVENT_TRIGGERS"
fi
# The log and the tenants' stream rows: events and event_streams since migration 000014,
# lead_events (its lead in lead_id) and lead_event_streams before.
STREAMS=$(bench_admin -c "SELECT coalesce(to_regclass('event_streams'), to_regclass('lead_event_streams'))")
LOG=$(bench_admin -c "SELECT coalesce(to_regclass('events'), to_regclass('lead_events'))")
if [ "$LOG" = events ]; then LOG_LEAD=subject_id; else LOG_LEAD=lead_id; fi
USER_A=$(bench_admin -c "SELECT id FROM users WHERE organization_id = '$ORG_A' AND role = 'agent'")
USER_B=$(bench_admin -c "SELECT id FROM users WHERE organization_id = '$ORG_B' AND role = 'agent'")
# The live leads numbered 1..N per tenant, for picking one at random (superuser-made table in
# the throwaway database, readable by the app role).
bench_admin <<SQL
CREATE SCHEMA bench;
CREATE TABLE bench.lead_ids (organization_id uuid, n int, id uuid, PRIMARY KEY (organization_id, n));
INSERT INTO bench.lead_ids
    SELECT organization_id, row_number() OVER (PARTITION BY organization_id ORDER BY id), id
    FROM leads WHERE deleted_at IS NULL;
GRANT USAGE ON SCHEMA bench TO leadgraph_app;
GRANT SELECT ON bench.lead_ids TO leadgraph_app;
VACUUM ANALYZE;
SQL
live() { bench_admin -c "SELECT count(*) FROM bench.lead_ids WHERE organization_id = '$1'"; }
LIVE_A=$(live $ORG_A)
LIVE_B=$(live $ORG_B)

# One pgbench script per tenant: the score always changes (+1..99 mod 101), so each
# transaction appends exactly one event when the triggers are on.
update_script() { # org user live-leads
    cat >"$TMP/update-$1.sql" <<SQL
\set n random(1, $3)
BEGIN;
SET LOCAL app.current_organization_id = '$1';
SET LOCAL app.current_user_id = '$2';
UPDATE leads SET score = (score + 1 + (random() * 98)::int) % 101
    WHERE organization_id = '$1'
      AND id = (SELECT id FROM bench.lead_ids WHERE organization_id = '$1' AND n = :n);
COMMIT;
SQL
}
update_script $ORG_A "$USER_A" "$LIVE_A"
update_script $ORG_B "$USER_B" "$LIVE_B"

pgbench_app() { PGAPPNAME=bench-event-lock pgbench -n -M prepared "$@" "$DATABASE_URL"; }

# Marks before a run; after it, checks writes landed (RLS fails closed: a wrong tenant updates 0
# rows) and that each transaction appended one event when the triggers are on.
mark() { bench_admin -F ' ' -c "SELECT extract(epoch FROM clock_timestamp()), (SELECT coalesce(sum(head), 0) FROM $STREAMS)"; }
check_writes() { # label since heads-before transactions events(on|off)
    local changed heads
    changed=$(bench_admin -c "SELECT count(*) FROM leads WHERE updated_at >= to_timestamp($2) AND email NOT LIKE 'import-%'")
    heads=$(bench_admin -c "SELECT coalesce(sum(head), 0) - $3 FROM $STREAMS")
    if [ "$changed" -eq 0 ] || [ "$4" -eq 0 ]; then
        echo "$1: no lead changed ($4 transactions): are the tenant settings right?" >&2; exit 1
    fi
    if [ "$5" = on ] && [ "$heads" -lt "$4" ]; then
        echo "$1: $4 transactions but $heads events appended" >&2; exit 1
    fi
    if [ "$5" = off ] && [ "$heads" -ne 0 ]; then
        echo "$1: triggers off but $heads events appended" >&2; exit 1
    fi
    echo "  $1: $4 transactions, $changed distinct leads changed, $heads events" >&2
}

# Latency (ms) statistics of pgbench -l logs: "n avg p99 max". With a window (epoch seconds
# from, to), only the transactions whose run overlaps it; "before" takes those ending before it.
latency_stats() { # prefix [from to | before from]
    cat "$1".* | awk -v mode="${2:-all}" -v a="${3:-0}" -v b="${4:-0}" '
        $3 ~ /^[0-9]+$/ {
            end = $5 + $6 / 1e6; start = end - $3 / 1e6
            if (mode == "window" && !(start < b && end > a)) next
            if (mode == "before" && end >= a) next
            print $3 / 1000
        }' | sort -n | awk '
        { v[NR] = $1; s += $1 }
        END {
            if (NR == 0) { print "0 - - -"; exit }
            i = int(NR * 0.99); if (i < NR * 0.99) i++
            printf "%d %.2f %.2f %.2f\n", NR, s / NR, v[i], v[NR]
        }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Average number of the benchmark's backends waiting for a lock, sampled every 0.5 s (a COMMIT
# per sample: pg_stat_activity is read once per transaction).
lock_waiters() { # seconds
    bench_admin 2>&1 <<SQL | sed -n 's/.*waiting=//p'
DO \$\$
DECLARE total bigint := 0; n int := 0; w int;
BEGIN
    FOR i IN 1 .. $1 * 2 - 1 LOOP
        PERFORM pg_sleep(0.5);
        SELECT count(*) INTO w FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'bench-event-lock'
          AND wait_event_type = 'Lock';
        total := total + w; n := n + 1;
        COMMIT;
    END LOOP;
    RAISE NOTICE 'waiting=%', round(total::numeric / n, 1);
END
\$\$;
SQL
}

# Scenarios 1-3: one pgbench run; records "tps avg p99 lock-waiters" in $TMP/result-<label>.
steady_run() { # label rep events(on|off) clients script-args...
    local label=$1 rep=$2 events=$3 clients=$4
    shift 4
    read -r since heads < <(mark)
    lock_waiters "$SECONDS_PER_RUN" >"$TMP/waiting-$label-$rep" &
    BACKGROUND=$!
    pgbench_app -c "$clients" -j $((clients < 2 ? clients : 2)) -T "$SECONDS_PER_RUN" -l \
        --log-prefix "$TMP/log-$label-$rep" "$@" >"$TMP/out-$label-$rep" 2>&1 ||
        { cat "$TMP/out-$label-$rep" >&2; exit 1; }
    wait "$BACKGROUND"
    BACKGROUND=
    local tps txns
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/out-$label-$rep")
    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$TMP/out-$label-$rep")
    check_writes "$label #$rep" "$since" "$heads" "$txns" "$events"
    read -r _ avg p99 _ < <(latency_stats "$TMP/log-$label-$rep")
    echo "$(printf %.0f "$tps") $avg $p99 $(cat "$TMP/waiting-$label-$rep")" >>"$TMP/result-$label"
}

# Scenario 4: 4 writers run for the whole run; the import starts after 3 s; the writers are
# stopped 2 s after it commits (their connections ended: pgbench then closes its logs).
import_run() { # label rep writer-org events(on|off)
    local label=$1 rep=$2 org=$3 events=$4 tag="import-$1-$2"
    read -r since heads < <(mark)
    PGAPPNAME=bench-event-lock-writers pgbench -n -M prepared -c $IMPORT_WRITERS -j 2 -T 600 -l \
        --log-prefix "$TMP/log-$label-$rep" -f "$TMP/update-$org.sql" "$DATABASE_URL" \
        >"$TMP/out-$label-$rep" 2>&1 &
    BACKGROUND=$!
    sleep 3
    local from to
    from=$(date +%s.%N)
    app >"$TMP/import-$label-$rep" <<SQL
BEGIN;
SET LOCAL app.current_organization_id = '$ORG_A';
SET LOCAL app.current_user_id = '$USER_A';
INSERT INTO leads (organization_id, first_name, last_name, email, source, score)
    SELECT '$ORG_A', 'Imported', 'Lead ' || g, '$tag-' || g || '@bench.example', 'other', g % 101
    FROM generate_series(1, $IMPORT_ROWS) g;
COMMIT;
SQL
    to=$(date +%s.%N)
    sleep 2
    bench_admin -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE datname = '$DB' AND application_name = 'bench-event-lock-writers'" >/dev/null
    wait "$BACKGROUND" || true # exits 2: its clients were ended
    BACKGROUND=
    local imported txns
    imported=$(bench_admin -c "SELECT count(*) FROM leads WHERE organization_id = '$ORG_A' AND email LIKE '$tag-%'")
    [ "$imported" -eq "$IMPORT_ROWS" ] || { echo "$label: imported $imported of $IMPORT_ROWS" >&2; exit 1; }
    txns=$(cat "$TMP/log-$label-$rep".* | wc -l)
    # The import's own events are counted in the heads too: expect transactions + rows.
    check_writes "$label #$rep" "$since" "$((heads + $([ "$events" = on ] && echo "$IMPORT_ROWS" || echo 0)))" "$txns" "$events"
    local n p99 max n0 p99_0
    read -r n _ p99 max < <(latency_stats "$TMP/log-$label-$rep" window "$from" "$to")
    read -r n0 _ p99_0 _ < <(latency_stats "$TMP/log-$label-$rep" before "$from")
    echo "$(awk -v a="$from" -v b="$to" 'BEGIN { printf "%.2f", b - a }') $n $p99 $max $p99_0" >>"$TMP/result-$label"
    # Back to the seeded state (the importer's events, then its leads; FK triggers off for
    # the superuser's session only, the log has no index by lead).
    bench_admin <<SQL
SET session_replication_role = replica;
DELETE FROM $LOG e USING leads l
    WHERE l.organization_id = e.organization_id AND l.id = e.$LOG_LEAD AND l.email LIKE '$tag-%';
DELETE FROM leads WHERE email LIKE '$tag-%';
SQL
    bench_admin -c "VACUUM ANALYZE leads" -c "VACUUM ANALYZE $LOG"
}

echo "running: $REPEATS x (5 x ${SECONDS_PER_RUN}s + 3 imports of $IMPORT_ROWS rows)..." >&2
for rep in $(seq 1 "$REPEATS"); do
    triggers ENABLE
    steady_run s1 "$rep" on $CLIENTS -f "$TMP/update-$ORG_A.sql"
    triggers DISABLE
    steady_run s2 "$rep" off $CLIENTS -f "$TMP/update-$ORG_A.sql"
    triggers ENABLE
    steady_run s3 "$rep" on $CLIENTS -f "$TMP/update-$ORG_A.sql@1" -f "$TMP/update-$ORG_B.sql@1"
    # For reading 1 and 2: what one writer alone gets (the cost of the triggers themselves).
    steady_run c1 "$rep" on 1 -f "$TMP/update-$ORG_A.sql"
    triggers DISABLE
    steady_run c1_off "$rep" off 1 -f "$TMP/update-$ORG_A.sql"
    triggers ENABLE
    import_run i_a "$rep" $ORG_A on
    triggers DISABLE
    import_run i_a_off "$rep" $ORG_A off
    triggers ENABLE
    import_run i_b "$rep" $ORG_B on
done

col() { median $(awk -v c="$2" '{ print $c }' "$TMP/result-$1"); }
echo
echo "Median of $REPEATS runs; PostgreSQL $(admin -c 'SHOW server_version' | cut -d' ' -f1) and pgbench share" \
     "this machine ($(nproc) cores, load now: $(cut -d' ' -f1-3 /proc/loadavg))."
echo "Updates of one random lead's score, ${SECONDS_PER_RUN}s (lock-waiting: clients waiting on a lock, average):"
printf '  %-38s %8s %8s %8s %12s\n' "scenario" "TPS" "avg ms" "p99 ms" "lock-waiting"
for s in "s1:16 clients, 1 tenant, events on" "s2:16 clients, 1 tenant, events off" \
         "s3:16 clients, 2 tenants, events on" "c1:1 client, events on" "c1_off:1 client, events off"; do
    printf '  %-38s %8s %8s %8s %12s\n' "${s#*:}" "$(col "${s%%:*}" 1)" "$(col "${s%%:*}" 2)" \
        "$(col "${s%%:*}" 3)" "$(col "${s%%:*}" 4)"
done
echo "Import of $IMPORT_ROWS leads in one transaction into tenant A, $IMPORT_WRITERS writers as above;"
echo "writers' latency over the transactions overlapping the import (before: the 3 s before it):"
printf '  %-38s %9s %8s %9s %9s %11s\n' "scenario" "import s" "w. txns" "p99 ms" "max ms" "p99 before"
for s in "i_a:writers in A, events on" "i_a_off:writers in A, events off" "i_b:writers in B, events on"; do
    printf '  %-38s %9s %8s %9s %9s %11s\n' "${s#*:}" "$(col "${s%%:*}" 1)" "$(col "${s%%:*}" 2)" \
        "$(col "${s%%:*}" 3)" "$(col "${s%%:*}" 4)" "$(col "${s%%:*}" 5)"
done
echo "(took $(( $(date +%s) - started )) s)"
