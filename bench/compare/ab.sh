#!/usr/bin/env bash
# Two LeadGraph builds side by side: both serve at once (pool 10 each) on the benchmark database
# that run.sh seeded, and short measured runs alternate between them, so that both see the
# machine in the same state (on a shared 2-core machine its speed drifts by tens of percent
# over minutes, more than most changes are worth). Prints, per query and concurrency, each
# build's medians and the B/A ratios of each round.
#
#   bench/compare/ab.sh A_BINARY B_BINARY       from LeadGraph's root, after a run.sh
#
# Knobs: ROUNDS=6 DURATION=5 WARMUP=1 QUERIES="q1 q2" CONCURRENCY="8 32" BENCH_DB=lg_bench
#   BENCH_ADMIN_URL (superuser, as run.sh)  OUT_DIR=(mktemp)  AB_PORT=8401 (and the next)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# = 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: $0 A_BINARY B_BINARY" >&2; exit 2; }
ROUNDS="${ROUNDS:-6}"; QUERIES="${QUERIES:-q1 q2}"; CONCURRENCY="${CONCURRENCY:-8 32}"
BENCH_DB="${BENCH_DB:-lg_bench}"; AB_PORT="${AB_PORT:-8401}"
export DURATION="${DURATION:-5}" WARMUP="${WARMUP:-1}"
OUT="${OUT_DIR:-$(mktemp -d)}"; mkdir -p "$OUT"; export OUT
envval() { sed -n "s/^$1=//p" .env.example | tail -n 1; }
with_db() { local base="${1%%\?*}"; printf '%s/%s' "${base%/*}" "$2"; }
APP_URL="$(with_db "${BENCH_APP_URL:-$(envval DATABASE_URL)}" "$BENCH_DB")"
export ADMIN_DB_URL; ADMIN_DB_URL="$(with_db "${BENCH_ADMIN_URL:-$(envval ADMIN_DATABASE_URL)}" "$BENCH_DB")"
[ "$(psql -X -At -d "$ADMIN_DB_URL" -c 'select count(*) from leads')" = 200000 ] \
  || { echo "$BENCH_DB is not the seeded benchmark database: run bench/compare/run.sh first" >&2; exit 1; }
export STATS_SCHEMA; STATS_SCHEMA="$(psql -X -At -d "$ADMIN_DB_URL" \
  -c "select extnamespace::regnamespace from pg_extension where extname = 'pg_stat_statements'")"

JWT_SECRET="$(head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 64)"
declare -A PORT PID BIN=([A]="$1" [B]="$2")
trap 'kill "${PID[@]}" 2>/dev/null || true' EXIT
port=$AB_PORT
for build in A B; do
  cp "${BIN[$build]}" "$OUT/leadgraph_$build"
  (cd "$OUT" && exec env DATABASE_URL="$APP_URL" BIND_ADDR="127.0.0.1:$port" DB_POOL_SIZE=10 \
     JWT_SECRET="$JWT_SECRET" ACCESS_TOKEN_TTL_SECONDS=900 USER_RATE_LIMIT_PER_MINUTE=1000000000 \
     "$OUT/leadgraph_$build" serve) > "$OUT/server_$build.log" 2>&1 &
  PID[$build]=$!; PORT[$build]=$port; port=$((port + 1))
done
url() { echo "http://127.0.0.1:${PORT[$1]}/graphql"; }
for build in A B; do
  for i in $(seq 1 120); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' --data '{"query":"{ __typename }"}' \
      "$(url $build)" 2>/dev/null && break
    kill -0 "${PID[$build]}" 2>/dev/null || { tail -n 20 "$OUT/server_$build.log" >&2; exit 1; }
    sleep 0.5
  done
done
for round in $(seq 1 "$ROUNDS"); do
  # access tokens live 15 minutes: fresh ones every round
  python3 "$HERE/lib/lgbench.py" creds "$(url A)" "$OUT/creds.json" > /dev/null
  for q in $QUERIES; do
    python3 "$HERE/lib/lgbench.py" requests lg "$q" "$OUT/creds.json" "$OUT/req_$q.tsv" > /dev/null
    for c in $CONCURRENCY; do
      for build in A B; do
        "$HERE/lib/measure.sh" wrk "$build-$q-c$c-r$round" "$(url $build)" Authorization \
          "$OUT/req_$q.tsv" "$c" "${PID[$build]}" > /dev/null
      done
    done
  done
done
echo "A = $1 (md5 $(md5sum < "$1" | cut -c1-12)), B = $2 (md5 $(md5sum < "$2" | cut -c1-12)); $ROUNDS rounds of ${DURATION} s; load1 now $(cut -d' ' -f1 /proc/loadavg); runs in $OUT"
python3 - "$OUT" <<'PY'
import glob, json, re, statistics as st, sys
runs = {}
for p in glob.glob(sys.argv[1] + "/*.json"):
    m = re.match(r".*/([AB])-(\w+)-c(\d+)-r(\d+)\.json$", p)
    if m and not p.endswith(".cpu.json"):
        runs[(m[1], m[2], int(m[3]), int(m[4]))] = json.load(open(p))
for q, c in sorted({k[1:3] for k in runs}):
    print(f"\n{q} c={c}")
    for b in "AB":
        rs = [v for k, v in runs.items() if k[:3] == (b, q, c)]
        med = lambda f: st.median(r[f] for r in rs)
        print(f"  {b}: req/s {med('rps'):7.1f}  server CPU {med('server_cpu_ms_per_req'):.3f} ms/req  "
              f"postgres CPU {med('pg_cpu_ms_per_req'):.3f} ms/req  p99 {med('p99_ms'):.1f} ms  "
              f"statements/req {round(med('stmts_per_req'), 2) if all(r['stmts_per_req'] is not None for r in rs) else '-'}")
    rounds = sorted(k[3] for k in runs if k[:3] == ("A", q, c) and ("B", q, c, k[3]) in runs)
    cpu = lambda b, r: runs[(b, q, c, r)]["server_cpu_ms_per_req"] + runs[(b, q, c, r)]["pg_cpu_ms_per_req"]
    speed = [runs[("B", q, c, r)]["rps"] / runs[("A", q, c, r)]["rps"] for r in rounds]
    cost = [cpu("B", r) / cpu("A", r) for r in rounds]
    print("  B/A req/s by round:", " ".join(f"{x:.2f}" for x in speed), f"(median {st.median(speed):.2f})")
    print("  B/A server + postgres CPU per request:", " ".join(f"{x:.2f}" for x in cost), f"(median {st.median(cost):.2f})")
PY
