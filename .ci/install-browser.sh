#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for the HTML report tests (tests/test_report_html.py).
# Idempotent: nothing happens when /usr/bin/chromium exists. `apt-get update` runs only when the package
# index does not know the package yet. Under CI=true the browser tests fail (instead of skipping) without it.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "install-browser: /usr/bin/chromium already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [[ "$(id -u)" != 0 ]]; then
  echo "install-browser: install Chromium (Debian package chromium) as root to run the HTML report tests" >&2
  exit 1
fi
if ! apt-cache show chromium >/dev/null 2>&1; then
  apt-get update -qq
fi
echo "install-browser: installing chromium (Debian package)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
/usr/bin/chromium --version
