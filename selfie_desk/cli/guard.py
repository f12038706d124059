"""The command line's guard (issue 15): every command runs through `run_guarded`, so a catalog, SQLite or OS
failure is one line and an exit status, never a traceback; plus the catalog's door (where it is, a folder's
photos in it), the scan lock as the command line tells it, and per-file reports of what indexing skipped."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from selfie_desk.cli.common import UsageError, printable
from selfie_desk.core.exit_codes import ExitCode


def lossless_stdout() -> None:
    """File names that are not UTF-8 print as their own bytes (as ls does) instead of crashing the table;
    JSON output stays ASCII, with such bytes as \\udcXX escapes (see the README)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="surrogateescape" if stream is sys.stdout else "backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def run_guarded(handler, args: argparse.Namespace) -> int:
    """Run one command: a catalog, SQLite or OS failure is one line on stderr and an exit status, never a
    traceback; a bug is one line too, its traceback kept in the log file for a report."""
    # Here rather than at the top: the catalog module brings numpy, which `--help` and `--version` never need.
    import sqlite3

    from selfie_desk.core.storage.catalog_access import CatalogError, explain

    try:
        return handler(args)
    except (UsageError, KeyboardInterrupt, BrokenPipeError):
        raise
    except CatalogError as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return ExitCode.CATALOG
    except sqlite3.Error as exc:
        print(f"selfie-desk: error: {explain(exc, catalog_file(create=False))}", file=sys.stderr)
        return ExitCode.CATALOG
    except MemoryError:
        print("selfie-desk: error: out of memory; everything finished so far is kept", file=sys.stderr)
        return ExitCode.SOME_FAILED
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"selfie-desk: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return ExitCode.SOME_FAILED
    except Exception as exc:  # a bug: say it in one line, keep the details
        log = _log_traceback()
        print(f"selfie-desk: internal error: {type(exc).__name__}: {exc}"
              + (f" (details in {log})" if log else ""), file=sys.stderr)
        return ExitCode.SOME_FAILED


def _log_traceback() -> str | None:
    import tempfile
    import traceback

    try:
        fd, name = tempfile.mkstemp(prefix="selfie-desk-error-", suffix=".log")
        with os.fdopen(fd, "w", errors="backslashreplace") as fh:
            traceback.print_exc(file=fh)
        return name
    except OSError:
        return None


def catalog_file(create: bool = True) -> Path:
    """Where the catalog is; the app's folder is created when `create` (a failure is a CatalogError)."""
    from selfie_desk.core import paths
    from selfie_desk.core.storage.catalog_access import explain

    try:
        return paths.catalog_path()
    except OSError as exc:
        if not create:
            return Path(exc.filename or "catalog.sqlite3")
        raise explain(exc, Path(exc.filename or ".")) from None


def catalog_photos(folder: Path, model: str) -> tuple[Path, list]:
    """The catalog's photos of `folder` (recursively) with `model`'s scores, read only; a folder that is
    missing or has none in the catalog is a usage error. Returns the canonical folder too."""
    from selfie_desk.core.formats.indexing import canonical
    from selfie_desk.core.storage.catalog_access import open_for_reading

    target = canonical(folder)
    if not target.is_dir():
        raise UsageError(f"no such folder: {folder}")
    photos = []
    if catalog_file().exists():
        with open_for_reading(catalog_file()) as catalog:
            photos = catalog.photos(model, folder=str(target))
    if not photos:
        raise UsageError(f"no photos of {target} in the catalog yet: open it in Selfie Desk or run "
                         f"'selfie-desk score {folder}' first")
    return target, photos


@contextlib.contextmanager
def scan_lock_told(path: Path):
    """The catalog's scan lock; waiting for another scan is said once on stderr. Yields False on Ctrl+C."""
    from selfie_desk.core.storage.catalog_access import scan_lock

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        with scan_lock(path, on_wait=lambda: print(
                "selfie-desk: another scan is running on this catalog; waiting for it to finish (Ctrl+C to stop)",
                file=sys.stderr, flush=True), cancelled=stop.is_set) as go:
            signal.signal(signal.SIGINT, previous)
            yield go
    finally:
        signal.signal(signal.SIGINT, previous)


def tell_offline(index_report) -> int:
    """Say on stderr, one line each, the folders indexing found offline (an unplugged drive's empty mount point);
    returns how many. Their photos were kept, listed, with their decisions."""
    for folder, count in index_report.offline:
        print(f"selfie-desk: {printable(folder)} is offline (empty now, as an unplugged drive or card leaves it): "
              f"its {count} photo{'s' if count != 1 else ''} and their decisions are kept as they were, nothing "
              "removed; plug it in and run again", file=sys.stderr)
    return len(index_report.offline)


def tell_skipped(skipped, listed) -> int:
    """Say on stderr, one line each, what indexing skipped that the listing does not show (unreadable
    folders, links to folders); returns how many."""
    n = 0
    for path, message in skipped:
        if path not in listed:
            print(f"selfie-desk: {printable(message)}: {printable(path)}", file=sys.stderr)
            n += 1
    return n
