#!/usr/bin/env bash
# Prints, on its last line, the URL of a PostgreSQL superuser to create roles and databases with.
# Usage: ensure-postgres.sh [configured-url]
# - A configured URL (the caller's ADMIN_DATABASE_URL or LEADGRAPH_TEST_ADMIN_URL) is used as
#   it is: checked, never replaced; nothing is installed or started for it.
# - Otherwise a server must answer on 127.0.0.1:5432: the local cluster is started if there is
#   one, else PostgreSQL is installed from Debian's packages (apt-get, as root or with sudo);
#   when the local postgres role cannot log in over TCP it is given the password `postgres`.
set -euo pipefail

configured=${1:-}
if [ -n "$configured" ]; then
    command -v psql >/dev/null 2>&1 ||
        { echo "psql is needed: apt-get install postgresql-client" >&2; exit 1; }
    if ! psql "$configured" -qAtc 'SELECT 1' >/dev/null 2>&1; then
        echo "the configured PostgreSQL URL does not answer:" >&2
        psql "$configured" -qAtc 'SELECT 1' 2>&1 | head -n 3 >&2 || true
        exit 1
    fi
    echo "$configured"
    exit 0
fi

HOST=127.0.0.1
PORT=5432

answers() { pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

start_cluster() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 1
    local version
    version=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}')
    [ -n "$version" ] || return 1
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
}

if ! command -v pg_isready >/dev/null 2>&1 || ! answers; then
    start_cluster || true
fi
if ! answers; then
    echo "PostgreSQL is not running here; installing it (apt-get)..." >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgresql-contrib >&2
    start_cluster
fi
for _ in $(seq 1 30); do answers && break; sleep 1; done
answers || { echo "PostgreSQL did not come up on $HOST:$PORT" >&2; exit 1; }

# A superuser over TCP: trust auth where the machine allows it; otherwise give the local
# postgres role a password through the Unix socket (a fresh Debian install uses scram on TCP).
ADMIN_URL="postgres://postgres@$HOST:$PORT/postgres"
if ! psql "$ADMIN_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    ADMIN_URL="postgres://postgres:postgres@$HOST:$PORT/postgres"
    if ! psql "$ADMIN_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
        echo "the local postgres role cannot log in over TCP; giving it the password 'postgres'" >&2
        as_root runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD 'postgres'" >&2
    fi
fi
echo "$ADMIN_URL"
