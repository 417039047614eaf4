#!/usr/bin/env bash
# Chromium for the browser test (tests/e2e/test_browser.py), from the OS packages. Playwright
# drives /usr/bin/chromium through `executable_path`; no `playwright install`, no download of
# Playwright's own browser builds. Idempotent: does nothing when Chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "browser.sh: $(/usr/bin/chromium --version 2>/dev/null | head -n1 || echo chromium) present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "browser.sh: need root or sudo to apt-get install chromium" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
/usr/bin/chromium --version
