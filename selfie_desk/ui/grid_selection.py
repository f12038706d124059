"""The grid's cursor and selection, mirrored in the culling session.

Qt's selection model holds what the user clicked and typed; the session must know it, since what a key acts on is
its rule (core/culling/session.py `targets`). So every change of the grid's cursor or selection is copied into the
session as it happens, and a rebuild of the rows (which clears Qt's selection without a signal) puts them back
where the session says they went (`kept_rows`). The window's own choice on opening a folder, its first photo, is
not the user's: after the scan re-sorts the folder best first, the first photo is chosen again.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QObject, Signal

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.grid import PhotoGrid
from selfie_desk.ui.grid_model import PhotoGridModel

Flag = QItemSelectionModel.SelectionFlag


class GridSelection(QObject):
    moved = Signal()  # the cursor moved, or was put back (the side panel follows)
    selection_changed = Signal()  # the selection changed (the counts follow)

    def __init__(self, session: CullingSession, grid: PhotoGrid, model: PhotoGridModel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.grid, self.model = session, grid, model
        self.auto: int | None = None  # the photo the window selected by itself, until the user moves
        sm = grid.selectionModel()
        sm.currentChanged.connect(self._on_current)
        sm.selectionChanged.connect(self._on_selection)
        model.modelReset.connect(self._on_reset)

    # ---- Qt -> session -----------------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.session.cursor = self.model.photo(current.row()).id if current.isValid() else None
        self.moved.emit()

    def _on_selection(self, *_args: object) -> None:
        """The selection's rows read from its ranges (Qt's selectedRows() makes an index per row)."""
        rows: set[int] = set()
        for r in self.grid.selectionModel().selection():
            rows.update(range(r.top(), r.bottom() + 1))
        view = self.session.view
        self.session.selected = tuple(view.photo(r).id for r in sorted(rows))
        self.selection_changed.emit()

    def _on_reset(self) -> None:
        """Qt forgets its cursor and selection with the rows, without a signal: so does the session (`keeping` put
        them back where their photos went)."""
        self.session.cursor, self.session.selected = None, ()

    # ---- reading -----------------------------------------------------------------------------------
    def current(self) -> Photo | None:
        """The photo under the grid's cursor."""
        return self.session.get(self.session.cursor)

    def selected(self) -> list[Photo]:
        return self.session.selected_photos()

    def user_moved(self) -> bool:
        """Whether the user has moved to a photo: re-sorting now would move it under them."""
        if self.session.cursor is None:
            return False
        return not (self.session.cursor == self.auto and list(self.session.selected) == [self.auto])

    # ---- moving ------------------------------------------------------------------------------------
    def select_row(self, row: int, scroll: bool = True) -> None:
        """Select one photo, as the user would with the arrows (or, for row 0 of a new view, for them); `scroll`:
        the grid scrolls to it (not while the map, where it was chosen, is shown)."""
        self.auto = None
        if not 0 <= row < self.model.rowCount():
            self.moved.emit()
            return
        index = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(index, Flag.ClearAndSelect)
        if scroll:
            self.grid.scrollTo(index)
        self.moved.emit()

    def select_first(self) -> None:
        self.select_row(0)
        self.auto = self.model.photo(0).id if self.model.rowCount() else None

    def set_current(self, row: int) -> None:
        """The cursor on `row`, the selection as it is (compare's active pane, back in the grid)."""
        self.grid.selectionModel().setCurrentIndex(self.model.index(row), Flag.NoUpdate)

    def select_rows(self, rows: list[int], current: int | None = None) -> None:
        """Exactly these rows selected (a region dragged on the map), the cursor on `current`."""
        self.auto = None
        sm = self.grid.selectionModel()
        if current is not None:
            sm.setCurrentIndex(self.model.index(current), Flag.NoUpdate)
        sm.select(self._ranges(rows), Flag.ClearAndSelect)

    def keeping(self, change: Callable[[], object]) -> None:
        """Apply a change that rebuilds the rows, keeping the current and selected photos where they went."""
        current, selected = self.session.cursor, self.session.selected
        first = current is None or (current == self.auto and list(selected) == [current])
        change()
        keep_long_lived()
        kept = None if first else self.session.kept_rows(current, selected)
        if kept is None:
            if first or not self.model.rowCount():
                self.select_first() if first else self.moved.emit()
            return
        row, rows = kept
        sm = self.grid.selectionModel()
        sm.setCurrentIndex(self.model.index(row), Flag.NoUpdate)
        sm.select(self._ranges(rows), Flag.ClearAndSelect)
        self.grid.scrollTo(self.model.index(row))
        self.moved.emit()

    def _ranges(self, rows: list[int]) -> QItemSelection:
        """The rows as few ranges as they make (each run of neighbours one range)."""
        selection = QItemSelection()
        for start, end in _runs(sorted(set(rows))):
            selection.select(self.model.index(start), self.model.index(end))
        return selection

    def select_all(self) -> None:
        self.grid.selectAll()

    def select_none(self) -> None:
        current = self.grid.currentIndex()
        self.grid.selectionModel().clearSelection()
        if current.isValid():  # the photo under the cursor stays the one a key applies to
            self.grid.selectionModel().select(current, Flag.Select)


def keep_long_lived() -> None:
    """The folder's photos (and groups) just loaded live as long as the folder is open: moved out of the cyclic
    garbage collector's sight (as app.tune_process does at start). At 50,000 photos each full collection walked
    them all and froze the window 1.5-2.2 s, 14 times in ten keystrokes (issue 31). They hold no reference cycles:
    replaced photos are still freed by their reference counts."""
    gc.freeze()


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs
