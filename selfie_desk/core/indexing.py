"""Finding the photos in a folder and deciding which need reading: new, changed, or not yet scored.

Unchanged files (same size and mtime) are not touched. A file that appears under a new name with the
content of a catalogued photo whose file is gone is that photo, moved: it keeps scores and decisions.
Files that vanished from a scanned folder drop out of every listing at once; their records are kept for
MISSING_GRACE_S in case the photo turns up in a folder scanned later, then forgotten.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from selfie_desk.core import xmp
from selfie_desk.core.catalog import Catalog
from selfie_desk.core.decoding import is_photo

_CHUNK = 64 * 1024
MISSING_GRACE_S = 30 * 24 * 3600


def fingerprint(path: str | Path, size: int) -> str:
    """A content fingerprint from the size and three 64 KiB samples (start, middle, end).

    Reading three samples instead of the whole file keeps re-indexing a big folder cheap; edits to a photo
    change its size or its (EXIF-bearing) start or its entropy-coded end in practice.
    """
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as fh:
        digest.update(fh.read(_CHUNK))
        if size > 3 * _CHUNK:
            fh.seek(size // 2 - _CHUNK // 2)
            digest.update(fh.read(_CHUNK))
            fh.seek(size - _CHUNK)
        digest.update(fh.read(_CHUNK))
    return digest.hexdigest()


@dataclass(frozen=True)
class Todo:
    """A photo that the scoring pass must read."""

    photo_id: int
    path: str
    fingerprint: str


@dataclass
class IndexReport:
    found: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    xmp_ratings: int = 0  # new photos that arrived with stars or a reject from another app's XMP
    todo: list[Todo] = field(default_factory=list)


def walk(folder: Path) -> Iterator[Path]:
    """Photo files under `folder`, recursively, skipping hidden files and folders; unreadable folders skipped."""
    for root, dirs, files in os.walk(folder, onerror=lambda err: None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root, name)
            if is_photo(path):
                yield path


def canonical(path: Path) -> Path:
    return Path(os.path.abspath(path))


def index(targets: Iterable[Path], catalog: Catalog, model: str, head: str | None = None) -> IndexReport:
    """Bring the catalog in line with the files at `targets` (folders recursively, or single files). A photo
    is to do when it has no score from `model` (made by `head`, when given: a newer head scores again)."""
    report = IndexReport()
    seen_ids: set[int] = set()
    scanned: list[dict] = []
    for target in map(canonical, targets):
        if target.is_dir():
            files = list(walk(target))
            known = catalog.file_states(model, folder=str(target), head=head)
        else:
            files = [target]
            known = catalog.file_states(model, paths=[str(target)], head=head)
        with catalog.transaction():
            for path in files:
                _index_one(str(path), known, catalog, model, report, seen_ids, head)
        report.found += len(files)
        scanned.append(known)
    # Only after every target is indexed: a file moved from one target to another is a move, not a loss.
    gone = {s.id for known in scanned for p, s in known.items()
            if not s.missing and s.id not in seen_ids and not os.path.exists(p)}
    catalog.mark_missing(gone)
    report.removed += len(gone)
    catalog.purge_missing(MISSING_GRACE_S)
    report.todo.sort(key=lambda t: t.path)
    return report


def _index_one(path: str, known: dict, catalog: Catalog, model: str, report: IndexReport, seen: set[int],
               head: str | None = None) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return  # vanished between listing and stat: as if never seen
    state = known.get(path)
    if state is not None:
        seen.add(state.id)
        if state.missing:
            catalog.found_again(state.id)
        if state.size == st.st_size and state.mtime_ns == st.st_mtime_ns:
            if state.scored and state.error is None:
                report.unchanged += 1
            else:
                report.todo.append(Todo(state.id, path, state.fingerprint))
            return
        fp = _safe_fingerprint(path, st.st_size)
        catalog.file_changed(state.id, st.st_size, st.st_mtime_ns, fp, content_changed=fp != state.fingerprint)
        report.changed += 1
        report.todo.append(Todo(state.id, path, fp))
        return
    fp = _safe_fingerprint(path, st.st_size)
    orphan = catalog.orphan_with_fingerprint(fp, exists=os.path.exists) if fp else None
    if orphan is not None:
        catalog.move_file(orphan.id, path, st.st_size, st.st_mtime_ns)
        seen.add(orphan.id)
        report.moved += 1
        if not catalog.is_scored(orphan.id, model, head):
            report.todo.append(Todo(orphan.id, path, fp))
        return
    photo_id = catalog.add_file(path, st.st_size, st.st_mtime_ns, fp)
    seen.add(photo_id)
    report.new += 1
    report.xmp_ratings += import_xmp_rating(catalog, photo_id, path)
    report.todo.append(Todo(photo_id, path, fp))


def import_xmp_rating(catalog: Catalog, photo_id: int, path: str) -> int:
    """Stars (1-5), a pick (a Green label) or a reject (-1) another app, or File > Write XMP Sidecars, left in
    the photo's sidecar or embedded XMP, for a photo new to the catalog (never over a decision made in Selfie
    Desk). Returns 1 if something was taken."""
    try:
        info = xmp.read(Path(path))
    except Exception:  # another app's odd file must never stop indexing
        return 0
    if info.decision is not None:
        catalog.set_decision(photo_id, info.decision)
    if info.rating is not None and 1 <= info.rating <= 5:
        catalog.set_rating(photo_id, info.rating)
    return int(info.decision is not None or (info.rating is not None and 1 <= info.rating <= 5))


def _safe_fingerprint(path: str, size: int) -> str:
    """'' when the file cannot be read: the scoring pass then records why, per file."""
    try:
        return fingerprint(path, size)
    except OSError:
        return ""
