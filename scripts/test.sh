#!/usr/bin/env bash
# Command 2: the whole test suite (formatting, lints, unit and integration tests) against a
# real PostgreSQL, which it starts or installs when absent. Tests create their own databases.
set -euo pipefail
cd "$(dirname "$0")/.."

LEADGRAPH_TEST_ADMIN_URL=$(scripts/ensure-postgres.sh | tail -n 1)
export LEADGRAPH_TEST_ADMIN_URL

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# Tests are I/O-bound on PostgreSQL: more threads than cores keeps both cores busy.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked -- --test-threads 8 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
