"""Which view is up in the window's middle (the grid, the loupe, compare, the map) and moving between them.

The view is the culling session's `mode`, since what a key acts on depends on it (core/culling/session.py); this
shows it, keeps the session told of what the loupe and compare show, and brings the grid's cursor along: back from
the loupe the grid is on the photo last looked at, and Esc goes back where the loupe or compare was opened (the
grid or the map). After an edit the loupe and compare show the photos as they are now (`show_changes`), and with
auto-advance on, a flag moves on to the next photo (`advance_after`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QStackedWidget, QWidget

from selfie_desk.core.culling.session import Changes, CullingSession
from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.core.vocabulary import ViewMode
from selfie_desk.ui.attention import AttentionController
from selfie_desk.ui.compare import MAX_PHOTOS, CompareView
from selfie_desk.ui.crop_controller import CropController
from selfie_desk.ui.grid import PhotoGrid
from selfie_desk.ui.grid_selection import GridSelection
from selfie_desk.ui.groups_controller import GroupsController
from selfie_desk.ui.loupe import Loupe
from selfie_desk.ui.map_controller import MapController
from selfie_desk.ui.map_view import MapView


class Views(QObject):
    mode_changed = Signal(str)  # a ViewMode
    looked_at = Signal()  # what is looked at changed (the side panel follows)
    status = Signal(str, int)  # text, ms: the status bar

    def __init__(self, session: CullingSession, selection: GridSelection, settings: Settings, stack: QStackedWidget,
                 grid: PhotoGrid, loupe: Loupe, compare: CompareView, map_view: MapView, parent: QObject) -> None:
        super().__init__(parent)
        self.session, self.selection, self.settings, self.stack = session, selection, settings, stack
        self.grid, self.loupe, self.compare, self.map = grid, loupe, compare, map_view
        self.from_map = False  # the loupe or compare was opened from the map: Esc goes back there
        compare.active_changed.connect(self._on_compare_active)
        loupe.step.connect(self.step_loupe)

    def attach(self, crop: CropController, attention: AttentionController, groups: GroupsController,
               map_control: MapController) -> None:
        """The controllers the views hand their photo to (made after the views, since they draw on them)."""
        self.crop, self.attention, self.groups, self.map_control = crop, attention, groups, map_control

    @property
    def mode(self) -> ViewMode:
        return self.session.mode

    def _set_mode(self, mode: ViewMode, widget: QWidget) -> None:
        self.session.mode = mode
        self.stack.setCurrentWidget(widget)
        widget.setFocus()
        self.looked_at.emit()
        self.mode_changed.emit(mode)

    def back(self) -> None:
        """Esc: from the loupe or compare back where they were opened (the grid or the map); else the grid."""
        if self.mode in (ViewMode.LOUPE, ViewMode.COMPARE) and self.from_map:
            self.show_map()
        else:
            self.show_grid()

    # ---- the grid and the loupe --------------------------------------------------------------------
    def show_grid(self) -> None:
        self.from_map = False
        view = self.session.view
        if self.mode == ViewMode.LOUPE and self.loupe.photo is not None:
            row = view.row_of(self.loupe.photo.id)
            if row is not None:
                self.selection.select_row(row)
        elif self.mode == ViewMode.COMPARE:
            active = self.compare.active_photo()
            row = None if active is None else view.row_of(active.id)
            if row is not None:
                self.selection.set_current(row)
        self._set_mode(ViewMode.GRID, self.grid)

    def toggle_loupe(self) -> None:
        if self.mode == ViewMode.LOUPE:
            self.show_grid()
        else:
            self.show_loupe()

    def show_loupe(self, photo: Photo | None = None) -> None:
        if self.mode == ViewMode.MAP:
            self.from_map = True
            photo = photo or self.session.current()
        if photo is None:
            photo = self.compare.active_photo() if self.mode == ViewMode.COMPARE else None
        if photo is None:
            photo = self.selection.current()
            if photo is None:
                return
        self.loupe.set_show_faces(self.settings.show_faces)
        self._show_in_loupe(photo)
        self._set_mode(ViewMode.LOUPE, self.loupe)

    def _show_in_loupe(self, photo: Photo) -> None:
        view = self.session.view
        row = view.row_of(photo.id)
        following = view.photo(row + 1) if row is not None and row + 1 < len(view) else None
        self.session.loupe_photo = photo.id
        self.loupe.show_photo(photo, view.rank(photo), len(view.scores()), following)
        self.crop.show_photo(photo)
        self.attention.show_photo(photo)

    def step_loupe(self, delta: int) -> None:
        if self.loupe.photo is None:
            return
        row = self.session.view.row_of(self.loupe.photo.id)
        if row is None:
            return
        row += delta
        if 0 <= row < len(self.session.view):
            self._show_in_loupe(self.session.view.photo(row))
            self.selection.select_row(row)

    def advance(self, delta: int) -> None:
        """On to the next photo (auto-advance after a flag), in whichever view is up."""
        if self.mode == ViewMode.LOUPE:
            self.step_loupe(delta)
        elif self.mode == ViewMode.COMPARE:
            self.compare.step(delta)
        else:
            row = self.grid.currentIndex().row() + delta
            if 0 <= row < len(self.session.view):
                self.selection.select_row(row)

    def advance_after(self, changes: Changes) -> None:
        """Auto-advance (Photo > Auto-advance) after a flag, stars or B: on to the next photo, or after B in the grid
        to the next moment (the row after the group's last)."""
        if not self.settings.auto_advance:
            return
        if changes.group_id is None:
            self.advance(+1)
        elif self.mode == ViewMode.GRID:  # B: on to the next moment
            rows = self.session.view.group_rows(changes.group_id)
            if rows and max(rows) + 1 < len(self.session.view):
                self.selection.select_row(max(rows) + 1)

    def show_changes(self, changes: Changes) -> None:
        """What changed in the session (an edit, an undo, a scan's scores, a crop), in the loupe or compare; after an
        undo or a crop, the loupe's crop mode on the photo as it is now."""
        if changes.photos:
            view, scored = self.session.view, len(self.session.view.scores())
            for p in changes.photos:
                if self.mode == ViewMode.LOUPE:
                    self.loupe.update_photo(p, view.rank(p), scored)
                elif self.mode == ViewMode.COMPARE:
                    self.compare.update_photo(p, view.rank(p), scored)
        if changes.history and self.mode == ViewMode.LOUPE and self.loupe.photo is not None:
            self.crop.show_photo(self.session.get(self.loupe.photo.id) or self.loupe.photo)

    def refocus(self) -> None:
        """The keys back to the grid or the map (after a click on the filter bar)."""
        if self.mode == ViewMode.GRID:
            self.grid.setFocus()
        elif self.mode == ViewMode.MAP:
            self.map.setFocus()

    # ---- compare -----------------------------------------------------------------------------------
    def show_compare(self) -> None:
        photos = (self.session.selected_photos() if self.mode in (ViewMode.GRID, ViewMode.MAP)
                  else self.compare.photos())
        if len(photos) < 2 and self.session.current_group() is not None:
            self.compare_group()  # one photo of a group: its frames are what there is to compare
            return
        if self.mode == ViewMode.MAP and len(photos) >= 2:
            self.from_map = True
        if len(photos) < 2:
            self.status.emit("Select 2 to 4 photos (Ctrl+click or Shift+click) to compare them", 5000)
            return
        if len(photos) > MAX_PHOTOS:
            self.status.emit(f"Comparing the first {MAX_PHOTOS} of the {len(photos)} selected", 5000)
        self._compare(photos)

    def compare_group(self) -> None:
        """Shift+C: the group's frames (best first, up to four) side by side at one zoom, on the faces."""
        group = self.groups.current_group()
        if group is None:
            return
        photos = [self.session.get(m.photo.id) or m.photo for m in group.members]
        if len(photos) > MAX_PHOTOS:
            self.status.emit(f"Comparing the best {MAX_PHOTOS} of the group's {len(photos)} frames", 5000)
        self._compare(photos, key_faces=True)
        self.compare.layout().activate()  # the panes' sizes, which the face zoom is measured on
        self.compare.zoom_on_faces()
        QTimer.singleShot(0, lambda: self.compare.zoom_on_faces() if self.mode == ViewMode.COMPARE else None)

    def _compare(self, photos: list[Photo], key_faces: bool = False) -> None:
        view = self.session.view
        self.compare.set_show_faces(self.settings.show_faces)
        self.compare.show_photos(photos, {p.id: view.rank(p) for p in photos}, len(view.scores()))
        if key_faces:  # Compare Group: every key person's face, side by side (issue 28)
            self.compare.show_key_faces(view.groups.people)
        self._tell_compare()
        self._set_mode(ViewMode.COMPARE, self.compare)

    def _on_compare_active(self, _photo_id: int) -> None:
        self._tell_compare()
        self.looked_at.emit()

    def _tell_compare(self) -> None:
        active = self.compare.active_photo()
        self.session.compared = tuple(p.id for p in self.compare.photos())
        self.session.compare_active = None if active is None else active.id

    # ---- the map -----------------------------------------------------------------------------------
    def toggle_map(self) -> None:
        if self.mode == ViewMode.MAP:
            self.show_grid()
        else:
            self.show_map()

    def show_map(self) -> None:
        """The folder laid out by similarity; laid out in the background the first time (then from the cache)."""
        if self.session.folder is None:
            self.status.emit("Open a folder first", 5000)
            return
        current = self.session.current()
        self.from_map = False
        self._set_mode(ViewMode.MAP, self.map)
        self.map_control.show(None if current is None else current.id)

    def open_from_map(self, photo_id: int) -> None:
        """A click on the map: the loupe on that photo (Esc comes back to the map)."""
        self.map_control.open(photo_id)
        p = self.session.get(photo_id)
        if p is not None:
            self.show_loupe(p)

    def toggle_zoom(self) -> None:
        if self.mode == ViewMode.MAP:
            self.map.toggle_zoom()
        elif self.mode == ViewMode.LOUPE:
            self.loupe.canvas.toggle_zoom()
        elif self.mode == ViewMode.COMPARE:
            self.compare.toggle_zoom()
