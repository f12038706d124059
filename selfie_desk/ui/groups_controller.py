"""Groups of one moment in the window (issue 14): grouping in the background, the stacks, the Grouping dialog.

The groups are made and ranked on the grouping thread (workers/grouping.py) and handed to the culling session's
rows; G folds and unfolds a stack, Shift+G stacks or unstacks them all. What B keeps and what a split or a merge
does are the session's rules (core/culling/session.py), asked through the culling controller; after a split, a
merge or their undo this ranks the stored groups again. It tells the window through signals, like the scan, crop
and map controllers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from selfie_desk.core.culling.groups import GroupIndex, RankedGroup
from selfie_desk.core.culling.session import NO_GROUP, Changes, CullingSession
from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import Catalog, Photo
from selfie_desk.ui.grid_selection import GridSelection
from selfie_desk.ui.grouping_dialog import GroupingDialog
from selfie_desk.ui.grouping_watch import GroupingWatch
from selfie_desk.workers.grouping import GroupingOutcome, GroupingService
from selfie_desk.workers.service import Job


class GroupsController(QObject):
    grouped = Signal(object)  # GroupingOutcome: the folder was grouped again, or its stored groups ranked
    people = Signal(object)  # core/culling/people.py KeyPeople: the shoot's people, as the groups now in the rows
    # have them
    message = Signal(str, str)  # text, level: the message bar
    status = Signal(str, int)  # text, ms: the status bar
    settings_changed = Signal()  # the thresholds or the stacking changed: save the settings

    def __init__(self, session: CullingSession, selection: GridSelection, service: GroupingService,
                 settings: Settings, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.selection, self.service, self.settings = session, selection, service, settings
        self.job: Job | None = None
        self.dialog: GroupingDialog | None = None
        self.closed = False  # the window shut down: a scan's last report may still ask for a grouping
        self.watch = GroupingWatch(catalog, self)  # a regrouping made elsewhere shows here (issue 28)
        self.watch.changed.connect(self._changed_elsewhere)
        self.watch.start()

    # ---- grouping on its thread --------------------------------------------------------------------
    def regroup(self) -> Job | None:
        """Group the folder afresh with the settings' thresholds, in the background; groups the user edited stay."""
        return self._start(lambda folder: self.service.start(folder, self.settings.model,
                                                             self.settings.grouping_params()))

    def rank_stored(self) -> Job | None:
        """The folder's groups as stored (on opening it, after the user's edit), ranked in the background."""
        return self._start(lambda folder: self.service.rank(folder, self.settings.model))

    def _start(self, start: Callable[[Path], Job]) -> Job | None:
        if self.session.folder is None or self.closed:
            return None
        if self.job is not None:
            self.job.ignore()
        job = self.job = start(Path(self.session.folder))
        job.finished.connect(self._on_grouped)
        return job

    @Slot(object)
    def _on_grouped(self, outcome: GroupingOutcome) -> None:
        self.job = None
        self.watch.seen(outcome.generation)
        if outcome.error:
            self.message.emit(outcome.error, "warning")
            return
        if outcome.photos is None or outcome.ranked is None:
            return
        self.session.view.merge(outcome.photos)  # their group ids
        self.set_groups(outcome.index or GroupIndex(outcome.ranked))
        if outcome.regrouped:
            n = outcome.groups
            self.status.emit(f"{n} group{'s' if n != 1 else ''} of one moment ({outcome.grouped} photos): G expands "
                             "one, B keeps its best and rejects the rest" if n else "No photos of one moment", 8000)
        self.grouped.emit(outcome)

    def show_changes(self, changes: Changes) -> None:
        """A split, a merge or their undo changed the folder's groups: ranked again, as they are now."""
        if changes.groups:
            self.rank_stored()

    def set_groups(self, groups: GroupIndex) -> None:
        self.selection.keeping(lambda: self.session.view.set_groups(groups))
        self.people.emit(groups.people)

    def _changed_elsewhere(self, _generation: int) -> None:
        """The catalog's groups changed outside this window (`selfie-desk groups`, another window): read them again,
        unless this window's own grouping is under way (its outcome brings them)."""
        if self.session.folder is None or self.job is not None:
            return
        self.rank_stored()
        self.status.emit("The groups were changed outside this window: showing them as they are now", 5000)

    # ---- stacks ------------------------------------------------------------------------------------
    def current_group(self) -> RankedGroup | None:
        group = self.session.current_group()
        if group is None:
            self.status.emit(NO_GROUP, 5000)
        return group

    def toggle(self, group: RankedGroup) -> None:
        """G: expand the group, or fold it to its best (the cursor goes with it)."""
        if not self.session.view.stacked:
            self.status.emit("Groups are not stacked (Groups > Stack Groups, Shift+G)", 5000)
            return
        view = self.session.view
        best = view.groups.member_ids(group.id)[0]
        current = self.session.current()
        expanded = group.id in view.expanded
        self.selection.keeping(lambda: view.toggle_expanded(group.id))
        if expanded or current is None or view.row_of(current.id) is None:
            self.selection.select_row(view.row_of(best) or 0)  # folded: the cursor on the stack
        n = len(view.groups.member_ids(group.id))
        self.status.emit(f"{'Folded' if expanded else 'Showing'} the {n} frames of the group"
                         + ("" if expanded else " (G folds them again)"), 4000)

    def stack_clicked(self, photo_id: int) -> None:
        """A click on a stack's count: its group unfolds (or folds)."""
        group = self.session.view.groups.group_of(photo_id)
        if group is not None:
            row = self.session.view.row_of(photo_id)
            if row is not None:
                self.selection.select_row(row)
            self.toggle(group)

    def set_stacked(self, on: bool) -> None:
        """Shift+G: groups as stacks, or every frame in the grid's plain order."""
        self.settings.stack_groups = on
        self.settings_changed.emit()
        self.selection.keeping(lambda: self.session.view.set_stacked(on))

    # ---- the thresholds ----------------------------------------------------------------------------
    def show_dialog(self, parent: QWidget) -> GroupingDialog:
        folder = None if self.session.folder is None else Path(self.session.folder)
        dialog = GroupingDialog(self.settings, self.service, folder, self.settings.model,
                                len(self.session.view.groups.stacks()), parent)
        dialog.accepted.connect(lambda: self._apply(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _apply(self, dialog: GroupingDialog) -> None:
        dialog.apply_to(self.settings)
        self.settings_changed.emit()
        self.regroup()

    # ---- words -------------------------------------------------------------------------------------
    def caption_extra(self, p: Photo) -> str:
        """The loupe's and compare's badges and place in the group, after the caption."""
        view = self.session.view
        parts = [f"<span style='color:#e0664a'><b>{b}</b></span>" for b in sorted(view.badges(p.id))]
        group = view.groups.group_of(p.id)
        if group is not None and len(group.members) > 1:
            ids = view.groups.member_ids(group.id)
            parts.append(("★ best of " if ids[0] == p.id else f"{ids.index(p.id) + 1} of ")
                         + f"{len(ids)} in the {group.kind}")
        return " &nbsp;·&nbsp; ".join(parts)

    def stop_watching(self) -> None:
        self.watch.stop()

    def stop(self, timeout_s: float) -> bool:
        self.closed = True
        return self.service.stop(timeout_s)
