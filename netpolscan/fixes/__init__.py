"""Fixes: apply the local edits that rules attach to their findings to the scanned files (``netpolscan
fix``), or show them as a unified diff. See README.md, "Fixing findings"."""
