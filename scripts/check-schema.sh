#!/usr/bin/env bash
# Fails when crates/domain/src/schema.rs differs from what the migrations produce.
set -euo pipefail
cd "$(dirname "$0")/.."

database="orator_schema_check_$$"
url="postgres://postgres@127.0.0.1:5432/${database}"
trap 'psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS ${database} WITH (FORCE)" >/dev/null' EXIT

DATABASE_URL="$url" cargo run --quiet -p orator -- migrate >/dev/null
diesel print-schema --database-url "$url" > "target/schema.generated.rs"

if ! diff -u crates/domain/src/schema.rs target/schema.generated.rs; then
  echo "schema.rs is stale: regenerate it with diesel print-schema" >&2
  exit 1
fi
echo "schema.rs matches the migrations"
