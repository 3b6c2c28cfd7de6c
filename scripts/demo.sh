#!/usr/bin/env bash
# Command 1: PostgreSQL up, roles and database created, migrations run, demo data loaded,
# GraphiQL on http://127.0.0.1:8000. Pass e.g. `--leads 100000` for a bigger data set.
# Settings come from the environment, then from .env (created from .env.example on the first
# run); an ADMIN_DATABASE_URL set in either is used as it is (see scripts/ensure-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

ensure_env_file
ADMIN_DATABASE_URL=$(admin_database_url)
export ADMIN_DATABASE_URL

cargo build --bin leadgraph
bin="$(target_dir)/debug/leadgraph"
"$bin" db-init
"$bin" migrate up
"$bin" seed-demo "$@"
bind=$(setting BIND_ADDR)
echo "GraphiQL on http://${bind:-127.0.0.1:8000} (Ctrl-C stops the server)" >&2
exec "$bin" serve
