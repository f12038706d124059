"""The loupe: one photo large, with its score and why (its faces, its rank in the folder).

Z (or a double-click) zooms to 100 % and back, dragging pans, the wheel zooms, F shows the face boxes.
Left/Right step through the grid's order; the window's actions flag and rate what is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from selfie_desk.core.measures.describe import Form, describe
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.grid import ThumbnailCache
from selfie_desk.ui.photo_pane import PhotoPane
from selfie_desk.workers.images import ImageLoader


def caption(p: Photo, rank: int | None, scored: int, extra: Callable[[Photo], str] | None = None) -> str:
    """The photo's caption, and what the window adds to it (closed eyes, soft focus, its place in its group)."""
    text = describe(p, Form.CAPTION, rank, scored)
    more = extra(p) if extra is not None else ""
    return f"{text} &nbsp;·&nbsp; {more}" if more else text


class Loupe(QWidget):
    step = Signal(int)  # -1 previous, +1 next

    def __init__(self, loader: ImageLoader, thumbs: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self.pane = PhotoPane(loader, thumbs, parent=self)
        self.pane.caption.setStyleSheet("font-size: 13px;")
        self.pane.reserve_caption_lines(2)  # a flag or stars never move the photo
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pane)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pane.canvas.setFocusProxy(self)
        self.caption_extra: Callable[[Photo], str] | None = None  # the window's badges and group, after the caption

    @property
    def photo(self) -> Photo | None:
        return self.pane.photo

    @property
    def canvas(self):
        return self.pane.canvas

    def show_photo(self, p: Photo, rank: int | None, scored: int, next_photo: Photo | None = None) -> None:
        self.pane.show_photo(p)
        self.pane.caption.setText(caption(p, rank, scored, self.caption_extra))
        if next_photo is not None:
            self.pane.prefetch(next_photo)

    def update_photo(self, p: Photo, rank: int | None, scored: int) -> None:
        if self.photo is not None and self.photo.id == p.id:
            self.pane.update_photo(p)
            self.pane.caption.setText(caption(p, rank, scored, self.caption_extra))

    def set_show_faces(self, show: bool) -> None:
        self.canvas.show_faces = show
        self.canvas.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step.emit(-1)
        elif event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step.emit(+1)
        else:
            super().keyPressEvent(event)
