#!/usr/bin/env bash
# Benchmark: a release server on the demo database with 100,000 leads per organization, and
# the load generator of examples/bench.rs against it. Usage: scripts/bench.sh [concurrency] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

ensure_env_file
ADMIN_DATABASE_URL=$(admin_database_url)
export ADMIN_DATABASE_URL
export RUST_LOG=warn
# The workload drives one user far past a person's pace: lift the per-user rate limit.
export USER_RATE_LIMIT_PER_MINUTE="${USER_RATE_LIMIT_PER_MINUTE:-1000000000}"

cargo build --release --bin leadgraph --example bench
target=$(target_dir)
bin="$target/release/leadgraph"
"$bin" db-init
"$bin" migrate up
"$bin" seed-demo --leads 100000
"$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:8000/healthz >/dev/null 2>&1 && break; sleep 0.2; done
"$target/release/examples/bench" http://127.0.0.1:8000/graphql "${1:-16}" "${2:-20}"
