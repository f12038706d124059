"""The folder as the grid shows it: its photos sorted and filtered the way the user asked, groups folded into stacks.

Sorting and filtering happen here in plain Python (a key function over a list), not in a QSortFilterProxyModel
calling back into Python per comparison: 10,000 photos re-sort in milliseconds. While a folder scores, new scores
update rows where they are; the order is rebuilt when the scan ends or the user changes the sort or a filter, so
the grid does not shuffle under the user's keys. No Qt: the grid's list model (ui/grid_model.py) is an adapter that
reads the rows from here and is told, through `RowsObserver`, when they are rebuilt or one of them changes.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from selfie_desk.core.culling.groups import CLOSED_EYES, SOFT_FOCUS, GroupIndex
from selfie_desk.core.culling.ranking import sort_key
from selfie_desk.core.measures import reasons
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.core.vocabulary import Decision

SORT_LABELS = {"score": "Score (best first)", "date": "Capture date", "name": "Name",
               "crop": "Best after crop", "uncertain": "Uncertain first (review)"}
DECISION_FILTERS = {"all": "All photos", "picks": "Picks", "rejects": "Rejects", "unflagged": "Unflagged"}


@dataclass(frozen=True)
class Stack:
    """How a cell stands in its group: what the grid draws on it (a count badge, best, badges)."""

    count: int = 0  # photos of its group shown or folded in this view (0: in no group of two or more)
    expanded: bool = False  # its group's frames are all shown
    position: int = 0  # 1 for the group's best ... count (expanded); 0 otherwise
    best: bool = False
    badges: frozenset[str] = frozenset()

    @property
    def collapsed(self) -> bool:
        return self.count > 1 and not self.expanded


def _with_badges(stack: Stack, badges: frozenset[str]) -> Stack:
    return stack if stack.badges == badges else dataclasses.replace(stack, badges=badges)


_SETTABLE = frozenset({"decision", "rating"})


def _replaced(p: Photo, fields: dict[str, Any]) -> Photo:
    """`dataclasses.replace(p, **fields)` for the decision fields, ten times cheaper (replace re-runs __init__
    with every field: 40 us a photo, 0.7 s for a bulk edit of 16,700)."""
    if not fields.keys() <= _SETTABLE:
        return dataclasses.replace(p, **fields)
    out = object.__new__(type(p))
    out.__dict__.update(p.__dict__)
    out.__dict__.update(fields)
    return out


@dataclass(frozen=True)
class PhotoFilter:
    decision: str = "all"  # all | picks | rejects | unflagged
    faces_only: bool = False
    min_score: float = 0.0  # 0: off (unscored photos are shown)
    min_stars: int = 0
    reason: str = ""  # "": any; else a family of reasons.FAMILIES (e.g. "soft focus"): photos that have it
    closed_eyes: bool = False  # only photos badged "closed eyes" (core/culling/groups.py GroupIndex.badges)
    soft_focus: bool = False  # only photos badged "soft focus"
    person: int = 0  # only the photos of this person of the shoot (core/culling/people.py; 0: anyone)
    person_photos: frozenset[int] = frozenset()  # their ids, as the People filter was set

    @property
    def active(self) -> bool:
        return self != PhotoFilter()

    def accepts(self, p: Photo, badges: frozenset[str] = frozenset()) -> bool:
        if self.person and p.id not in self.person_photos:
            return False
        if self.closed_eyes and CLOSED_EYES not in badges:
            return False
        if self.soft_focus and SOFT_FOCUS not in badges:
            return False
        if self.decision == "picks" and p.decision != Decision.KEEP:
            return False
        if self.decision == "rejects" and p.decision != Decision.REJECT:
            return False
        if self.decision == "unflagged" and p.decision is not None:
            return False
        if self.faces_only and not p.faces:
            return False
        if self.min_score > 0 and (p.score is None or p.score < self.min_score):
            return False
        if self.reason and not any(reasons.family_of(r) == self.reason for r in p.reasons):
            return False
        return p.rating >= self.min_stars


class RowsObserver(Protocol):
    """What a view of the rows is told (ui/grid_model.py: Qt's reset and dataChanged)."""

    def rows_about_to_change(self) -> None: ...
    def rows_changed(self) -> None: ...
    def row_changed(self, row: int) -> None: ...
    def all_rows_changed(self) -> None: ...  # many rows changed in place (a bulk edit): one repaint for all


class FolderView:
    """The folder's photos by id, and the rows shown: filtered, sorted, stacked."""

    def __init__(self) -> None:
        self._all: dict[int, Photo] = {}  # every photo of the folder, by id
        self._rows: list[Photo] = []  # what the grid shows, in order
        self._filtered: list[Photo] = []  # every photo the filters let through, before stacking
        self._row_of: dict[int, int] = {}
        self.sort = "score"
        self.filter = PhotoFilter()
        self._sorted_scores: list[float] = []
        self.groups = GroupIndex()
        self.stacked = True  # groups shown as stacks (collapsed to their best unless expanded)
        self.expanded: set[int] = set()  # group ids shown in full
        self._stack: dict[int, Stack] = {}  # photo id -> its cell's stack, for the rows shown
        self._badges: dict[int, frozenset[str]] = {}
        self._order: list[int] | None = None  # the photos in the last sorted order, before stacking
        self._counts: tuple[int, int, int, int] | None = None  # counts(), until the photos change
        self._members: dict[int, list[int]] | None = None  # group id -> its photo ids best first, for _stacked
        self._group_id: dict[int, int] = {}  # photo id -> its group of two or more
        self.observers: list[RowsObserver] = []

    # ---- reading -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._rows)

    def photo(self, row: int) -> Photo:
        return self._rows[row]

    def photos(self) -> list[Photo]:
        """The rows, in the order shown."""
        return list(self._rows)

    def filtered_photos(self) -> list[Photo]:
        """Every photo the filters let through, stacked or not (the map shows a group's every frame)."""
        return list(self._filtered)

    def all_photos(self) -> list[Photo]:
        return list(self._all.values())

    def get(self, photo_id: int) -> Photo | None:
        return self._all.get(photo_id)

    def row_of(self, photo_id: int) -> int | None:
        return self._row_of.get(photo_id)

    def rank(self, p: Photo) -> int | None:
        """1 for the best-scored photo of the folder."""
        if p.score is None:
            return None
        return len(self._sorted_scores) - bisect.bisect_right(self._sorted_scores, p.score) + 1

    def scores(self) -> list[float]:
        return list(self._sorted_scores)

    def stack(self, photo_id: int) -> Stack:
        """How the photo's cell stands in its group, with its badges (worked out when a cell is drawn, not for
        every photo at each rebuild)."""
        found = self._stack.get(photo_id)
        return Stack(badges=self.badges(photo_id)) if found is None else _with_badges(found, self.badges(photo_id))

    def badges(self, photo_id: int) -> frozenset[str]:
        found = self._badges.get(photo_id)
        if found is None:
            p = self._all.get(photo_id)
            found = self._badges[photo_id] = frozenset() if p is None else self.groups.badges(p)
        return found

    def group_rows(self, group_id: int) -> list[int]:
        """The rows showing `group_id`'s photos (one when collapsed)."""
        return [r for r in (self._row_of.get(pid) for pid in self.groups.member_ids(group_id)) if r is not None]

    def counts(self) -> tuple[int, int, int, int]:
        """(photos, picks, rejects, unreadable) of the folder, counted once per change, not per cursor move."""
        if self._counts is None:
            picks = rejects = unreadable = 0
            for p in self._all.values():
                picks += p.decision == Decision.KEEP
                rejects += p.decision == Decision.REJECT
                unreadable += p.error is not None
            self._counts = (len(self._all), picks, rejects, unreadable)
        return self._counts

    # ---- changing ----------------------------------------------------------------------------------
    def set_photos(self, photos: list[Photo], groups: GroupIndex | None = None) -> None:
        """The folder's photos (and, on opening a folder, its groups: one rebuild of the rows, not two)."""
        if groups is not None:
            self._take_groups(groups)
        self._all = {p.id: p for p in photos}
        self._badges.clear()
        self._counts = None
        self._rebuild()

    def set_groups(self, groups: GroupIndex) -> None:
        """The folder's ranked groups (after a grouping or an edit): the rows are rebuilt."""
        self._take_groups(groups)
        self._badges.clear()
        self._rebuild(resort=False)  # new groups never move a photo the user is looking at to another place

    def _take_groups(self, groups: GroupIndex) -> None:
        """`groups` as the folder's; only the expanded groups that still exist stay expanded."""
        self.groups = groups
        self._members = None
        self.expanded &= set(groups.groups)

    def set_stacked(self, stacked: bool) -> None:
        self.stacked = stacked
        self._rebuild(resort=False)

    def toggle_expanded(self, group_id: int) -> bool:
        """Expand a collapsed group or collapse an expanded one; returns whether it is now expanded."""
        if group_id in self.expanded:
            self.expanded.discard(group_id)
        else:
            self.expanded.add(group_id)
        self._rebuild(resort=False)
        return group_id in self.expanded

    def set_view(self, sort: str | None = None, photo_filter: PhotoFilter | None = None) -> None:
        if sort is not None:
            self.sort = sort
        if photo_filter is not None:
            self.filter = photo_filter
        self._rebuild()

    def refresh(self) -> None:
        """Re-sort and re-filter (after a scan, or when flags changed what a filter lets through)."""
        self._rebuild()

    def merge(self, photos: list[Photo]) -> bool:
        """Update photos in place (new scores). Returns True if some photo was not known: call set_photos."""
        unknown = rescore = False
        self._counts = None
        for p in photos:
            if p.id not in self._all:
                unknown = True
                continue
            old = self._all[p.id]
            if old == p:
                continue
            rescore = rescore or old.score != p.score
            if old.faces != p.faces or old.look != p.look:
                self._badges.pop(p.id, None)
                self.groups.forget(p.id)
            self._all[p.id] = p
            row = self._row_of.get(p.id)
            if row is not None:
                self._rows[row] = p
                for observer in self.observers:
                    observer.row_changed(row)
        if rescore:
            self._update_scores()
        return unknown

    def update_many(self, photo_ids: Iterable[int], **changes: Any) -> list[Photo]:
        """Change the same fields of many photos where they stand (a bulk flag or rating): one repaint for all."""
        return self.set_decisions({pid: changes for pid in photo_ids})

    def set_decisions(self, changes: Mapping[int, Mapping[str, Any]]) -> list[Photo]:
        """Change each photo's fields ({id: {field: value}}: flags, stars) where it stands, with one notice for
        the rows shown: per photo, 16,700 signals and repaints froze the window (issue 31)."""
        out = []
        self._counts = None
        for pid, fields in changes.items():
            p = self._all.get(pid)
            if p is None:
                continue
            p = _replaced(p, dict(fields))
            self._all[pid] = p
            row = self._row_of.get(pid)
            if row is not None:
                self._rows[row] = p
            out.append(p)
        if out and self._rows:
            for observer in self.observers:
                observer.all_rows_changed()
        return out

    def update(self, photo_id: int, **changes: Any) -> Photo | None:
        """Change one photo's fields (a flag, a rating) where it stands."""
        p = self._all.get(photo_id)
        if p is None:
            return None
        p = dataclasses.replace(p, **changes)
        self.merge([p])
        return p

    @contextmanager
    def _resetting(self) -> Iterator[None]:
        for observer in self.observers:
            observer.rows_about_to_change()
        try:
            yield
        finally:
            for observer in self.observers:
                observer.rows_changed()

    def _rebuild(self, resort: bool = True) -> None:
        with self._resetting():
            if not self.filter.active:
                rows = list(self._all.values())
            elif self.filter.closed_eyes or self.filter.soft_focus:
                rows = [p for p in self._all.values() if self.filter.accepts(p, self.badges(p.id))]
            else:  # badges only where a filter asks for them: working them out for 50,000 photos took 0.3 s
                rows = [p for p in self._all.values() if self.filter.accepts(p)]
            self._filtered = list(rows)
            if resort or self._order is None:
                rows.sort(key=sort_key(self.sort))
                self._order = [p.id for p in rows]
            else:  # the order as it was; photos it did not have yet after it, sorted
                place = {pid: i for i, pid in enumerate(self._order)}
                key: Callable[[Photo], int] = lambda p: place.get(p.id, len(place))  # noqa: E731
                rows.sort(key=key)
                rows = [p for p in rows if p.id in place] + sorted((p for p in rows if p.id not in place),
                                                                   key=sort_key(self.sort))
            self._rows = self._stacked(rows)
            self._row_of = {p.id: i for i, p in enumerate(self._rows)}
            self._update_scores()

    def _update_scores(self) -> None:
        self._sorted_scores = sorted(p.score for p in self._all.values() if p.score is not None)

    def _stacked(self, rows: list[Photo]) -> list[Photo]:
        """The rows with each group of two or more folded into one cell (its best of those shown), where the first
        of its photos in this order stands; an expanded group's photos follow it, best first."""
        self._stack = {}
        if not len(self.groups):
            return rows
        if not self.stacked:  # every frame in the plain order, each still saying where it stands in its group
            for p in rows:
                group = self.groups.group_of(p.id)
                if group is not None and len(group.members) > 1:
                    ids = self.groups.member_ids(group.id)
                    self._stack[p.id] = Stack(len(ids), True, ids.index(p.id) + 1, ids[0] == p.id)
            return rows
        # plain dicts and lists, once per grouping: through GroupIndex per photo this took 1 s at 50,000 photos
        if self._members is None:
            self._members = {gid: [m.photo.id for m in g.members] for gid, g in self.groups.groups.items()
                             if len(g.members) > 1}
            self._group_id = {pid: gid for gid, ids in self._members.items() for pid in ids}
        members, group_id = self._members, self._group_id
        shown = None if len(rows) == len(self._all) else {p.id for p in rows}  # everything shown: no filter
        out: list[Photo] = []
        placed: set[int] = set()
        for p in rows:
            gid = group_id.get(p.id)
            if gid is None:
                out.append(p)
                continue
            if gid in placed:
                continue
            placed.add(gid)
            ids = members[gid]
            here = ids if shown is None else [pid for pid in ids if pid in shown]
            best = ids[0]
            expanded = gid in self.expanded
            for i, pid in enumerate(here if expanded else here[:1], 1):
                self._stack[pid] = Stack(len(here), expanded, i if expanded else 0, pid == best)
                out.append(self._all[pid])
        return out
