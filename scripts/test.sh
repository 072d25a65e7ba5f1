#!/usr/bin/env bash
# Runs the whole test suite against the local PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_EC2_METADATA_DISABLED=true
scripts/setup.sh test
scripts/services.sh

# Each test migrates its own schema in this database; start from a clean one.
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS orator_test WITH (FORCE)"
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE orator_test"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --profile ci "$@"
else
  cargo test --workspace "$@"
fi
