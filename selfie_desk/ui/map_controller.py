"""The Map (issue 20) in the window: its layout job, the map view, and what the map tells the culling session.

Like the scan and crop controllers, it is given what it works with (the session, the map view, the map service, the
grid's selection) and talks to the window through signals. The folder is laid out in the background the first time
it is shown (then from the catalog's cache, quick), laid out again after a scan adds photos or a regrouping moves
outlines, and shows the grid's rows (its filters apply). What the map has under the cursor, and a region dragged on
it, are the session's to know: P, X, U and the stars act on them (core/culling/session.py `targets`); the grid's
cursor and selection follow them, so that back in the grid the same photos are under the keys.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from selfie_desk.core.culling.session import Changes, CullingSession
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.grid_selection import GridSelection
from selfie_desk.ui.map_view import MapView
from selfie_desk.workers.mapping import MapOutcome, MapService
from selfie_desk.workers.service import Job


class MapController(QObject):
    ready = Signal(object)  # MapOutcome: the map of the folder is laid out (or could not be)
    message = Signal(str, str)  # text, level: for the message bar
    status = Signal(str, int)  # text, ms: for the status bar
    moved = Signal(object)  # int | None: the map's current photo (the grid's cursor is on it now)

    def __init__(self, session: CullingSession, view: MapView, service: MapService, selection: GridSelection,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.view, self.service, self.selection = session, view, service, selection
        self.job: Job | None = None
        self.folder: str | None = None  # the folder whose map the view shows (or is being laid out)
        view.current_changed.connect(self._on_current)
        view.region_selected.connect(self._on_region)

    @property
    def laid_out(self) -> bool:
        return self.folder is not None

    def show(self, current: int | None) -> None:
        """The map is now on screen: laid out for the open folder (in the background the first time), showing the
        grid's rows, `current` under its cursor."""
        if self.folder != self.session.folder:
            self.lay_out()
        else:
            self.view.set_photos(self.session.view.filtered_photos())
        if current is not None:
            self.view.set_current(current)
        self._tell_session()

    def lay_out(self) -> None:
        assert self.session.folder is not None
        if self.job is not None:
            self.job.ignore()
        ids = tuple(p.id for p in self.session.view.all_photos())
        if self.view.layout_ is None:
            self.view.set_message(f"Laying out the map of {len(ids)} photos…")
        self.folder = self.session.folder
        self.job = job = self.service.start(self.folder, ids)
        job.finished.connect(self._on_ready)

    def forget(self) -> None:
        """Another folder: no map until it is shown again."""
        if self.job is not None:
            self.job.ignore()
            self.job = None
        self.folder = None
        self.view.clear()
        self._tell_session()

    def scan_finished(self, showing: bool) -> None:
        """Photos scored since the map was made join it (from the cache: quick), now or when next shown."""
        if self.folder is not None:
            self.lay_out() if showing else self._drop()

    def regrouped(self, showing: bool) -> None:
        """The folder was grouped (again): the map's outlines follow, from the cached layout (quick)."""
        if self.folder is None or self.job is not None:
            return  # not laid out yet, or being laid out (that job reads the groups as they are now)
        self.lay_out() if showing else self._drop()

    def _drop(self) -> None:
        self.folder = None  # laid out again (added to) when the map is next shown

    def rows_changed(self) -> None:
        """The grid's filters changed: the map shows what they let through."""
        if self.folder is not None:
            self.view.set_photos(self.session.view.filtered_photos())
            self._tell_session()

    def photos_changed(self, photos: list[Photo]) -> None:
        if self.folder is not None:
            self.view.update_photos([self.session.view.get(p.id) or p for p in photos])

    def show_changes(self, changes: Changes) -> None:
        """What changed in the session (an edit, an undo, a scan's scores, a crop): the map's cells show it."""
        if changes.photos:
            self.photos_changed(list(changes.photos))

    @Slot(object)
    def _on_ready(self, outcome: MapOutcome) -> None:
        self.job = None
        if outcome.error or outcome.report is None:
            self.view.set_message(outcome.error or "No map")
            if outcome.error:
                self.message.emit(outcome.error, "error")
        else:
            report = outcome.report
            if not len(report.layout):
                self.view.clear("No photo of this folder is scored yet: the map appears once they are")
            else:
                current = self.view.current
                self.view.set_layout(report.layout, list(outcome.groups), self.session.view.filtered_photos(),
                                     outcome.cells, list(outcome.outline), outcome.mosaics)
                self.view.set_current(current)
                unplaced = len(self.session.view.all_photos()) - len(report.layout)
                words = {"cache": "from the catalog", "added": f"{report.added} added", "tsne": "laid out",
                         "relayout": f"laid out again with {report.added} new"}[report.how]
                self.status.emit(f"Map of {len(report.layout)} photos ({words}, {report.seconds:.1f} s)"
                                 + (f"; {unplaced} not scored yet" if unplaced > 0 else ""), 8000)
            self._tell_session()
        self.ready.emit(outcome)

    def open(self, photo_id: int) -> None:
        """A click on a photo: it becomes the current one (the loupe opens on it: the window's)."""
        self._on_current(photo_id)

    @Slot(int)
    def _on_current(self, photo_id: int) -> None:
        self._tell_session()
        row = self.session.view.row_of(photo_id)
        if row is not None:
            self.selection.select_row(row, scroll=False)
        self.moved.emit(photo_id)

    @Slot(list)
    def _on_region(self, photo_ids: list[int]) -> None:
        """A region dragged on the map: what P, X, U and the stars apply to, the grid's selection too."""
        self._tell_session()
        rows = [r for r in (self.session.view.row_of(pid) for pid in photo_ids) if r is not None]
        self.selection.select_rows(rows, rows[0] if rows else None)
        if rows:
            self.set_current(photo_ids[0])
            self.status.emit(f"{len(rows)} photo{'s' if len(rows) != 1 else ''} selected on the map: "
                             "P pick, X reject, U unflag, 0-5 stars (Ctrl+Z undoes)", 8000)

    def set_current(self, photo_id: int | None) -> None:
        self.view.set_current(photo_id)
        self._tell_session()

    def _tell_session(self) -> None:
        """The map keeps its cursor and region itself (a filter trims them, a click or an arrow moves them): the
        session learns them after each."""
        self.session.map_current = self.view.current
        self.session.region = frozenset(self.view.selected)

    def set_size_by_score(self, on: bool) -> None:
        self.view.size_by_score = on
        self.view.redraw_all()

    def set_show_flags(self, on: bool) -> None:
        self.view.show_flags = on
        self.view.redraw_all()

    def stop(self, timeout_s: float) -> bool:
        return self.service.stop(timeout_s)
