"""The command line's guard (issue 15): every command runs through `run_guarded`, so a catalog, SQLite or OS
failure is one line and an exit status, never a traceback; plus the catalog's location, the scan lock as the
command line tells it, per-file reports of what indexing skipped, and `recover-catalog`."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

EXIT_OK, EXIT_SOME_FAILED = 0, 1
EXIT_CATALOG = 3  # the catalog or the app's folder cannot be used (damaged, newer, full disk, read-only)
EXIT_INTERRUPTED = 130  # Ctrl+C (SIGINT): 128 + 2, as shells report it; everything finished so far is kept


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
    import sqlite3

    from selfie_desk.cli import UsageError
    from selfie_desk.core.catalog_access import CatalogError, explain

    try:
        return handler(args)
    except (UsageError, KeyboardInterrupt, BrokenPipeError):
        raise
    except CatalogError as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return EXIT_CATALOG
    except sqlite3.Error as exc:
        print(f"selfie-desk: error: {explain(exc, catalog_file(create=False))}", file=sys.stderr)
        return EXIT_CATALOG
    except MemoryError:
        print("selfie-desk: error: out of memory; everything finished so far is kept", file=sys.stderr)
        return EXIT_SOME_FAILED
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"selfie-desk: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except Exception as exc:  # a bug: say it in one line, keep the details
        log = _log_traceback()
        print(f"selfie-desk: internal error: {type(exc).__name__}: {exc}"
              + (f" (details in {log})" if log else ""), file=sys.stderr)
        return EXIT_SOME_FAILED


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
    from selfie_desk.core.catalog_access import explain

    try:
        return paths.catalog_path()
    except OSError as exc:
        if not create:
            return Path(exc.filename or "catalog.sqlite3")
        raise explain(exc, Path(exc.filename or ".")) from None


@contextlib.contextmanager
def scan_lock_told(path: Path):
    """The catalog's scan lock; waiting for another scan is said once on stderr. Yields False on Ctrl+C."""
    from selfie_desk.core.catalog_access import scan_lock

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


def tell_skipped(skipped, listed) -> int:
    """Say on stderr, one line each, what indexing skipped that the listing does not show (unreadable
    folders, links to folders); returns how many."""
    n = 0
    for path, message in skipped:
        if path not in listed:
            print(f"selfie-desk: {message}: {path}", file=sys.stderr)
            n += 1
    return n


def add_recover_command(sub) -> None:
    recover = sub.add_parser(
        "recover-catalog",
        help="move a damaged catalog aside and rebuild it from your folders and their XMP sidecars",
        description=(
            "Move the catalog aside (to CATALOG.damaged-DATE, nothing is deleted) when it is damaged, start a "
            "new one, and score each FOLDER into it: stars and rejects come back from XMP sidecars (write them "
            "with 'selfie-desk sidecars' while the catalog works), picks from their green label. A catalog that "
            "opens fine is left alone unless --force. Exit 0 when done, 3 when the catalog cannot be replaced."
        ),
    )
    recover.add_argument("folders", nargs="*", metavar="FOLDER", type=Path, help="folders to rebuild from")
    recover.add_argument("--force", action="store_true", help="move the catalog aside even if it opens fine")
    recover.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help=argparse.SUPPRESS)
    recover.add_argument("--model", default="default", help=argparse.SUPPRESS)
    recover.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    recover.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)


def cmd_recover_catalog(args: argparse.Namespace) -> int:
    from selfie_desk.cli import UsageError, cmd_score
    from selfie_desk.core import xmp
    from selfie_desk.core.catalog_access import CatalogError, move_aside, open_catalog
    from selfie_desk.core.indexing import canonical

    missing = [str(p) for p in args.folders if not p.is_dir()]
    if missing:
        raise UsageError(f"no such folder: {', '.join(missing)}")
    path = catalog_file()
    if path.exists():
        try:
            open_catalog(path).close()
            healthy = True
        except CatalogError as exc:
            if not exc.damaged:
                raise
            healthy = False
        if healthy and not args.force:
            print(f"selfie-desk: the catalog {path} opens fine; left as it is (--force moves it aside anyway)",
                  file=sys.stderr)
        else:
            try:
                aside = move_aside(path)
            except OSError as exc:
                raise CatalogError(f"cannot move the catalog {path} aside: {exc.strerror or exc}") from None
            print(f"selfie-desk: moved the catalog aside to {aside}; starting a new one", file=sys.stderr)
    if not args.folders:
        print("selfie-desk: now run 'selfie-desk score FOLDER' (or open it in the window) for each folder",
              file=sys.stderr)
        return EXIT_OK
    args.paths = list(args.folders)
    status = cmd_score(args)
    picks = 0
    with open_catalog(path) as catalog:
        for folder in map(canonical, args.folders):
            for photo in catalog.photos(args.model, folder=str(folder)):
                if photo.decision is None and xmp.read(Path(photo.path)).label == xmp.LABELS["keep"]:
                    catalog.set_decision(photo.id, "keep")
                    picks += 1
    print(f"selfie-desk: rebuilt; {picks} pick(s) taken back from green labels", file=sys.stderr)
    return status
