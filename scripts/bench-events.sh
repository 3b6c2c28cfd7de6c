#!/usr/bin/env bash
# Fan-out benchmark: a release server on the demo database and the subscribers and writer of
# examples/bench_events.rs against it.
# Usage: scripts/bench-events.sh [subscribers] [tenants] [writes/s] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

ensure_env_file
ADMIN_DATABASE_URL=$(admin_database_url)
export ADMIN_DATABASE_URL
export RUST_LOG=warn
ulimit -n 20000 2>/dev/null || true

cargo build --release --bin leadgraph --example bench_events
target=$(target_dir)
bin="$target/release/leadgraph"
"$bin" db-init
"$bin" migrate up
"$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:8000/healthz >/dev/null 2>&1 && break; sleep 0.2; done
"$target/release/examples/bench_events" http://127.0.0.1:8000 "${1:-1000}" "${2:-20}" "${3:-50}" "${4:-20}"
