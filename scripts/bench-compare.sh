#!/usr/bin/env bash
# LeadGraph side by side with PostGraphile 5.1.5 and the plain-SQL ceiling, on one database
# (bench/compare/README.md): builds the release binary, then seeds the data set once, starts all
# servers, verifies their answers against SQL, runs interleaved repetitions and prints the ratios.
#   scripts/bench-compare.sh                       # the full matrix (Q1, Q2, Q3, W1), about 30 minutes
#   DURATION=5 REPS=1 QUERIES=q1 scripts/bench-compare.sh     # a quick look, about 3 minutes
# Every knob of bench/compare/run.sh passes through (REPS, CONCURRENCY, QUERIES, SYSTEMS, PERF, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

cargo build --release --locked --bin leadgraph
BENCH_ADMIN_URL="${BENCH_ADMIN_URL:-$(admin_database_url)}"
export BENCH_ADMIN_URL
exec bench/compare/run.sh "$(target_dir)/release/leadgraph"
