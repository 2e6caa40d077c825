#!/usr/bin/env bash
# Checks formatting and lints, then runs every test, installing what the suite needs on a fresh machine:
# Debian's Chromium (for the browser tests) and playwright-core from the lockfile.
# The web stories run twice: on SQLite, then on PostgreSQL (a fresh database
# per test on MASHANGBAN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-wqy-zenhei
fi
npm ci --no-audit --no-fund
echo "== format and lints =="
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
echo "== the web stories again, on PostgreSQL =="
MASHANGBAN_TEST_BACKEND=postgres cargo test --locked -p mashangban-web --test api
# The Debian package test needs a release build (minutes from scratch on 2 cores), root and cargo-deb,
# so it runs here only when asked for.
if [ "${MASHANGBAN_TEST_PACKAGE:-}" = 1 ]; then
  echo "== the Debian package =="
  ./scripts/package-test.sh
else
  echo "skipped: the Debian package test (release build, several minutes); run ./scripts/package-test.sh" \
    "or set MASHANGBAN_TEST_PACKAGE=1"
fi
