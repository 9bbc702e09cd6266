#!/usr/bin/env bash
# Make sure the browser journeys have Debian's Chromium and axe-core; safe to run again.
set -u
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
      || true
  fi
fi
[ -x /usr/bin/chromium ] && echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)" \
  || echo "chromium: NOT installed (browser journeys will be skipped outside CI)"

if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --silent || true
  fi
fi
[ -f node_modules/axe-core/axe.min.js ] && echo "axe-core: installed" \
  || echo "axe-core: NOT installed (run npm ci)"
exit 0
