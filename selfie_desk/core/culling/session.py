"""The culling session: the open folder as data, and the only way the user's edits reach the catalog.

What napari's `ViewerModel` is to its Qt viewer, this is to the window: it holds what the window shows (the folder's
photos and groups, the sort, the filter, the stacks: `view`; which view is up: `mode`; what each view has under the
cursor and the grid's selection) and does what the keys do, so the rules are plain Python that a test runs without a
window. The window draws it and tells it what the user moved to; it never writes an edit itself.

- **What a key acts on** (darktable's `act_on.c`): `targets()`. A region dragged on the map, else the grid's (or the
  map's) selection, else the photo shown large: the loupe's, the compare's active pane, the map's current one.
- **One writer per edit** (darktable's `ratings.c`): `decide`, `rate`, `crop`, `keep_best`, `split`, `merge`, `undo`
  and `redo` are the only calls that change a flag, stars, a crop or a group the user made, each one undoable step
  in the folder's history (core/culling/history.py, whose SQL nothing else runs); `adopt` and `hand_over` take in
  what was decided elsewhere (another app's XMP, picks read back, a RAW+JPEG pair) outside that history.
- **Each returns what changed** (Anki's `OpChanges`): `Changes` names the photos as they are now, the step logged,
  whether the stored groups changed (the window ranks them again in the background) and what to tell the user, so
  every view refreshes from one answer instead of each edit refreshing them by hand.

Errors reading or writing the catalog (`sqlite3.Error`) propagate: the caller tells the user, and a failed edit
leaves nothing half-written (each is one transaction).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from selfie_desk.core.culling.groups import GroupIndex, RankedGroup
from selfie_desk.core.culling.history import LIMIT, Edit, EditHistory
from selfie_desk.core.culling.view import FolderView
from selfie_desk.core.measures.describe import name_of
from selfie_desk.core.model_cards import DEFAULT_MODEL
from selfie_desk.core.storage.catalog import Box, Catalog, Photo
from selfie_desk.core.vocabulary import Decision, ViewMode

__all__ = ["DECISION_LABELS", "KEEP_BEST_LABEL", "MERGE_WHAT", "NO_GROUP", "SPLIT_ALL", "SPLIT_WHAT", "Changes",
           "CullingSession", "Edit", "stars_label"]

KEEP_BEST_LABEL = "Keep best of"  # B's edit in the undo history ("Keep best of burst, reject 3")
DECISION_LABELS: dict[Decision | None, str] = {Decision.KEEP: "Pick", Decision.REJECT: "Reject", None: "Unflag"}
NO_GROUP = "This photo is in no group of one moment (Ctrl+G merges selected photos into one)"
SPLIT_WHAT = "Select frames of a group (G shows them) to split them off it"
SPLIT_ALL = "Select some of the group's frames, not all (G shows them)"
MERGE_WHAT = "Select two or more photos (or stacks) to merge them into one group"


def stars_label(n: int) -> str:
    return "No stars" if n == 0 else f"{n} star{'s' if n > 1 else ''}"


@dataclass(frozen=True)
class Changes:
    """What one call changed, for the views to refresh from (Anki's OpChanges)."""

    photos: tuple[Photo, ...] = ()  # photos whose fields changed, as they are now (already in `view`)
    edit: Edit | None = None  # the step logged, undone or redone (None: nothing changed, nothing logged)
    history: bool = False  # the undo history may read differently (the Edit menu's words)
    groups: bool = False  # the stored groups changed: rank them again (the grouping thread does)
    asked: int = 0  # photos the edit was asked for (a bulk edit says how many it touched)
    group_id: int | None = None  # the group B culled
    message: str = ""  # what to tell the user it did
    refused: str = ""  # why it did nothing (the rules said no, or there was nothing to do)
    error: str = ""  # the catalog could not be read afterwards (the edit itself stands)


class CullingSession:
    """One open folder: its rows, what is under the cursor in each view, and the edits the user makes to it."""

    def __init__(self, catalog: Catalog, model: str = DEFAULT_MODEL, limit: int = LIMIT) -> None:
        self.catalog, self.model = catalog, model
        self.history = EditHistory(catalog, "", limit)  # undo and redo, per folder, kept in the catalog
        self.view = FolderView()
        self.folder: str | None = None
        self.mode = ViewMode.GRID
        # What each view has under the cursor (the window tells), for `current` and `targets`
        self.cursor: int | None = None  # the grid's current photo
        self.selected: tuple[int, ...] = ()  # the grid's selection, in row order
        self.loupe_photo: int | None = None
        self.compared: tuple[int, ...] = ()  # the compare's photos, in pane order
        self.compare_active: int | None = None
        self.map_current: int | None = None
        self.region: frozenset[int] = frozenset()  # a region dragged on the map

    # ---- the folder --------------------------------------------------------------------------------
    def open(self, folder: str) -> Changes:
        """`folder`'s photos as the catalog has them, with its own undo history; its groups come ranked later
        (`view.set_groups`, from the grouping thread). A catalog that cannot be read opens the folder empty."""
        self.folder = folder
        self.history.scope = folder
        self.region = frozenset()
        self.view.expanded.clear()
        try:
            photos, error = self.catalog.photos(self.model, folder=folder), ""
        except sqlite3.Error as exc:
            photos, error = [], f"Cannot read the catalog: {exc}"
        self.view.set_photos(photos, GroupIndex())  # one rebuild of the rows: the groups come ranked later
        return Changes(tuple(photos), error=error)

    def reread(self, photo_ids: Iterable[int]) -> list[Photo]:
        """What the catalog now says of these photos (after an edit or an undo), merged into the view."""
        known = [p for p in (self.view.get(pid) for pid in photo_ids) if p is not None]
        fresh = self.catalog.photos(self.model, paths=[p.path for p in known])
        self.view.merge(fresh)
        return fresh

    def set_model(self, model: str) -> None:
        """Another score model's scores and order (the decisions are the photos', whatever the model)."""
        self.model = model

    # ---- what a key acts on ------------------------------------------------------------------------
    def get(self, photo_id: int | None) -> Photo | None:
        return None if photo_id is None else self.view.get(photo_id)

    def current(self) -> Photo | None:
        """The photo being looked at: the loupe's, the compare's active pane, the map's current, the grid's cursor."""
        return self.get({ViewMode.LOUPE: self.loupe_photo, ViewMode.COMPARE: self.compare_active,
                         ViewMode.MAP: self.map_current}.get(self.mode, self.cursor))

    def selected_photos(self) -> list[Photo]:
        return [p for p in (self.view.get(pid) for pid in self.selected) if p is not None]

    def targets(self) -> list[Photo]:
        """What a flag or rating key applies to: a region dragged on the map (every frame in it, stacked or not),
        else the grid's selection (in the grid or the map), else the photo shown large."""
        if self.mode == ViewMode.MAP and self.region:
            return [p for p in (self.view.get(pid) for pid in sorted(self.region)) if p is not None]
        if self.mode in (ViewMode.GRID, ViewMode.MAP):
            selected = self.selected_photos()
            if selected:
                return selected
        p = self.current()
        return [p] if p is not None else []

    def kept_rows(self, current: int | None, selected: Sequence[int]) -> tuple[int, list[int]] | None:
        """Where the grid's cursor and selection go once the rows were rebuilt (a new sort, a filter, a stack
        folded or unfolded, a scan's new photos): each selected photo where it went (left out if hidden now); the
        cursor with its photo, onto its stack when folded into one, else onto the first selected photo still
        shown, else the first row. (cursor row, selected rows); None when there is no row, or when the cursor
        was on nothing (the first row is chosen afresh, as on opening)."""
        view = self.view
        if current is None or not len(view):
            return None
        rows = [r for r in (view.row_of(pid) for pid in selected) if r is not None]
        row = view.row_of(current)
        if row is None:
            group = view.groups.group_of(current)
            if group is not None:  # folded into its stack: the cursor on the stack
                on_stack = view.group_rows(group.id)
                row = on_stack[0] if on_stack else None
        if row is None:
            row = rows[0] if rows else 0
        return row, rows or [row]

    def current_group(self) -> RankedGroup | None:
        """The group of two or more frames of the photo being looked at, or None."""
        p = self.current()
        group = None if p is None else self.view.groups.group_of(p.id)
        return None if group is None or len(group.members) < 2 else group

    # ---- flags, stars, crops -----------------------------------------------------------------------
    def decide(self, decision: Decision | None, photo_ids: Sequence[int] | None = None) -> Changes:
        """P, X, U: pick, reject or unflag the targets (or `photo_ids`)."""
        return self._set("decision", None if decision is None else Decision(decision), DECISION_LABELS[decision],
                         photo_ids)

    def rate(self, stars: int, photo_ids: Sequence[int] | None = None) -> Changes:
        """0-5: the targets' (or `photo_ids`') stars."""
        return self._set("rating", stars, stars_label(stars), photo_ids)

    def crop(self, box: Box | None, photo_ids: Sequence[int], label: str = "Crop") -> Changes:
        """Accept `box` as these photos' crop (None clears it; the original file never changes). The photos come
        back re-read: the accepted crop's score is the catalog's to say."""
        edit = self.history.apply(label, [(pid, "crop", None if box is None else tuple(box)) for pid in photo_ids])
        try:
            photos = tuple(self.reread(photo_ids))
        except sqlite3.Error:  # the crop is stored; the window only misses its new score
            photos = ()
        return Changes(photos, edit, history=True, asked=len(photo_ids))

    def _set(self, field: str, value: object, label: str, photo_ids: Sequence[int] | None) -> Changes:
        ids = [p.id for p in self.targets()] if photo_ids is None else list(photo_ids)
        if not ids:
            return Changes()
        # persisted at once (a crash or a kill keeps every keystroke), and logged for undo
        edit = self.history.apply(label, [(pid, field, value) for pid in ids])
        updated = tuple(self.view.update_many(ids, **{field: value}))  # one repaint, not one per photo
        message = ""
        if len(ids) > 1:  # a bulk action says how many photos it touched, and how to take it back
            message = f"{label} on {len(ids)} photos ({len(edit.photo_ids) if edit else 0} changed) · Ctrl+Z undoes"
        return Changes(updated, edit, history=True, asked=len(ids), message=message)

    # ---- groups of one moment ----------------------------------------------------------------------
    def keep_best(self) -> Changes:
        """B: pick the group's best and reject its other frames, as one undoable edit. The frame kept is the one
        chosen when there is a choice: the compare's active pane, the loupe's photo, the cursor in an expanded
        group (or with groups unstacked); else the best. A bracket or a panorama only gets its pick."""
        group = self.current_group()
        if group is None:
            return Changes(refused=NO_GROUP)
        current = self.current()
        chosen = current.id if current is not None and (
            self.mode in (ViewMode.LOUPE, ViewMode.COMPARE) or group.id in self.view.expanded
            or not self.view.stacked) else None
        plan = self.view.groups.cull_plan(group.members[0].photo.id, chosen)
        if plan is None:
            return Changes()
        changes: list[tuple[int, str, object]] = [(plan.keep.id, "decision", Decision.KEEP)]
        changes += [(p.id, "decision", Decision.REJECT) for p in plan.reject]
        label = f"{KEEP_BEST_LABEL} {group.kind}" + (f", reject {len(plan.reject)}" if plan.reject else "")
        edit = self.history.apply(label, changes)
        updated = self.view.set_decisions({plan.keep.id: {"decision": Decision.KEEP},
                                           **{p.id: {"decision": Decision.REJECT} for p in plan.reject}})
        text = plan.message(name_of) + ("" if edit is None else " · Ctrl+Z undoes")
        if edit is None:
            text += " (nothing changed: they were already so)"
        return Changes(tuple(updated), edit, history=True, asked=len(changes),
                       group_id=group.id, message=text)

    def split(self, photo_ids: Sequence[int] | None = None) -> Changes:
        """Ctrl+Shift+G: the frames (the grid's selection; elsewhere what a key acts on) leave their group for one
        of their own, kept through every re-scan. Some of a group's frames, never all of them."""
        chosen = self._photos(photo_ids) if photo_ids is not None else (
            self.selected_photos() if self.mode == ViewMode.GRID else self.targets())
        groups = self.view.groups
        by_group: dict[int, list[int]] = {}
        for p in chosen:
            group = groups.group_of(p.id)
            if group is not None and len(group.members) > 1 and p.id in groups.member_ids(group.id):
                by_group.setdefault(group.id, []).append(p.id)
        if not by_group:
            return Changes(refused=SPLIT_WHAT)
        if any(len(ids) == len(groups.member_ids(gid)) for gid, ids in by_group.items()):
            return Changes(refused=SPLIT_ALL)

        def split() -> None:
            for gid, ids in by_group.items():
                self.catalog.split_group(gid, ids)

        ids = [pid for group_ids in by_group.values() for pid in group_ids]
        changes = self._group_edit("split", "Split group", ids, split)
        if changes.refused:
            return changes
        n = len(ids)
        whose = "their groups" if len(by_group) > 1 else "the group"
        return _with_message(changes, f"Split {n} photo{'s' if n != 1 else ''} off {whose} into a group of their "
                                      "own; kept through every re-scan (Ctrl+Z undoes, Ctrl+G merges again)")

    def merge(self, photo_ids: Sequence[int] | None = None) -> Changes:
        """Ctrl+G: the photos (the grid's selection; elsewhere the compare's) become one group, kept through
        re-scans; a folded stack brings its whole group."""
        chosen = self._photos(photo_ids) if photo_ids is not None else (
            self.selected_photos() if self.mode == ViewMode.GRID else self._photos(self.compared))
        if len(chosen) < 2:
            return Changes(refused=MERGE_WHAT)

        def merge() -> None:
            target: int | None = None
            for p in chosen:
                group = self.view.groups.group_of(p.id)
                gid = group.id if group is not None and group.id > 0 else None
                whole = self.view.stack(p.id).collapsed or (group is not None and len(group.members) == 1)
                if target is None:
                    target = gid if whole and gid is not None else self.catalog.move_to_group(p.id, None)
                elif gid == target:
                    continue
                elif whole and gid is not None:
                    target = self.catalog.merge_groups([target, gid])
                else:
                    self.catalog.move_to_group(p.id, target)

        changes = self._group_edit("merge", "Merge groups", [p.id for p in chosen], merge)
        if changes.refused:
            return changes
        return _with_message(changes, "Merged the selection into one group; kept through every re-scan "
                                      "(Ctrl+Z undoes, Ctrl+Shift+G splits frames off again)")

    def _group_edit(self, what: str, label: str, photo_ids: Sequence[int], change: Callable[[], None]) -> Changes:
        """A split or a merge, logged for undo (one edit, atomic: it all happens or none of it)."""
        try:
            edit = self.history.apply_groups(label, photo_ids, change)
        except ValueError as exc:
            return Changes(refused=f"Cannot {what}: {exc}")
        return Changes(edit=edit, history=True, groups=True, asked=len(photo_ids))

    def _photos(self, photo_ids: Iterable[int]) -> list[Photo]:
        return [p for p in (self.view.get(pid) for pid in photo_ids) if p is not None]

    # ---- undo and redo -----------------------------------------------------------------------------
    def undo(self) -> Changes:
        """Put back what the latest edit not yet undone replaced (in this folder)."""
        return self._step(undo=True)

    def redo(self) -> Changes:
        """Make again the edit undone last."""
        return self._step(undo=False)

    def next_undo(self) -> Edit | None:
        return self.history.next_undo() if self.folder is not None else None

    def next_redo(self) -> Edit | None:
        return self.history.next_redo() if self.folder is not None else None

    def _step(self, undo: bool) -> Changes:
        if self.folder is None:
            return Changes()
        edit = self.history.undo() if undo else self.history.redo()
        if edit is None:
            return Changes(history=True, refused=f"Nothing to {'undo' if undo else 'redo'}")
        try:
            if edit.fields <= {"decision", "rating"} and not edit.regrouped:
                # a flag or stars (a bulk one too): what the step wrote, shown without reading the photos back
                # (16,700 of them took 0.3 s to read)
                photos = tuple(self.view.set_decisions(edit.written))
            else:
                photos = tuple(self.reread(edit.photo_ids))
        except sqlite3.Error as exc:
            return Changes(edit=edit, history=True, groups=edit.regrouped, error=f"Cannot read the catalog: {exc}")
        return Changes(photos, edit, history=True, groups=edit.regrouped,
                       message=f"{'Undone' if undo else 'Redone'}: {edit.description}")

    # ---- what was decided elsewhere ----------------------------------------------------------------
    def adopt(self, changes: Sequence[tuple[int, str, Any]]) -> tuple[int, ...]:
        """Take in flags, stars or crops decided outside Selfie Desk (another app's XMP sidecar, a pick read back
        from its label), checked as every edit is, outside the undo history; returns the photos changed."""
        return self.history.write(changes)

    def hand_over(self, source_id: int, target_id: int) -> None:
        """A JPEG turned out to be a raw's pair: the raw's row takes its decisions where it has none."""
        self.history.hand_over(source_id, target_id)


def _with_message(changes: Changes, message: str) -> Changes:
    return dataclasses.replace(changes, message=message)
