"""Touching the user's files defensively: only regular files are ever opened, reads that could hang have a
timeout, and every temporary file the app writes carries one recognisable name, so that a run after a crash
(kill -9, a power cut) finds and removes what the crashed one left. Every file the app writes goes through
`write_atomic` (replace a file: settings, sidecars, thumbnails) or `write_new` (a new name, never replacing
one: exports): a reader sees the old file or the whole new one, flushed to disk first.

A FIFO named `x.jpg` blocks open() for ever and a symlink to /dev/zero reads for ever: both are refused from
their stat, and opening itself uses O_NONBLOCK then checks the opened file again (a file swapped for a FIFO
between the two is still refused, never waited on).
"""

from __future__ import annotations

import errno
import os
import queue
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

T = TypeVar("T")
_Job = tuple[Callable[[], object], dict[str, object], threading.Event]  # (fn, box for its outcome, done)

# Temporary files: `.selfie-desk-tmp-PID-RANDOM.SUFFIX`. The PID says whether the writer is still alive.
TEMP_PREFIX = ".selfie-desk-tmp-"
_TEMP_RE = re.compile(r"^\.selfie-desk-tmp-(\d+)-[A-Za-z0-9_]+\..*$")
# What versions before this one left (no PID): removed once they are LEGACY_AGE_S old.
LEGACY_EXPORT = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part$")  # export: `.STEM.XXXXXXXX.part`
LEGACY_SIDECAR = re.compile(r"^\..+\.xmp\.[A-Za-z0-9_]{8}\.part$")  # sidecars: `.NAME.xmp.XXXXXXXX.part`
LEGACY_AGE_S = 3600.0

READ_TIMEOUT_S = 20.0  # one sample read of a photo (a hung network mount, a dying disk)
READER_IDLE_S = 0.25


class NotRegularFile(OSError):
    """A path that is not a plain file (a FIFO, socket, device or folder): never opened."""


def special_kind(mode: int) -> str | None:
    """What a stat mode is when it is not a regular file, in the user's words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading, or raise NotRegularFile without ever blocking on a FIFO or device."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        st = os.stat(path)
    except OSError:
        raise
    kind = special_kind(st.st_mode)
    if kind is not None:
        raise NotRegularFile(f"skipped: {kind}, not a photo file")
    fd = os.open(path, flags)
    try:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(f"skipped: {kind}, not a photo file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def with_timeout(fn: Callable[[], T], timeout: float | None = None, what: str = "reading the file") -> T:
    """fn() on this thread's reader thread, waited for at most `timeout` s (READ_TIMEOUT_S): a hung read is
    abandoned (TimeoutError; the reader stuck in it is replaced), never waited on, and cannot keep the
    process alive at exit. One long-lived daemon reader per calling thread: a call costs a queue hand-off
    (tens of microseconds), not a thread start."""
    timeout = READ_TIMEOUT_S if timeout is None else timeout
    box: dict[str, object] = {}
    done = threading.Event()
    reader = getattr(_readers, "reader", None)
    while reader is None or reader.pid != os.getpid() or not reader.submit((fn, box, done)):
        reader = _readers.reader = _Reader()  # the first call, after an idle exit, or in a forked child
    if not done.wait(timeout):
        reader.jobs.put(None)  # it ends once (if ever) the hung call returns
        _readers.reader = None
        raise TimeoutError(f"gave up after {timeout:g} s {what} (a hung disk or network mount?)")
    if "error" in box:
        error = box["error"]
        assert isinstance(error, BaseException)  # only _Reader._serve writes it, always an exception
        raise error
    return cast(T, box["value"])  # fn()'s result


class _Reader:
    """A daemon thread running read jobs in order; it ends after READER_IDLE_S without work (so no thread
    outlives the indexing that used it), and is then replaced by the next call."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._alive = True
        threading.Thread(target=self._serve, name="timed-read", daemon=True).start()

    def submit(self, job: _Job) -> bool:
        with self._lock:
            if self._alive:
                self.jobs.put(job)
            return self._alive

    def _serve(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=READER_IDLE_S)
            except queue.Empty:
                with self._lock:
                    if self.jobs.empty():
                        self._alive = False
                        return
                continue
            if job is None:
                return
            fn, box, done = job
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed back to the caller
                box["error"] = exc
            done.set()


_readers = threading.local()


# ---- temporary files ------------------------------------------------------------------------------------------


def make_temp(folder: Path, suffix: str = ".part") -> tuple[int, str]:
    """A new private temporary file in `folder` with the app's recognisable name: (fd, path)."""
    return tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def clean_temp(folder: Path, legacy: re.Pattern[str] | None = None, now: float | None = None) -> list[str]:
    """Remove the temporary files a crashed run of the app left in `folder` (its own folder only, never
    recursively). Files of a writer still running are kept. With `legacy` (LEGACY_EXPORT, LEGACY_SIDECAR),
    also the files older versions left under that pattern, once an hour old. Returns the names removed; never raises."""
    removed: list[str] = []
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        match = _TEMP_RE.match(name)
        try:
            if match is not None:
                if _alive(int(match.group(1))):
                    continue
            elif legacy is None or not legacy.match(name):
                continue
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            if match is None and now - st.st_mtime < LEGACY_AGE_S:
                continue
            os.unlink(entry.path)
            removed.append(name)
        except (OSError, ValueError):
            continue
    return removed


# ---- writing: atomic, durable, never half a file --------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file (mkstemp's are private, 0600)

Content = bytes | Callable[[BinaryIO], None]  # the bytes, or a function that writes them to the open file


def set_mode(fd: int, mode: int) -> None:
    if hasattr(os, "fchmod"):  # not on Windows before Python 3.13, where mkstemp's files are not private anyway
        os.fchmod(fd, mode)


def _write_temp(folder: Path, content: Content, suffix: str, mode: int | None, durable: bool) -> str:
    """The content in a new temporary file of `folder` (its name recognisable by clean_temp): its path."""
    fd, tmp = make_temp(folder, suffix=suffix)
    try:
        if mode is not None:
            set_mode(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, content: Content, *, suffix: str = ".part", mode: int | None = None,
                 keep_mode: bool = False, durable: bool = True) -> None:
    """Create or replace `path` through a temporary file in the same folder, renamed into place. `mode`: the
    new file's permissions (default: private, as mkstemp makes it); `keep_mode`: a file it replaces keeps its
    own. `durable`: flushed to disk before the rename (False only for caches that are rebuilt when lost)."""
    if keep_mode:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = FILE_MODE if mode is None else mode
    tmp = _write_temp(path.parent, content, suffix, mode, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_new(folder: Path, stem: str, ext: str, content: Content, *, skip_existing: bool = False,
              mode: int = FILE_MODE) -> Path | None:
    """Write a new file `stem + ext` in `folder`, or `stem (2) + ext`... when the name is taken: never
    replacing a file. None when the name is taken and `skip_existing`. Durable and atomic, as write_atomic."""
    tmp = _write_temp(folder, content, ".part", mode, True)
    try:
        target = _claim(tmp, folder, stem, ext, skip_existing)
        if target is None:
            os.unlink(tmp)
        return target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _claim(tmp: str, dest: Path, stem: str, ext: str, skip_existing: bool) -> Path | None:
    """Give the finished temporary file a final name that no file has; None if it exists and the user skips.

    os.link fails when the name exists, so even a file appearing meanwhile is never replaced. Filesystems
    without hard links (FAT, some network shares) fall back to a check then os.replace."""
    n = 1
    while True:
        target = dest / (f"{stem}{ext}" if n == 1 else f"{stem} ({n}){ext}")
        try:
            os.link(tmp, target)
            os.unlink(tmp)
            return target
        except FileExistsError:
            if skip_existing:
                return None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if not os.path.lexists(target):
                os.replace(tmp, target)
                return target
            if skip_existing:
                return None
        n += 1
