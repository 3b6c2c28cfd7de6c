#!/usr/bin/env bash
# Fan-out benchmark: a release server on the demo database, then the subscribers and writer of
# examples/bench_events.rs against it, then the same workload from a client that is not the
# project's own (bench/events/client.mjs: graphql-ws's client over ws, on Node 20+), each
# against a freshly started server so that both read its memory from the same start.
# Usage: [CLIENT=both|rust|node] scripts/bench-events.sh [subscribers] [tenants] [writes/s] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

ensure_env_file
ADMIN_DATABASE_URL=$(admin_database_url)
export ADMIN_DATABASE_URL
export RUST_LOG=warn
ulimit -n 20000 2>/dev/null || true
client=${CLIENT:-both}
args=("${1:-1000}" "${2:-20}" "${3:-50}" "${4:-20}")

cargo build --release --bin leadgraph --example bench_events
target=$(target_dir)
bin="$target/release/leadgraph"
"$bin" db-init
"$bin" migrate up
if [ "$client" != rust ]; then
  command -v node >/dev/null || { echo "node (20 or later) is needed for CLIENT=$client" >&2; exit 1; }
  if ! cmp -s bench/events/package-lock.json bench/events/node_modules/.bench-lock; then
    (cd bench/events && npm ci --no-fund --no-audit --loglevel=error)
    cp bench/events/package-lock.json bench/events/node_modules/.bench-lock
  fi
fi

server=
trap '[ -z "$server" ] || kill $server 2>/dev/null || true' EXIT
# Runs one client against a server of its own; the client reads the server's memory (SERVER_PID).
against_fresh_server() {
  local status=0
  "$bin" serve &
  server=$!
  for _ in $(seq 1 50); do curl -fs http://127.0.0.1:8000/healthz >/dev/null 2>&1 && break; sleep 0.2; done
  SERVER_PID=$server "$@" || status=$?
  kill $server; wait $server 2>/dev/null || true
  server=
  return "$status"
}
if [ "$client" != node ]; then
  echo "== client: examples/bench_events.rs (tokio-tungstenite)"
  against_fresh_server "$target/release/examples/bench_events" http://127.0.0.1:8000 "${args[@]}"
fi
if [ "$client" != rust ]; then
  echo "== client: bench/events/client.mjs (graphql-ws $(node -p 'require("./bench/events/node_modules/graphql-ws/package.json").version') on Node $(node --version))"
  against_fresh_server node bench/events/client.mjs http://127.0.0.1:8000 "${args[@]}"
fi
