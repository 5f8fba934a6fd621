#!/usr/bin/env bash
# Install Debian's chromium for the HTML report's browser test (tests/browser). Idempotent.
#   /usr/bin/chromium present          → nothing to do
#   root with apt-get                  → apt-get install chromium (~290 MB); a failure fails
#   otherwise                          → explain; the browser test skips (it FAILS under CI=true)
# Usage: bash scripts/install-chromium.sh   (make browser)
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "browser: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser: installing Debian's chromium with apt-get (about 290 MB)"
    echo "+ apt-get update -qq"
    apt-get update -qq
    echo "+ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    if [ ! -x "$CHROMIUM" ]; then
        echo "browser: apt-get finished but $CHROMIUM is missing" >&2
        exit 1
    fi
    echo "browser: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

echo "browser: $CHROMIUM not found and cannot install it here (needs root and apt-get)."
echo "browser: tests/browser will SKIP (and fail under CI=true). To enable it, run as root:"
echo "browser:   apt-get install chromium"
exit 0
