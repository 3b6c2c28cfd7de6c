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
cargo test --workspace --locked -- --test-threads 8
