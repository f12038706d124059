"""The one way the command line and the window open the catalog: every SQLite or OS failure becomes one line
saying what is wrong and what to do (CatalogError), never a traceback; a damaged catalog can be moved aside
and rebuilt; a catalog from a newer version is refused and left exactly as it is.

Also the scan lock: two scans of one catalog would read the same files twice, so a second one waits for the
first (with a message), while `list` and the window keep reading. And the window lock: one window per catalog, as
Lightroom holds one catalog open and darktable one library (issue 31: two windows on one folder shared one undo
history, and each showed flags the other had changed).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selfie_desk.core.storage.catalog import SCHEMA_VERSION, Catalog, CatalogNotAFile, NewerCatalogError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no scan lock, SQLite's own locking still holds
    fcntl = None  # type: ignore[assignment]


class CatalogError(Exception):
    """The catalog (or the app's folder) cannot be used. str(): one line for the user, what and what to do."""

    def __init__(self, message: str, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged


def _home_hint() -> str:
    return "set SELFIE_DESK_HOME to a writable folder to use another catalog"


def explain(exc: BaseException, path: Path) -> CatalogError:
    """What an exception from opening or writing the catalog at `path` means, for the user."""
    if isinstance(exc, CatalogError):
        return exc
    text = str(exc)
    low = text.lower()
    if isinstance(exc, CatalogNotAFile):
        return CatalogError(f"cannot use the catalog: {text}; move it away (it was left as it is), or "
                            f"{_home_hint()}")
    if isinstance(exc, NewerCatalogError):
        return CatalogError(f"{text}; it was left untouched: use that version of Selfie Desk, or "
                            f"{_home_hint()}")
    if "needs an upgrade" in low:
        return CatalogError(f"{text}: run 'selfie-desk score FOLDER' once where the catalog's folder is writable")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in low \
            or "database or disk is full" in low:
        return CatalogError(f"the disk holding the catalog {path} is full: free some space and run again "
                            "(everything stored so far is kept)")
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in low or "malformed" in low
                                                   or "corrupt" in low):
        return CatalogError(
            f"the catalog {path} is damaged ({text}): run 'selfie-desk recover-catalog FOLDER...' to move it "
            "aside (nothing is deleted) and rebuild it from those folders, taking stars, rejects and picks back "
            "from their XMP sidecars", damaged=True)
    if "locked" in low or "busy" in low:
        return CatalogError(f"the catalog {path} is busy: another Selfie Desk is writing to it; try again "
                            "when it is done")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR) \
            or "readonly" in low or "read-only" in low:
        where = getattr(exc, "filename", None) or path.parent
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "read-only or permission denied"
        return CatalogError(f"cannot write the app's folder {where} ({why}): "
                            f"{_home_hint()}; 'selfie-desk list' can still read the catalog")
    if isinstance(exc, sqlite3.Error):
        return CatalogError(f"cannot use the catalog {path}: {text}")
    if isinstance(exc, OSError):
        detail = exc.strerror or text
        where = f" ({exc.filename})" if exc.filename else ""
        return CatalogError(f"cannot use the catalog {path}: {detail}{where}")
    return CatalogError(f"cannot use the catalog {path}: {type(exc).__name__}: {text}")


def open_catalog(path: Path, *, readonly: bool = False) -> Catalog:
    """The catalog at `path`, opened and checked, or CatalogError. `readonly`: for reading only (falls back to
    SQLite's immutable mode where the folder cannot even hold the WAL's index)."""
    path = Path(path)
    try:
        if readonly:
            try:
                catalog = Catalog(path, readonly=True)
            except sqlite3.OperationalError as exc:
                if "unable to open" not in str(exc).lower() and "readonly" not in str(exc).lower():
                    raise
                catalog = Catalog(path, immutable=True)
        else:
            catalog = Catalog(path)
        _check_readable(catalog)
        return catalog
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        raise explain(exc, path) from None


def needs_update(path: Path) -> bool:
    """Whether opening the catalog at `path` migrates it first: a catalog an older Selfie Desk wrote (schema 11
    took ~8 s at 50,000 photos, once). Read-only, and False where it cannot tell: open_catalog then says why."""
    path = Path(path)
    try:
        if not path.is_file():  # none yet (a new one is made in an instant), or not a file (open_catalog says so)
            return False
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    except (sqlite3.Error, OSError):
        return False
    return 0 < version < SCHEMA_VERSION


def open_for_reading(path: Path) -> Catalog:
    """The catalog for a command that only reads: opened normally (so it is brought up to date), else, where
    the app's folder cannot be written, read-only."""
    try:
        return open_catalog(path)
    except CatalogError as exc:
        if exc.damaged or "newer" in str(exc):
            raise
        return open_catalog(path, readonly=True)


def _check_readable(catalog: Catalog) -> None:
    """A damaged header shows at the first query, not at connect: touch the photos table once (its smallest
    index answers). Damage deeper in the file shows when it is read, and `explain` says the same then."""
    try:
        db = catalog._db
        db.execute("SELECT count(*) FROM photos").fetchone()
    except BaseException:
        catalog.close()
        raise


def move_aside(path: Path) -> Path:
    """Move a damaged catalog (and its WAL files) to CATALOG.damaged-TIMESTAMP; returns the new name. Nothing
    is deleted: the user can still send it, or try SQLite's own .recover on it."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.rename(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.rename(side, target.with_name(target.name + suffix))
    return target


@contextmanager
def scan_lock(catalog_path: Path, on_wait: Callable[[], None] | None = None,
              cancelled: Callable[[], bool] | None = None, poll_s: float = 0.2) -> Iterator[bool]:
    """Hold the catalog's scan lock for one scan. A second scan waits (on_wait is called once, to say so) until
    the first ends or `cancelled()` is true (yields False then: do not scan). Without a writable lock file (a
    read-only home, Windows) it yields True at once: SQLite's locking still keeps the catalog whole."""
    if fcntl is None:
        yield True
        return
    lock_path = Path(catalog_path).with_name(Path(catalog_path).name + ".scan-lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError:
        yield True
        return
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait()
                told = True
                if cancelled is not None and cancelled():
                    yield False
                    return
                time.sleep(poll_s)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class CatalogInUse(CatalogError):
    """Another window has the catalog open. str(): one line naming it, and what to do."""


class WindowLock:
    """The catalog's window lock, held while a window is open (released by `release`, or by the process ending:
    a window killed never locks the catalog for ever)."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


def window_lock(catalog_path: Path) -> WindowLock:
    """Take the catalog's window lock, or CatalogInUse when another window holds it (naming its process). Without
    a writable lock file (a read-only home, Windows) it lets the window open: SQLite's locking still keeps the
    catalog whole."""
    if fcntl is None:
        return WindowLock(None)
    path = Path(catalog_path).with_name(Path(catalog_path).name + ".window-lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # taken before the catalog is first made (or updated)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError:
        return WindowLock(None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        except OSError:
            holder = ""
        os.close(fd)
        who = f" (process {holder})" if holder.isdigit() else ""
        raise CatalogInUse(f"Selfie Desk is already open on this catalog{who}: use that window, or close it first; "
                           "one window per catalog, so that no window undoes or hides another's edits") from None
    except OSError:
        os.close(fd)
        return WindowLock(None)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass  # the lock holds without the name
    return WindowLock(fd)
