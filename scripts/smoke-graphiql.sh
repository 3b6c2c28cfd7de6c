#!/usr/bin/env bash
# Smoke test of the offline GraphiQL page in a real browser (not part of scripts/test.sh):
# starts a server on a database of its own with the demo data, loads / in headless Chromium
# with every host name but the server's unresolvable (as air-gapped), and checks that GraphiQL
# rendered. Leaves a screenshot smoke-graphiql.png in cargo's target directory.
# Needs Chromium: `apt-get install -y chromium` (Debian). Usage: scripts/smoke-graphiql.sh [port]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

port=${1:-8765}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "no Chromium found: apt-get install -y chromium" >&2; exit 2; }

ADMIN_DATABASE_URL=$(admin_database_url)
export ADMIN_DATABASE_URL
export DATABASE_URL=postgres://leadgraph_app:leadgraph_app_dev_password@127.0.0.1:5432/leadgraph_smoke
export MIGRATION_DATABASE_URL=postgres://leadgraph_owner:leadgraph_owner_dev_password@127.0.0.1:5432/leadgraph_smoke
export JWT_SECRET=smoke-test-signing-key-smoke-test-signing-key-0123456789
export BIND_ADDR=127.0.0.1:$port
export RUST_LOG=warn

cargo build --bin leadgraph
bin="$(target_dir)/debug/leadgraph"
"$bin" db-init
"$bin" migrate up
"$bin" seed-demo --leads 10 >/dev/null
"$bin" serve &
server=$!
profile=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$profile"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

url="http://127.0.0.1:$port/"
chrome() {
    "$browser" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$profile" \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --virtual-time-budget=15000 --window-size=1400,900 "$@" "$url" 2>/dev/null
}
dom=$(chrome --dump-dom)
screenshot="$(target_dir)/smoke-graphiql.png"
chrome --screenshot="$screenshot" >/dev/null || true

if grep -q 'class="graphiql-container' <<<"$dom"; then
    echo "GraphiQL rendered (screenshot: $screenshot)"
else
    echo "GraphiQL did not render; the page's DOM:" >&2
    head -c 2000 <<<"$dom" >&2
    exit 1
fi
