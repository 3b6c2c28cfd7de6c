#!/usr/bin/env bash
# Command 1: PostgreSQL up, roles and database created, migrations run, demo data loaded,
# GraphiQL on http://127.0.0.1:8000. Pass e.g. `--leads 100000` for a bigger data set.
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url=$(scripts/ensure-postgres.sh | tail -n 1)
if [ ! -f .env ]; then
    cp .env.example .env
    # A fresh signing key per checkout; the example's is only a placeholder.
    secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 64)
    sed -i "s|^JWT_SECRET=.*|JWT_SECRET=$secret|" .env
    echo "created .env from .env.example" >&2
fi
export ADMIN_DATABASE_URL="$admin_url"

cargo build --bin leadgraph
bin=target/debug/leadgraph
$bin db-init
$bin migrate up
$bin seed-demo "$@"
exec $bin serve
