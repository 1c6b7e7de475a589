#!/usr/bin/env bash
# Install (once per machine) the headless browser the app's browser tests drive: Debian's chromium.
# Playwright drives it through executable_path; `playwright install` (which downloads browser
# builds from the internet) is never used.
set -euo pipefail
say() { printf '[browser] %s\n' "$*" >&2; }
if [ -x /usr/bin/chromium ]; then
  say "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
say "installing chromium (Debian package)"
apt-get update -qq >/dev/null || { say "FAILED: apt-get update"; exit 1; }
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || { say "FAILED: apt-get install chromium"; exit 1; }
say "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
