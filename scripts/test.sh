#!/usr/bin/env bash
# Runs every test, installing what the suite needs on a fresh machine:
# Debian's Chromium (for the browser story) and playwright-core from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-wqy-zenhei
fi
npm ci --no-audit --no-fund
exec cargo test --workspace --locked
