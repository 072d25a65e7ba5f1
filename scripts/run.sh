#!/usr/bin/env bash
# Runs Orator (API and worker in one process) against the local defaults:
# PostgreSQL and Redis on localhost, local-disk storage and mail spool under ./var.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_EC2_METADATA_DISABLED=true
export ORATOR_SECURE_COOKIES="${ORATOR_SECURE_COOKIES:-false}"
scripts/setup.sh runtime
scripts/services.sh

exec cargo run -p orator -- all "$@"
