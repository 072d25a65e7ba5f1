#!/usr/bin/env bash
# Installs what Orator needs beyond the Rust toolchain. Each step is skipped when already done.
#   scripts/setup.sh           everything CI uses
#   scripts/setup.sh runtime   the Debian packages the service builds and speaks with
#   scripts/setup.sh test      those, plus the S3-compatible server the tests run against
set -euo pipefail

scope="${1:-all}"
case "$scope" in
  all | runtime | test) ;;
  *) echo "usage: scripts/setup.sh [runtime|test]" >&2; exit 2 ;;
esac

DIESEL_VERSION=2.3.14
# A local S3-compatible server that verifies signatures, for the S3 storage tests.
S3S_FS_VERSION=0.14.1
# espeak-ng and lame are the local speech engine, run as programs (never linked).
packages=(libpq-dev pkg-config espeak-ng lame)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$scope" = runtime ]; then
  exit 0
fi

if [ "$scope" = all ] && ! diesel --version 2>/dev/null | grep -q "$DIESEL_VERSION"; then
  echo "installing diesel_cli $DIESEL_VERSION"
  cargo install diesel_cli --version "$DIESEL_VERSION" --no-default-features \
    --features postgres --locked --quiet
fi

if ! s3s-fs --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
  echo "installing s3s-fs $S3S_FS_VERSION"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary --quiet
fi
