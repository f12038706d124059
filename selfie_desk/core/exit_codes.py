"""How `selfie-desk` and the window end: exit statuses scripts rely on. In the core so that the window's
start-up (ui/app.py) returns the same CATALOG status as every command, without importing the command line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The command's exit statuses: a contract scripts rely on (the top-level --help lists them)."""

    OK = 0
    SOME_FAILED = 1  # some files failed (each named on stderr), or the command could not do its work
    USAGE = 2  # a mistake in the command line (argparse uses 2 as well)
    CATALOG = 3  # the catalog or the app's folder cannot be used (damaged, newer, full disk, read-only)
    INTERRUPTED = 130  # Ctrl+C (SIGINT): 128 + 2, as shells report it; everything finished so far is kept
