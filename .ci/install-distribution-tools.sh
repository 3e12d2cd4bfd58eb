#!/usr/bin/env bash
# Install the Python tools that the distribution tests use (from PyPI, with the current python3's pip):
#   check-jsonschema  validates action.yml against the GitHub Action metadata schema (tests/test_action.py)
#                     and the documented workflow and GitLab pipeline (tests/test_action_diff.py, test_ci_gitlab.py)
#   pre-commit        runs `pre-commit try-repo` on .pre-commit-hooks.yaml (tests/test_precommit.py)
# Idempotent: pip leaves already-satisfied requirements alone.
#
# Usage: bash .ci/install-distribution-tools.sh
set -euo pipefail

python3 -m pip install --quiet --disable-pip-version-check \
  "check-jsonschema>=0.28" \
  "pre-commit>=3.5"

check-jsonschema --version
pre-commit --version
