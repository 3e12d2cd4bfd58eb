#!/usr/bin/env bash
# Install what the rendering tests need (tests/test_render.py, tests/test_mapping.py):
#   - helm-python-sdk (PyPI): renders Helm charts offline with Helm's own Go SDK (the `netpolscan[helm]` extra);
#   - kubectl (for `kubectl kustomize`) or kustomize: renders kustomizations.
# Idempotent: nothing is installed when it is already there. Under CI=true the tests fail (instead of
# skipping) when either is missing.
#
# kubectl comes with this project's machine image (Debian package `kubectl`). There is no real kustomize
# or kubectl package on PyPI or npm that installs without downloading a binary at install time, so when
# neither tool is present this script tries the Debian package and otherwise says what to install.
set -euo pipefail

python="${PYTHON:-python3}"

if "$python" -c 'import helm_python' >/dev/null 2>&1; then
  echo "install-render-tools: helm-python-sdk already installed"
else
  echo "install-render-tools: installing helm-python-sdk"
  "$python" -m pip install --quiet 'helm-python-sdk>=0.2.2'
  "$python" -c 'import helm_python' # fail here, clearly, if its native library cannot load
fi

if command -v kustomize >/dev/null 2>&1 || command -v kubectl >/dev/null 2>&1; then
  echo "install-render-tools: $(command -v kustomize || command -v kubectl) found"
elif command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
  echo "install-render-tools: installing kubectl (Debian package)"
  apt-get update -qq
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl; then
    echo "install-render-tools: no kubectl package available; install kubectl or kustomize" >&2
    exit 1
  fi
else
  echo "install-render-tools: neither kustomize nor kubectl is on PATH; install one of them" >&2
  exit 1
fi
