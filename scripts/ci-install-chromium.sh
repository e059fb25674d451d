#!/usr/bin/env bash
# Installs Debian's chromium for the admin console's browser test (npm run test:browser, driven by
# playwright-core: no browser download). Idempotent. Never fails the build: without apt-get or
# without the package the browser test reports itself skipped.
set -uo pipefail

for bin in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$bin" ] && [ -x "$bin" ]; then
    echo "chromium present: $("$bin" --version 2>/dev/null | head -n1)"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || echo "ci-install-chromium: apt-get could not install chromium; the browser test will be skipped" >&2
else
  echo "ci-install-chromium: no apt-get here; install chromium (or set CHROMIUM_PATH) to run the browser test" >&2
fi
command -v chromium >/dev/null 2>&1 && chromium --version 2>/dev/null | head -n1
exit 0
