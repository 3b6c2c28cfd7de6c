#!/usr/bin/env bash
# Command 2: the whole test suite (formatting, clippy lints, unit and integration tests) against a
# real PostgreSQL, which it starts or installs when absent. Tests create their own databases.
set -euo pipefail
cd "$(dirname "$0")/.."

# A server the user named in LEADGRAPH_TEST_ADMIN_URL is used as it is; else the local one.
LEADGRAPH_TEST_ADMIN_URL=$(scripts/ensure-postgres.sh "${LEADGRAPH_TEST_ADMIN_URL:-}" | tail -n 1)
export LEADGRAPH_TEST_ADMIN_URL

cargo fmt --all -- --check

# Clippy runs inside the test build: clippy-driver wraps rustc for the workspace's own crates
# (library, binary, tests, examples), as `cargo clippy` does, so the dependencies compile once.
# A separate `cargo clippy` type-checks every dependency again: 4 of 10 minutes of a cold run.
# `-D warnings` reaches the driver the way cargo-clippy passes it (CLIPPY_ARGS).
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) ||
    { echo "clippy is needed: rustup component add clippy" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# The README's Node examples, which tests/api/examples.rs runs, need their packages.
if command -v npm >/dev/null 2>&1; then
    npm ci --prefix examples/node --no-audit --no-fund --silent ||
        echo "npm could not install examples/node's packages: their test will fail" >&2
fi

# Tests are I/O-bound on PostgreSQL: more threads than cores keeps both cores busy.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked -- --test-threads 8 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Each test drops its database as it ends; the run's template (lg_test_tmpl_<pid>) goes now
# that its process is gone. Databases of a run still going (another checkout) stay.
drop_finished_test_databases() {
    psql "$LEADGRAPH_TEST_ADMIN_URL" -qAtc \
        "SELECT datname FROM pg_database WHERE datname LIKE 'lg\_test\_%'" |
        while read -r name; do
            pid=${name#lg_test_tmpl_}
            pid=${pid#lg_test_}
            pid=${pid%%_*}
            [ -d "/proc/$pid" ] ||
                psql "$LEADGRAPH_TEST_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)"
        done
}
drop_finished_test_databases || echo "could not drop the finished runs' test databases" >&2
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
