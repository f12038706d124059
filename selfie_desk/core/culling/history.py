"""Undo and redo of the user's decisions (flags, stars, crops) and of their group edits (a split, a merge), kept
in the catalog so that they survive a restart: a stray Ctrl+A then "1" must never cost a photographer the ratings
it overwrote.

This module holds the only SQL that writes a photo's flag, stars or crop (tests/test_architecture.py checks that
no other module does), and only the culling session (core/culling/session.py) calls it. Every edit of the user's
goes through `EditHistory.apply`, which writes the new values and logs what each photo had before, in one
transaction; what comes from outside the user's history (another app's XMP sidecar taken in by a scan, picks read
back by `recover-catalog`, a JPEG's decisions handed to the raw it pairs with) goes through `EditHistory.write`,
the same writer with the same checks, unlogged. A group edit goes through `EditHistory.apply_groups`, which logs
the groups of the photos it touched as they were and as they became. The log lives in the catalog's `undo_log`
table (see `catalog.create_undo_log`), one history per scope (the folder the edit was made in), so undoing in one
folder never changes another's photos behind the user's back. A new edit after an undo drops the edits that could
have been redone, as every editor does.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from selfie_desk.core.storage.catalog import Catalog, StoredGroup
from selfie_desk.core.vocabulary import Decision

# The photo fields an edit can change, and how each is checked before it is written.
FIELDS = ("decision", "rating", "crop")
GROUPS = "groups"  # a logged group edit: [photo ids, "groups", groups before, groups after]
LIMIT = 2000  # edits kept per scope: a long culling session, many times over


@dataclass(frozen=True)
class Edit:
    """One logged edit: what the user did (in their words) and the photos it touched."""

    id: int
    label: str
    photo_ids: tuple[int, ...]
    regrouped: bool = False  # a group edit: undoing or redoing it changes groups, not fields
    fields: frozenset[str] = frozenset()  # the photo fields it changed (decision, rating, crop)
    # After an undo or a redo: the flags and stars it wrote, {photo id: {field: value}}, so that the window shows
    # them without reading the photos back (16,700 of them took 0.3 s to read)
    written: Mapping[int, Mapping[str, object]] = dataclasses.field(default_factory=dict)

    @property
    def description(self) -> str:
        n = len(self.photo_ids)
        return self.label if n == 1 else f"{self.label} on {n} photos"


def _column_value(field: str, value: object) -> object:
    """The value as stored in photos.<field> (a crop is JSON text), checked before anything is written."""
    if field == "decision":
        if value is not None and value not in tuple(Decision):
            raise ValueError(f"decision must be keep, reject or None, not {value!r}")
        return None if value is None else str(value)
    if field == "rating":
        if not isinstance(value, int) or not 0 <= value <= 5:
            raise ValueError("rating must be 0-5")
        return value
    if field == "crop":
        # a crop is a box: four numbers (a tuple, a list)
        return None if value is None else json.dumps([float(v) for v in cast(Iterable[float], value)])
    raise ValueError(f"not an editable field: {field!r}")


class EditHistory:
    """The undo and redo stacks of one scope, read from and written to the catalog."""

    def __init__(self, catalog: Catalog, scope: str = "", limit: int = LIMIT) -> None:
        self.catalog, self.scope, self.limit = catalog, scope, limit
        self._edits: dict[tuple[int, str, int], Edit] = {}  # log entries read or made lately (see _remember)

    def apply(self, label: str, changes: Sequence[tuple[int, str, object]]) -> Edit | None:
        """Write `changes` ((photo_id, field, new value), e.g. (12, "rating", 1)) and log them as one edit.
        Photos that already had the value are left out; nothing changed, nothing is logged (None)."""
        with self.catalog.transaction() as db:
            rows = _write(db, changes)
            if not rows:
                return None
            return self._log(db, label, rows)

    def write(self, changes: Sequence[tuple[int, str, object]]) -> tuple[int, ...]:
        """Write `changes` as `apply` does, atomically, but outside the undo history (edits made elsewhere: a
        sidecar's stars, a pick read back); returns the photos whose value changed."""
        with self.catalog.transaction() as db:
            return _photo_ids(_write(db, changes))

    def hand_over(self, source_id: int, target_id: int) -> None:
        """A photo catalogued twice is one (a JPEG found to be a raw's pair): `target_id` takes `source_id`'s flag,
        stars and crop where it has none of its own, outside the undo history (the source row goes after this)."""
        with self.catalog.transaction() as db:
            db.execute(
                "UPDATE photos SET decision = COALESCE(decision, (SELECT decision FROM photos WHERE id = ?)), "
                "rating = CASE WHEN rating = 0 THEN (SELECT rating FROM photos WHERE id = ?) ELSE rating END, "
                "crop = COALESCE(crop, (SELECT crop FROM photos WHERE id = ?)) WHERE id = ?",
                (source_id, source_id, source_id, target_id))

    def _log(self, db: sqlite3.Connection, label: str, rows: list[list[Any]]) -> Edit:
        db.execute("DELETE FROM undo_log WHERE scope = ? AND undone = 1", (self.scope,))
        text = json.dumps(rows)
        cur = db.execute("INSERT INTO undo_log (scope, label, changes, made_at) VALUES (?, ?, ?, ?)",
                         (self.scope, label, text, time.time()))
        assert cur.lastrowid is not None  # set by every INSERT into a rowid table
        db.execute("DELETE FROM undo_log WHERE scope = ? AND id <= ?",
                   (self.scope, int(cur.lastrowid) - self.limit))
        edit = Edit(int(cur.lastrowid), label, _photo_ids(rows), any(r[1] == GROUPS for r in rows), _fields(rows))
        self._remember(edit, len(text))
        return edit

    def apply_groups(self, label: str, photo_ids: Iterable[int], change: Callable[[], object]) -> Edit | None:
        """Run `change` (a split or merge through the catalog) on `photo_ids` and log it as one edit: every group
        that held one of them, before and after. Atomic: a change that raises leaves the groups as they were.
        A change that left the groups as they were is not logged (None)."""
        wanted = set(photo_ids)
        with self.catalog.transaction() as db:
            before = self.catalog.groups(sorted(wanted))
            touched = sorted(wanted | {pid for g in before for pid in g.photo_ids})
            change()
            after = self.catalog.groups(touched)
            if _layout(before) == _layout(after):
                return None
            rows = [[touched, GROUPS, [_group_json(g) for g in before], [_group_json(g) for g in after]]]
            return self._log(db, label, rows)

    def undo(self) -> Edit | None:
        """Put back what the latest edit not yet undone replaced; None when there is nothing to undo."""
        return self._step(undo=True)

    def redo(self) -> Edit | None:
        """Make again the edit undone last; None when there is nothing to redo."""
        return self._step(undo=False)

    def next_undo(self) -> Edit | None:
        return self._peek(undo=True)

    def next_redo(self) -> Edit | None:
        return self._peek(undo=False)

    def _peek(self, undo: bool) -> Edit | None:
        with self.catalog.transaction() as db:
            return self._next(db, undo)

    def _next(self, db: sqlite3.Connection, undo: bool) -> Edit | None:
        query = ("SELECT id, label, changes FROM undo_log WHERE scope = ? AND undone = 0 ORDER BY id DESC LIMIT 1"
                 if undo else
                 "SELECT id, label, changes FROM undo_log WHERE scope = ? AND undone = 1 ORDER BY id ASC LIMIT 1")
        row = db.execute(query.replace("label, changes", "label, length(changes)"), (self.scope,)).fetchone()
        if row is None:
            return None
        known = self._edits.get((row[0], row[1], row[2]))
        if known is not None:
            return known
        rows = json.loads(db.execute("SELECT changes FROM undo_log WHERE id = ?", (row[0],)).fetchone()[0])
        edit = Edit(row[0], row[1], _photo_ids(rows), any(r[1] == GROUPS for r in rows), _fields(rows))
        self._remember(edit, row[2])
        return edit

    def _remember(self, edit: Edit, size: int) -> None:
        """Keep a logged edit as read, by its id, label and size: an entry of the log never changes but for its
        undone flag (an id SQLite reuses after a deletion comes with other changes), and the Edit menu asks for
        the next undo and redo after every keystroke (parsing a bulk edit's log took 0.4 s each)."""
        self._edits[(edit.id, edit.label, size)] = edit
        while len(self._edits) > 16:
            del self._edits[next(iter(self._edits))]

    def _step(self, undo: bool) -> Edit | None:
        with self.catalog.transaction() as db:
            edit = self._next(db, undo)
            if edit is None:
                return None
            changes = json.loads(db.execute("SELECT changes FROM undo_log WHERE id = ?", (edit.id,)).fetchone()[0])
            written: dict[int, dict[str, object]] = {}
            run: list[tuple[int, object]] = []  # consecutive changes of one field, written together
            run_field = ""
            for photo_id, field, before, after in (reversed(changes) if undo else changes):
                if field != run_field and run:
                    _set_column(db, run_field, run)
                    run = []
                run_field = field
                if field == GROUPS:
                    self.catalog.restore_groups(photo_id, [_group_of_json(g) for g in (before if undo else after)])
                    continue
                if field not in FIELDS:
                    raise ValueError(f"not an editable field: {field!r}")
                run.append((photo_id, before if undo else after))
                if field in ("decision", "rating"):
                    written.setdefault(photo_id, {})[field] = before if undo else after
            if run:
                _set_column(db, run_field, run)
            db.execute("UPDATE undo_log SET undone = ? WHERE id = ?", (1 if undo else 0, edit.id))
            return replace(edit, written=written)


def _write(db: sqlite3.Connection, changes: Sequence[tuple[int, str, object]]) -> list[list[Any]]:
    """Every value checked first (one bad value writes nothing), then each that differs written: the rows to log,
    [photo id, field, before, after]. The values before are read 500 photos a query and the new ones written by
    `_set_column`: a bulk edit of 16,700 photos took two queries each (issue 31)."""
    wanted: dict[tuple[int, str], object] = {}
    for photo_id, field, value in changes:
        wanted[(photo_id, field)] = _column_value(field, value)  # a photo named twice: its last value
    rows: list[list[Any]] = []
    for field in FIELDS:
        ids = [pid for pid, f in wanted if f == field]
        before: dict[int, object] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            before.update(db.execute(f"SELECT id, {field} FROM photos WHERE id IN "
                                     f"({','.join('?' * len(chunk))})", chunk).fetchall())
        todo = [(pid, wanted[(pid, field)]) for pid in ids if pid in before and before[pid] != wanted[(pid, field)]]
        _set_column(db, field, todo)
        rows += [[pid, field, before[pid], new] for pid, new in todo]
    place = {key: i for i, key in enumerate(wanted)}  # logged in the order asked (written a field at a time)
    rows.sort(key=lambda r: place[(r[0], r[1])])
    return rows


def _photo_ids(rows: list[list[Any]]) -> tuple[int, ...]:
    """The photos a logged edit touched, in order: a field change names one, a group edit a list."""
    ids: list[int] = []
    for row in rows:
        ids.extend(row[0] if row[1] == GROUPS else [row[0]])
    return tuple(dict.fromkeys(ids))


def _set_column(db: sqlite3.Connection, field: str, values: Sequence[tuple[int, object]]) -> None:
    """Set `field` of each photo ((id, value) in order; a photo named twice ends with its last value). The photos
    sharing a value are written by one UPDATE per 500 ids: one UPDATE per photo cost five times as much (0.5 s of CPU
    against 0.1 for 16,700 photos, measured when a row still held its 7 KB embedding and signature; schema 11 keeps
    them in `photo_features`, so a row is now ~300 bytes and SQLite rewrites that)."""
    last: dict[int, object] = {}
    for pid, value in values:
        last.pop(pid, None)
        last[pid] = value
    by_value: dict[object, list[int]] = {}
    for pid, value in last.items():
        by_value.setdefault(value, []).append(pid)
    for value, ids in by_value.items():
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            db.execute(f"UPDATE photos SET {field} = ? WHERE id IN ({','.join('?' * len(chunk))})", [value, *chunk])


def _fields(rows: list[list[Any]]) -> frozenset[str]:
    return frozenset(r[1] for r in rows if r[1] != GROUPS)


def _group_json(g: StoredGroup) -> list[Any]:
    return [g.id, g.kind, g.manual, list(g.photo_ids)]


def _group_of_json(row: list[Any]) -> StoredGroup:
    return StoredGroup(int(row[0]), str(row[1]), bool(row[2]), tuple(int(p) for p in row[3]))


def _layout(groups: Sequence[StoredGroup]) -> set[tuple[str, bool, frozenset[int]]]:
    return {(g.kind, g.manual, frozenset(g.photo_ids)) for g in groups}
