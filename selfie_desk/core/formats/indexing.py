"""Finding the photos in a folder and deciding which need reading: new, changed, or not yet scored.

Unchanged files (same size, mtime, inode and change time) are not read. A file whose size and mtime are the same
but whose inode or change time moved (a chmod, a restore, a copy that kept its times) has its fingerprint read
again: the same content is the same photo; other content is another photo that took this one's place, so it is
indexed as new (its own XMP, no score, no decisions) and the old photo's row waits aside, as a missing photo's does.
The check costs nothing on a folder where nothing changed (a stat, which indexing makes anyway; measured in
docs/reliability.md). A file that appears under a new name with the content of a catalogued photo whose file is
gone is that photo, moved: it keeps scores and decisions.
Files that vanished from a scanned folder drop out of every listing at once; their records (scores, decisions) are
kept in case the photo turns up again, and only ever forgotten on the user's word (`Catalog.forget_missing`).
A folder whose photos all vanished at once, leaving it empty (the mount point of an unplugged drive or card), is
offline: its photos stay listed with their decisions, nothing is marked missing, and the report says so.

A camera raw and a JPEG of the same NAME in one folder (RAW+JPEG) are one photo: the raw's row, naming the
JPEG as its `pair`; the JPEG has no row of its own. A JPEG catalogued on its own before its raw arrived hands
its row (decisions, crop) to the raw; when the raw is deleted the JPEG takes the row back, and when the JPEG is
deleted the raw keeps it: either way the decisions stay.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from selfie_desk.core.files import open_regular, special_kind, with_timeout
from selfie_desk.core.formats import raw, xmp
from selfie_desk.core.formats.decoding import SUFFIXES
from selfie_desk.core.storage.catalog import Catalog, FileState, Result

if TYPE_CHECKING:
    from selfie_desk.core.culling.session import CullingSession

_CHUNK = 64 * 1024
# What reading one file found (see _probe): its stat, why it cannot be a photo (or None), its fingerprint.
Probe = tuple[os.stat_result, str | None, str]


def fingerprint(path: str | Path, size: int) -> str:
    """A content fingerprint from the size and three 64 KiB samples (start, middle, end).

    Reading three samples instead of the whole file keeps re-indexing a big folder cheap; edits to a photo
    change its size or its (EXIF-bearing) start or its entropy-coded end in practice.
    """
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open_regular(path) as fh:
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
    pair: str | None = None  # a raw's JPEG (RAW+JPEG): read instead when the raw itself cannot be read


@dataclass
class IndexReport:
    found: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    xmp_ratings: int = 0  # new photos that arrived with stars or a reject from another app's XMP
    # Folders that are offline, (folder, photos the catalog keeps there): emptied all at once, as the mount point
    # of an unplugged drive is. Their photos were not marked missing: they are listed, decisions and all.
    offline: list[tuple[str, int]] = field(default_factory=list)
    todo: list[Todo] = field(default_factory=list)
    # What could not be indexed, (path, message for the user): special files, broken or looping links,
    # unreadable folders. Files among them are also in the catalog with that message as their error.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # What indexing noticed about photos it did index, (path, message for the user): a RAW+JPEG pair whose two
    # files disagree on their orientation (the raw's is used).
    notes: list[tuple[str, str]] = field(default_factory=list)


def walk(folder: Path, skipped: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Photo files under `folder`, recursively (in name order, top down), skipping hidden files and folders.
    Links to folders are not followed; a folder that cannot be read, or whose listing hangs, is skipped;
    both are told in `skipped` (path, why)."""
    stack = [str(folder)]
    while stack:
        root = stack.pop()
        try:
            entries = with_timeout(partial(_listing, root), what=f"listing {os.path.basename(root) or root}")
        except OSError as exc:
            if skipped is not None:
                skipped.append((root, f"skipped: cannot read this folder ({exc.strerror or exc})"))
            continue
        subfolders = []
        for name, is_dir, is_link in entries:
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            if is_dir and is_link:
                if skipped is not None:
                    skipped.append((path, "skipped: a link to a folder, not followed (open the folder it points to)"))
            elif is_dir:
                subfolders.append(path)
            elif os.path.splitext(name)[1].lower() in SUFFIXES:  # is_photo, without a Path per entry
                yield Path(path)
        stack.extend(reversed(subfolders))


def _listing(folder: str) -> list[tuple[str, bool, bool]]:
    """(name, is a folder (links followed), is a link) of each entry, in name order: os.walk's view."""
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            out.append((entry.name, is_dir, entry.is_symlink()))
    return sorted(out)


def canonical(path: Path) -> Path:
    """The one spelling of a path the catalog knows (the door every path comes in by): absolute, with links,
    `..` and `.` resolved, so a folder opened through a symlink or an alias finds the same photos."""
    absolute = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(absolute):
        return Path(os.path.realpath(absolute))
    # a file: its folder resolved, its own name kept (a link to a photo is catalogued as the link, as a
    # folder scan finds it, not as the file it points to)
    head, tail = os.path.split(absolute)
    return Path(os.path.realpath(head), tail)


def gone(path: str) -> bool:
    """Whether a catalogued file is really gone: not there at all, not merely unreadable for now (a folder
    that lost its permissions, an unplugged disk's mount point) nor a link that dangles for now."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def photo_path(target: Path) -> Path:
    """The path a photo is catalogued under: a JPEG with a raw of the same NAME beside it is that raw's pair, so
    the photo is the raw (`score IMG_1.JPG` scores the pair IMG_1.CR2 + IMG_1.JPG)."""
    if target.suffix.lower() not in raw.PAIR_SUFFIXES:
        return target
    try:
        names = os.listdir(target.parent)
    except OSError:
        return target
    for raw_name, jpeg in raw.pair_up(names).items():
        if jpeg == target.name:
            return target.with_name(raw_name)
    return target


def pair_of(path: Path) -> Path | None:
    """The JPEG beside a raw that makes a RAW+JPEG pair with it (None for anything else)."""
    if not raw.is_raw(path):
        return None
    try:
        names = os.listdir(path.parent)
    except OSError:
        return None
    jpeg = raw.pair_up(names).get(path.name)
    return None if jpeg is None else path.with_name(jpeg)


def pairs_of(files: list[Path]) -> dict[str, str]:
    """{raw path: JPEG path} for the RAW+JPEG pairs among `files` (any folders)."""
    by_folder: dict[str, list[str]] = {}
    for path in files:
        by_folder.setdefault(str(path.parent), []).append(path.name)
    out = {}
    for folder, names in by_folder.items():
        for raw_name, jpeg in raw.pair_up(names).items():
            out[os.path.join(folder, raw_name)] = os.path.join(folder, jpeg)
    return out


def index(targets: Iterable[Path], catalog: Catalog, model: str, head: str | None = None) -> IndexReport:
    """Bring the catalog in line with the files at `targets` (folders recursively, or single files). A photo
    is to do when it has no score from `model` (made by `head`, when given: a newer head scores again).

    The files are read (stat, fingerprints, sidecars) before the catalog is written, and each target's
    changes are then written in one short transaction: the catalog's write lock is never held across file
    I/O, so a slow disk or a special file never makes another process wait on the catalog."""
    report = IndexReport()
    seen_ids: set[int] = set()
    scanned: list[dict[str, FileState]] = []
    claimed: set[str] = set()  # orphans' old paths taken by a move in this pass
    for target in (photo_path(canonical(t)) for t in targets):
        if target.is_dir():
            files = list(walk(target, report.skipped))
            known = catalog.file_states(model, folder=str(target), head=head)
        else:
            sibling = [target.with_name(j) for r, j in raw.pair_up(_names(target.parent)).items() if r == target.name]
            files = [target, *sibling]
            known = catalog.file_states(model, paths=[str(p) for p in files], head=head)
        pairs = pairs_of(files)
        paired = set(pairs.values())
        files = [f for f in files if str(f) not in paired]  # a raw's JPEG is part of the raw's photo
        names = [str(path) for path in files]
        probes = _probe_all(names, known)
        heirs = {s.pair: s for s in known.values() if s.pair is not None}  # a pair's JPEG: its raw's row
        plans = [p for p in (_plan(name, probe, known, catalog, claimed, report, pairs, heirs)
                             for name, probe in zip(names, probes, strict=True)) if p is not None]
        report.notes += _pair_notes(plans, pairs)  # files read before the catalog's write lock is taken
        first_todo = len(report.todo)
        with catalog.transaction():
            ids = {plan.path: _apply(plan, catalog, model, report, seen_ids, head) for plan in plans}
            _apply_pairs(plans, ids, pairs, known, catalog)
        report.todo[first_todo:] = [replace(t, pair=pairs.get(t.path)) for t in report.todo[first_todo:]]
        report.found += len(files)
        scanned.append(known)
    # Only after every target is indexed: a file moved from one target to another is a move, not a loss.
    vanished = {p: s.id for known in scanned for p, s in known.items()
                if not s.missing and s.id not in seen_ids and gone(p)}
    offline = _offline(vanished, [canonical(t) for t in targets])
    lost = {pid for p, pid in vanished.items() if p not in offline}
    catalog.mark_missing(lost)
    report.removed += len(lost)
    counts: dict[str, int] = {}
    for folder in offline.values():
        counts[folder] = counts.get(folder, 0) + 1
    report.offline += sorted(counts.items())
    report.todo.sort(key=lambda t: t.path)
    return report


def _offline(vanished: dict[str, int], targets: list[Path]) -> dict[str, str]:
    """{path: the offline folder it is in} for those vanished files whose nearest folder still there (up to the
    target scanned) is empty: the mount point an unplugged drive or card leaves. A photo deleted from a folder
    that still holds other files is not offline: it is missing (kept, out of the listings)."""
    roots = [str(t) for t in targets]
    verdict: dict[str, str | None] = {}  # folder -> the empty folder it hangs from, or None

    def offline_root(folder: str) -> str | None:
        if folder in verdict:
            return verdict[folder]
        found: str | None = None
        try:
            found = None if os.listdir(folder) else folder  # an empty folder: offline at it
        except FileNotFoundError:  # gone as well: look at the folder above, up to the target scanned
            parent = os.path.dirname(folder)
            if parent != folder and any(parent == r or parent.startswith(r.rstrip("/") + "/") for r in roots):
                found = offline_root(parent)
        except OSError:
            found = None  # unreadable: its photos were never marked (`gone` says not gone), nothing to say
        verdict[folder] = found
        return found

    out: dict[str, str] = {}
    for path in vanished:
        root = offline_root(os.path.dirname(path))
        if root is not None:
            out[path] = root
    return out


@dataclass(frozen=True)
class _Plan:
    """What indexing one file will write, found out before the catalog is touched."""

    kind: str  # unchanged | todo | changed | moved | new | problem
    path: str
    size: int = 0
    mtime_ns: int = 0
    fingerprint: str = ""
    state: FileState | None = None
    orphan: FileState | None = None
    xmp: xmp.XmpInfo | None = None
    problem: str | None = None
    stamp: tuple[int, int] | None = None  # the file's (inode, ctime_ns) as read now
    crop: tuple[float, float, float, float] | None = None  # an XMP crop, in pixels of the upright photo


_PROBE_CHUNK = 128  # files read per timed call; a chunk that times out is read again one file at a time


def _probe_all(paths: list[str], known: dict[str, FileState]) -> list[Probe | OSError | None]:
    """`_probe` of every path (or the OSError it raised), every read on a timer: a hung disk or mount is told
    as a TimeoutError for the file that hangs, never waited on."""
    def probe_or_error(path: str) -> Probe | OSError | None:
        try:
            return _probe(path, known.get(path))
        except OSError as exc:
            return exc

    def probe_chunk(chunk: list[str]) -> list[Probe | OSError | None]:
        return [probe_or_error(p) for p in chunk]

    out: list[Probe | OSError | None] = []
    for i in range(0, len(paths), _PROBE_CHUNK):
        chunk = paths[i:i + _PROBE_CHUNK]
        try:
            out += with_timeout(partial(probe_chunk, chunk), what="reading files")
        except TimeoutError:
            for path in chunk:
                try:
                    out.append(with_timeout(partial(probe_or_error, path), what=f"reading {os.path.basename(path)}"))
                except TimeoutError as exc:
                    out.append(exc)
    return out


def _plan(path: str, probe: Probe | OSError | None, known: dict[str, FileState], catalog: Catalog, claimed: set[str],
          report: IndexReport, pairs: dict[str, str], heirs: dict[str, FileState]) -> _Plan | None:
    state = known.get(path)
    if isinstance(probe, TimeoutError):
        report.skipped.append((path, f"skipped: {probe}"))
        return _Plan("problem", path, state=state, problem=f"skipped: {probe}")
    if isinstance(probe, OSError):
        report.skipped.append((path, f"skipped: {probe.strerror or probe}"))
        return None
    if probe is None:
        return None  # vanished between listing and stat: as if never seen
    st, problem, fp = probe
    if problem is not None:
        report.skipped.append((path, problem))
        return _Plan("problem", path, st.st_size, st.st_mtime_ns, state=state, problem=problem)
    stamp = (st.st_ino, st.st_ctime_ns)
    if state is not None:
        if state.size == st.st_size and state.mtime_ns == st.st_mtime_ns:
            if fp and state.fingerprint and fp != state.fingerprint:  # read again (_probe): another photo
                info = _xmp_info(path)
                return _Plan("replaced", path, st.st_size, st.st_mtime_ns, fp, state=state, xmp=info,
                             stamp=stamp, crop=_xmp_crop(path, info))
            if state.scored and state.error is None:
                return _Plan("unchanged", path, state=state, stamp=stamp)
            return _Plan("todo", path, fingerprint=state.fingerprint, state=state, stamp=stamp)
        return _Plan("changed", path, st.st_size, st.st_mtime_ns, fp, state=state, stamp=stamp)
    orphan = catalog.orphan_with_fingerprint(fp, exists=lambda p: p in claimed or not gone(p)) if fp else None
    if orphan is not None:
        claimed.add(orphan.path)
        return _Plan("moved", path, st.st_size, st.st_mtime_ns, fp, orphan=orphan, stamp=stamp)
    heir = _pair_heir(path, known, pairs, heirs)
    if heir is not None:
        return _Plan("adopt", path, st.st_size, st.st_mtime_ns, fp, orphan=heir, stamp=stamp)
    info = _xmp_info(path)
    return _Plan("new", path, st.st_size, st.st_mtime_ns, fp, xmp=info, stamp=stamp, crop=_xmp_crop(path, info))


def _pair_heir(path: str, known: dict[str, FileState], pairs: dict[str, str],
               heirs: dict[str, FileState]) -> FileState | None:
    """The row a new file of a RAW+JPEG pair takes over: a new raw takes its JPEG's own row (the JPEG was
    catalogued alone before the raw came); a JPEG left alone takes its deleted raw's row (`heirs`: the rows
    of raws by their pair's path)."""
    jpeg = pairs.get(path)
    if jpeg is not None:
        state = known.get(jpeg)
        return state if state is not None and not state.missing else None
    state = heirs.get(path)
    return state if state is not None and gone(state.path) else None


def _pair_notes(plans: list[_Plan], pairs: dict[str, str]) -> list[tuple[str, str]]:
    """What to tell of the pairs this pass forms: those whose two files disagree on orientation."""
    out = []
    for plan in plans:
        wanted = pairs.get(plan.path)
        before = plan.state or plan.orphan
        if wanted is not None and (before is None or before.pair != wanted):
            try:
                disagreement = with_timeout(partial(_orientation_disagreement, plan.path, wanted),
                                            what=f"reading {os.path.basename(plan.path)}")
            except TimeoutError:
                continue  # a hung disk: the scoring pass will say so for the file
            if disagreement is not None:
                out.append((plan.path, disagreement))
    return out


def _apply_pairs(plans: list[_Plan], ids: dict[str, int | None], pairs: dict[str, str], known: dict[str, FileState],
                 catalog: Catalog) -> None:
    """Each row's `pair` brought in line with the files: set for a raw with a JPEG beside it, cleared for one
    whose JPEG went; a JPEG that still has its own row gives its decisions to the raw's and loses it."""
    for plan in plans:
        photo_id = ids.get(plan.path)
        if photo_id is None:
            continue
        before = plan.state or plan.orphan
        current = before.pair if before is not None and before.id == photo_id else None
        wanted = pairs.get(plan.path)
        if wanted is not None:
            own = known.get(wanted)
            if own is not None and own.id != photo_id and (plan.orphan is None or plan.orphan.id != own.id):
                with catalog.transaction():
                    _session(catalog).hand_over(own.id, photo_id)
                    catalog.merge_pair(photo_id, own.id)
        if wanted != current:
            catalog.set_pair(photo_id, wanted)


_TURNS = {1: "upright", 2: "mirrored", 3: "turned 180°", 4: "flipped", 5: "transposed", 6: "turned 90° clockwise",
          7: "transversed", 8: "turned 90° anticlockwise"}


def _orientation_disagreement(raw_path: str, jpeg_path: str) -> str | None:
    """A message when a pair's raw and JPEG say different things about which way is up (the raw's is used)."""
    from PIL import Image

    from selfie_desk.core.formats.decoding import ORIENTATION

    raw_turn = raw.orientation(Path(raw_path))
    try:
        with open_regular(jpeg_path) as fh, Image.open(fh) as im:
            jpeg_turn = int(im.getexif().get(ORIENTATION, 1))
    except Exception:
        return None
    if jpeg_turn == raw_turn or jpeg_turn not in _TURNS:
        return None
    return (f"the raw and its JPEG {os.path.basename(jpeg_path)} disagree on orientation (raw: "
            f"{_TURNS.get(raw_turn, raw_turn)}, JPEG: {_TURNS[jpeg_turn]}); the raw's is used")


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _probe(path: str, state: FileState | None) -> Probe | None:
    """The file's stat, why it cannot be a photo (or None), and its fingerprint when the catalog needs one
    ('' when it cannot be read: the scoring pass then says why). None: it is gone."""
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return None
    try:
        st = os.stat(path)
    except OSError as exc:
        return lst, link_problem(path, exc), ""
    kind = special_kind(st.st_mode)
    if kind is not None:
        return st, f"skipped: {kind}, not a photo file", ""
    if state is not None and state.size == st.st_size and state.mtime_ns == st.st_mtime_ns \
            and state.stamp in (None, (st.st_ino, st.st_ctime_ns)):
        return st, None, state.fingerprint  # unchanged (or catalogued before stamps were kept): nothing read
    try:
        return st, None, fingerprint(path, st.st_size)
    except OSError:
        return st, None, ""


def _apply(plan: _Plan, catalog: Catalog, model: str, report: IndexReport, seen: set[int],
           head: str | None = None) -> int | None:
    """Write one plan; the id of the row now at its path."""
    state, path = plan.state, plan.path
    if state is not None:
        seen.add(state.id)
        if state.missing:
            catalog.found_again(state.id)
        if plan.stamp is not None and plan.stamp != state.stamp and plan.kind != "replaced":
            catalog.set_stamp(state.id, plan.stamp)
    if plan.kind == "replaced":  # another photo in this one's place: a new photo; the old one's row waits aside
        assert state is not None
        catalog.set_aside(state.id)
        photo_id = catalog.add_file(path, plan.size, plan.mtime_ns, plan.fingerprint, plan.stamp)
        seen.add(photo_id)
        report.new += 1
        if plan.xmp is not None:
            report.xmp_ratings += apply_xmp_rating(catalog, photo_id, plan.xmp, plan.crop)
        report.todo.append(Todo(photo_id, path, plan.fingerprint))
        return photo_id
    if plan.kind == "problem":
        if state is None:
            photo_id = catalog.add_file(path, plan.size, plan.mtime_ns, "")
            seen.add(photo_id)
            report.new += 1
        elif state.error == plan.problem:
            report.unchanged += 1
            return state.id
        else:
            photo_id = state.id  # a photo that turned into a special file or a broken link: decisions kept
            report.changed += 1
        catalog.record([Result(photo_id=photo_id, error=plan.problem)], model)
        return photo_id
    if plan.kind == "unchanged":
        report.unchanged += 1
    elif plan.kind == "todo":
        assert state is not None
        report.todo.append(Todo(state.id, path, plan.fingerprint))
    elif plan.kind == "changed":
        assert state is not None
        catalog.file_changed(state.id, plan.size, plan.mtime_ns, plan.fingerprint,
                             content_changed=plan.fingerprint != state.fingerprint)
        report.changed += 1
        report.todo.append(Todo(state.id, path, plan.fingerprint))
    elif plan.kind == "moved":
        orphan = plan.orphan
        assert orphan is not None
        catalog.move_file(orphan.id, path, plan.size, plan.mtime_ns)
        catalog.set_stamp(orphan.id, plan.stamp)
        seen.add(orphan.id)
        report.moved += 1
        if not catalog.is_scored(orphan.id, model, head):
            report.todo.append(Todo(orphan.id, path, plan.fingerprint))
        return orphan.id
    elif plan.kind == "adopt":  # the other file of a RAW+JPEG pair takes the row: decisions kept, scored again
        orphan = plan.orphan
        assert orphan is not None
        catalog.move_file(orphan.id, path, plan.size, plan.mtime_ns)
        catalog.set_stamp(orphan.id, plan.stamp)
        catalog.file_changed(orphan.id, plan.size, plan.mtime_ns, plan.fingerprint, content_changed=True)
        seen.add(orphan.id)
        report.changed += 1
        report.todo.append(Todo(orphan.id, path, plan.fingerprint))
        return orphan.id
    else:
        photo_id = catalog.add_file(path, plan.size, plan.mtime_ns, plan.fingerprint, plan.stamp)
        seen.add(photo_id)
        report.new += 1
        if plan.xmp is not None:
            report.xmp_ratings += apply_xmp_rating(catalog, photo_id, plan.xmp, plan.crop)
        report.todo.append(Todo(photo_id, path, plan.fingerprint))
        return photo_id
    return state.id if state is not None else None


def link_problem(path: str, exc: OSError) -> str:
    """Why a path that lstat sees cannot be followed, in the user's words."""
    if exc.errno == errno.ELOOP:
        return "skipped: a symbolic link that loops back on itself"
    if os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"skipped: a broken symbolic link (to {target}, which cannot be reached: {exc.strerror or exc})"
    return f"skipped: {exc.strerror or exc}"


def _xmp_info(path: str) -> xmp.XmpInfo | None:
    try:
        return with_timeout(lambda: xmp.read(Path(path)), what=f"reading the XMP of {os.path.basename(path)}")
    except Exception:  # another app's odd file must never stop indexing
        return None


def apply_xmp_rating(catalog: Catalog, photo_id: int, info: xmp.XmpInfo,
                     crop: tuple[float, float, float, float] | None = None) -> int:
    """Take stars (1-5), a pick (a Green label), a reject (-1) and the crop (`crop`: `_xmp_crop`'s box) from XMP
    already read (another app's, or File > Write XMP Sidecars'), through the culling session like every edit,
    outside the undo history; 1 if something was taken."""
    changes: list[tuple[int, str, object]] = []
    if info.decision is not None:
        changes.append((photo_id, "decision", info.decision))
    if info.rating is not None and 1 <= info.rating <= 5:
        changes.append((photo_id, "rating", info.rating))
    if crop is not None:
        changes.append((photo_id, "crop", crop))
    if changes:
        _session(catalog).adopt(changes)
    return int(bool(changes))


def _session(catalog: Catalog) -> CullingSession:
    """The one writer of the user's edits, for the few that indexing takes in. Imported here, not at the top: the
    session brings grouping (scipy), which `list` and the window's start need not load with indexing."""
    from selfie_desk.core.culling.session import CullingSession

    return CullingSession(catalog)


def _xmp_crop(path: str, info: xmp.XmpInfo | None) -> tuple[float, float, float, float] | None:
    """The XMP's crop as the catalog keeps crops: whole pixels of the upright full-size photo. Camera Raw's is on
    the image as stored, so the file's own orientation turns it (darktable's is upright already). The header only
    is read, and only for a photo whose XMP has a crop. Whole pixels: what we wrote comes back as the same box,
    so a 4:5 crop is still exactly 4:5 (six decimals are 0.05 px on a 100,000 px side)."""
    if info is None or (info.crop is None and info.upright_crop is None):
        return None
    try:
        size = with_timeout(lambda: _upright_size(path), what=f"reading {os.path.basename(path)}")
    except Exception:  # unreadable here: the scoring pass says why; the stars and flags are still taken
        return None
    if size is None:
        return None
    width, height, orientation = size
    if info.crop is not None:
        box = xmp.crop_from_xmp(info.crop, width, height, orientation)
    else:
        assert info.upright_crop is not None
        left, top, right, bottom = info.upright_crop
        box = (left * width, top * height, right * width, bottom * height)
    x0, y0, x1, y1 = (float(round(v)) for v in box)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _upright_size(path: str) -> tuple[int, int, int] | None:
    """(width, height) of the upright photo and its stored orientation, from the header alone."""
    if raw.is_raw(path):
        try:
            info = raw.read_info(Path(path))
        except raw.RawError:
            return None
        return info.width, info.height, info.orientation
    from PIL import Image

    from selfie_desk.core.formats.decoding import ORIENTATION

    with open_regular(path) as fh, Image.open(fh) as im:
        width, height = im.size
        orientation = int(im.getexif().get(ORIENTATION, 1))
    orientation = orientation if orientation in range(1, 9) else 1
    return (height, width, orientation) if orientation in (5, 6, 7, 8) else (width, height, orientation)
