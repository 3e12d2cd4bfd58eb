"""``python -m netpolscan``."""

from netpolscan.cli import console_main

console_main()
