#!/usr/bin/env bash
# Install network-config-analyzer (NCA) 2.1.0, the oracle of tests/test_differential_nca_calico.py, into its
# own virtualenv: its pinned dependencies (PyYAML, networkx, ...) must not replace ours.
#   venv: $NETPOLSCAN_NCA_VENV, default ~/.cache/netpolscan-nca/venv (where the test looks for bin/nca)
# Idempotent: an existing venv that already holds NCA 2.1.0 is kept.
#
# Usage: bash .ci/install-nca.sh
set -euo pipefail

venv="${NETPOLSCAN_NCA_VENV:-$HOME/.cache/netpolscan-nca/venv}"
if [ ! -x "$venv/bin/nca" ] || ! "$venv/bin/python" -m pip show network-config-analyzer 2>/dev/null | grep -q '^Version: 2.1.0$'; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "network-config-analyzer==2.1.0"
fi
"$venv/bin/python" -m pip show network-config-analyzer | grep '^Version:'
