#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for the HTML report tests (tests/test_report_html.py).
# Idempotent: nothing happens when /usr/bin/chromium exists. `apt-get update` runs only when the package
# index does not know the package yet. Needs root, or sudo without a password. Without Chromium the browser
# tests skip with that reason; under CI=true they fail.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "install-browser: /usr/bin/chromium already installed"
  exit 0
fi
as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "install-browser: run as root (or with sudo) to install Chromium, the Debian package chromium" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get here; install Chromium as /usr/bin/chromium for the HTML report tests" >&2
  exit 1
fi
if ! apt-cache show chromium >/dev/null 2>&1; then
  "${as_root[@]}" apt-get update -qq
fi
echo "install-browser: installing chromium (Debian package)"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
/usr/bin/chromium --version
