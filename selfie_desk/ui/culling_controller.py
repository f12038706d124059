"""The keys that edit, in the window: flags, stars, B, split, merge, undo and redo, on the culling session.

The rules (what a key acts on, what B keeps, what a split refuses) are the session's (core/culling/session.py);
this asks it, tells the user what happened in the message bar or the status bar, and reports every change through
one signal, `changed` (the session's `Changes`), that the grid, the loupe, compare, the map, the side panel and the
Edit menu refresh from. The crop controller's accepted crops come through here too, so an edit has one way in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from selfie_desk.core.culling.session import KEEP_BEST_LABEL, Changes, CullingSession, Edit
from selfie_desk.core.storage.catalog import Box
from selfie_desk.core.vocabulary import Decision


class CullingController(QObject):
    changed = Signal(object)  # Changes: every edit, undo and redo, and what others `report`; each view refreshes
    advanced = Signal(object)  # Changes of a flag, stars or B: where auto-advance moves on (the window's)
    stepping = Signal()  # an undo or redo is about to change the photos (an open crop overlay closes)
    message = Signal(str, str)  # text, level (error | warning | info): the message bar
    announced = Signal(str)  # the message bar cleared, then this (info): B and its undo
    status = Signal(str, int)  # text, ms: the status bar

    def __init__(self, session: CullingSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.undo_action: QAction | None = None  # Edit > Undo and Redo, whose words say what they would do
        self.redo_action: QAction | None = None

    def report(self, changes: Changes) -> None:
        """Photos changed outside an edit (a scan's scores, a crop proposal stored): told on the same signal."""
        self.changed.emit(changes)

    # ---- flags, stars, crops -----------------------------------------------------------------------
    def decide(self, decision: Decision | None) -> None:
        self._edit(lambda: self.session.decide(decision), advance=True)

    def rate(self, stars: int) -> None:
        self._edit(lambda: self.session.rate(stars), advance=True)

    def crop(self, box: Box | None, photo_ids: Sequence[int], label: str) -> bool:
        """Store (or, with None, clear) these photos' crop as one edit Undo takes back (the crop controller's)."""
        try:
            changes = self.session.crop(box, photo_ids, label)
        except sqlite3.Error as exc:
            self.message.emit(f"Could not save the crop to the catalog: {exc}", "error")
            return False
        self.changed.emit(changes)
        return True

    def keep_best(self) -> Edit | None:
        """B: the group's best picked, the rest rejected, said in the message bar."""
        changes = self._edit(self.session.keep_best, advance=True)
        return None if changes is None else changes.edit

    def _edit(self, edit: Callable[[], Changes], advance: bool = False) -> Changes | None:
        try:  # persisted at once (a crash or a kill keeps every keystroke), and logged for undo
            changes = edit()
        except sqlite3.Error as exc:
            self.message.emit(f"Could not save to the catalog: {exc}", "error")
            return None
        if changes.refused:
            self.status.emit(changes.refused, 5000)
            return changes
        if not changes.asked:
            return changes
        self.changed.emit(changes)
        if changes.group_id is not None:  # B: the message bar says what it did
            self.announced.emit(changes.message)
        elif changes.message:
            self.status.emit(changes.message, 8000)
        if advance:
            self.advanced.emit(changes)
        return changes

    # ---- groups ------------------------------------------------------------------------------------
    def split(self) -> None:
        """Ctrl+Shift+G: the selected frames leave their group for one of their own."""
        self._group_edit(self.session.split)

    def merge(self) -> None:
        """Ctrl+G: the selected photos (a folded stack: its whole group) become one group."""
        self._group_edit(self.session.merge)

    def _group_edit(self, edit: Callable[[], Changes]) -> None:
        try:
            changes = edit()
        except sqlite3.Error as exc:
            self.message.emit(f"Could not save to the catalog: {exc}", "error")
            return
        if changes.refused:  # nothing to act on (5 s), or the catalog's rules said no (6 s)
            self.status.emit(changes.refused, 6000 if changes.refused.startswith("Cannot ") else 5000)
            return
        self.changed.emit(changes)  # groups: ranked again by the grouping thread
        self.message.emit(changes.message, "info")

    # ---- undo and redo -----------------------------------------------------------------------------
    def undo(self) -> Edit | None:
        return self._step(undo=True)

    def redo(self) -> Edit | None:
        return self._step(undo=False)

    def _step(self, undo: bool) -> Edit | None:
        if self.session.folder is None:
            return None
        self.stepping.emit()
        try:
            changes = self.session.undo() if undo else self.session.redo()
        except sqlite3.Error as exc:
            self.message.emit(f"Could not {'undo' if undo else 'redo'}: {exc}", "error")
            return None
        self.changed.emit(changes)
        if changes.refused:
            self.status.emit(changes.refused, 4000)
            return None
        if changes.error:
            self.message.emit(changes.error, "error")
        edit = changes.edit
        assert edit is not None
        said = f"{'Undone' if undo else 'Redone'}: {edit.description}"
        self.status.emit(said, 8000)
        if edit.label.startswith(KEEP_BEST_LABEL):  # the message bar said what B did: it says this too
            self.announced.emit(said)
        return edit

    def next_steps(self) -> tuple[Edit | None, Edit | None]:
        """What Undo and Redo would take back and make again (the Edit menu's words); none if unreadable."""
        try:
            return self.session.next_undo(), self.session.next_redo()
        except sqlite3.Error:
            return None, None

    def attach_actions(self, undo: QAction, redo: QAction) -> None:
        """Edit > Undo and Redo: their words follow the history (`update_actions`)."""
        self.undo_action, self.redo_action = undo, redo
        self.update_actions()

    def show_changes(self, changes: Changes) -> None:
        if changes.history:
            self.update_actions()

    def update_actions(self) -> None:
        """The Edit menu's Undo and Redo with what they would take back and make again (the edits' descriptions)."""
        if self.undo_action is None or self.redo_action is None:
            return
        next_undo, next_redo = self.next_steps()
        self.undo_action.setText(f"&Undo {next_undo.description}" if next_undo else "&Undo")
        self.redo_action.setText(f"&Redo {next_redo.description}" if next_redo else "&Redo")
