"""Compare: two to four photos side by side, zoomed and panned together, to choose among a burst.

One pane is active (click it, or Left/Right): the window's flag and rating keys apply to it. A photo with
an accepted crop shows it as in the loupe (the outside dimmed), so a cropped keeper is judged as cropped.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QWidget

from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.canvas import ViewState
from selfie_desk.ui.crop_overlay import CropOverlay
from selfie_desk.ui.face_strip import FaceStrip
from selfie_desk.ui.grid import ThumbnailCache
from selfie_desk.ui.loupe import caption
from selfie_desk.ui.photo_pane import PhotoPane
from selfie_desk.workers.images import ImageLoader

MAX_PHOTOS = 4


def largest_face(p: Photo | None):
    if p is None or not p.faces:
        return None
    return max(p.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


class CompareView(QWidget):
    active_changed = Signal(int)  # photo id

    def __init__(self, loader: ImageLoader, thumbs: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self.panes = [PhotoPane(loader, thumbs, preview_edge=1200, parent=self) for _ in range(MAX_PHOTOS)]
        self.crops = [CropOverlay(pane.canvas) for pane in self.panes]  # passive: accepted crops only
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        # Compare Group's key faces, side by side at one zoom (issue 28): under the panes, all columns
        self.faces = FaceStrip(self._pane_image, self)
        self._layout.addWidget(self.faces, 2, 0, 1, -1)
        for i, pane in enumerate(self.panes):
            pane.canvas.view_changed.connect(lambda state, i=i: self._follow(i, state))
            pane.activated.connect(lambda i=i: self.set_active(i))
            pane.canvas.setFocusProxy(self)
            pane.reserve_caption_lines(3)  # every pane's photo at the same height, flagged or not
            pane.hide()
        self._count = 0
        self._on_faces = False  # zoomed on each photo's face (zoom_on_faces): panning moves each from its own
        self._views: dict[int, ViewState] = {}  # each pane's view as last set
        self.caption_extra: Callable[[Photo], str] | None = None  # the window's badges and group, after the caption
        self.active = 0
        self.show_faces = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _pane_image(self, photo_id: int):
        for pane in self.panes[: self._count]:
            if pane.photo is not None and pane.photo.id == photo_id:
                return pane.canvas.image
        return None

    def photos(self) -> list[Photo]:
        return [p.photo for p in self.panes[: self._count] if p.photo is not None]

    def active_photo(self) -> Photo | None:
        return self.panes[self.active].photo if self._count else None

    def show_photos(self, photos: list[Photo], ranks: dict[int, int | None], scored: int) -> None:
        photos = photos[:MAX_PHOTOS]
        self._count = len(photos)
        self.faces.clear()  # Compare Group sets it again after (show_key_faces)
        self._on_faces = False
        self._views = {}
        columns = 2 if len(photos) == 4 else len(photos)
        for i, pane in enumerate(self.panes):
            self._layout.removeWidget(pane)
            if i < len(photos):
                self._layout.addWidget(pane, i // columns, i % columns)
                pane.show_photo(photos[i])
                pane.canvas.show_faces = self.show_faces
                pane.canvas.set_view(ViewState())
                pane.caption.setText(caption(photos[i], ranks.get(photos[i].id), scored, self.caption_extra))
                self._show_crop(i, photos[i])
                pane.show()
            else:
                pane.hide()
        self.set_active(0)

    def show_key_faces(self, people) -> None:
        """Compare Group: the key people's faces in every frame shown, side by side at one zoom (ui/face_strip.py)."""
        self.faces.show_group(self.photos(), people)

    def update_photo(self, p: Photo, rank: int | None, scored: int) -> None:
        for i, pane in enumerate(self.panes[: self._count]):
            if pane.photo is not None and pane.photo.id == p.id:
                pane.update_photo(p)
                pane.caption.setText(caption(p, rank, scored, self.caption_extra))
                self._show_crop(i, p)

    def _show_crop(self, index: int, p: Photo) -> None:
        if p.crop is not None and p.width and p.height:
            self.crops[index].show_accepted(p.crop, p.width, p.height)
        else:
            self.crops[index].clear()

    def set_active(self, index: int) -> None:
        if not self._count:
            return
        self.active = max(0, min(self._count - 1, index))
        for i, pane in enumerate(self.panes[: self._count]):
            pane.set_active(i == self.active)
        photo = self.active_photo()
        if photo is not None:
            self.active_changed.emit(photo.id)

    def step(self, delta: int) -> bool:
        """Move the active pane; False at either end."""
        target = self.active + delta
        if not 0 <= target < self._count:
            return False
        self.set_active(target)
        return True

    def set_show_faces(self, show: bool) -> None:
        self.show_faces = show
        for pane in self.panes:
            pane.canvas.show_faces = show
            pane.canvas.update()

    def toggle_zoom(self) -> None:
        if self._count:
            self.panes[self.active].canvas.toggle_zoom()

    def zoom_on_faces(self) -> None:
        """Each pane on its photo's largest face, all at one zoom (the best's face fills about half the pane, as
        when checking eyes and focus at 100 %); a photo without faces stays whole."""
        if not self._count:
            return
        for pane in self.panes[: self._count]:
            pane.layout().activate()
        pane0 = self.panes[0].canvas
        span = max(80, min(pane0.width(), pane0.height()))
        zoom = None
        for pane in self.panes[: self._count]:
            face = largest_face(pane.photo)
            if face is not None:
                x0, y0, x1, y1 = face.box
                zoom = min(2.0, 0.5 * span / max(1.0, x1 - x0, y1 - y0))  # at most 200 %: the pixels, enlarged
                break
        if zoom is None:
            return
        for pane in self.panes[: self._count]:
            p, face = pane.photo, largest_face(pane.photo)
            if p is None or face is None or not p.width or not p.height:
                continue
            x0, y0, x1, y1 = face.box
            pane.canvas.set_view(ViewState(zoom, (x0 + x1) / 2 / p.width, (y0 + y1) / 2 / p.height))
        self._on_faces = True
        self._views = {i: pane.canvas.state for i, pane in enumerate(self.panes[: self._count])}

    def _follow(self, source: int, state: ViewState) -> None:
        """The others at the same zoom and place; on faces, each moved as much as the source, so each pane stays
        on its own face (a burst's frames are never quite aligned)."""
        prev = self._views.get(source)
        on_faces = self._on_faces and prev is not None and prev.zoom is not None and state.zoom is not None
        if state.zoom is None:
            self._on_faces = False
        for i, pane in enumerate(self.panes[: self._count]):
            if i != source:
                if on_faces and prev is not None:
                    mine = pane.canvas.state
                    pane.canvas.set_view(ViewState(state.zoom, mine.cx + state.cx - prev.cx,
                                                   mine.cy + state.cy - prev.cy))
                else:
                    pane.canvas.set_view(state)
            self._views[i] = pane.canvas.state

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step(-1)
        elif event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step(+1)
        else:
            super().keyPressEvent(event)
