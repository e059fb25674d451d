#!/usr/bin/env bash
# Installs redis-server (Debian package) for the Upstash rate-limit backend tests, which run
# it behind scripts/upstash-bridge.mjs. Idempotent: does nothing when it is already there.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server present: $(redis-server --version | head -n1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
elif command -v brew >/dev/null 2>&1; then
  brew install redis
else
  echo "ci-install-redis: no apt-get or brew here; install redis-server and re-run" >&2
  exit 1
fi

# The package may start a system service; the tests start their own server on a free port.
redis-server --version | head -n1
