"""The loupe: one photo large, with its score and why (its faces, its rank in the folder).

Z (or a double-click) zooms to 100 % and back, dragging pans, the wheel zooms, F shows the face boxes.
Left/Right step through the grid's order; the window's actions flag and rate what is shown.
"""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from selfie_desk.core.catalog import Photo
from selfie_desk.ui.grid import ThumbnailCache
from selfie_desk.ui.photo_pane import PhotoPane
from selfie_desk.workers.images import ImageLoader


def describe(p: Photo, rank: int | None, scored: int) -> str:
    """One line of rich text: name, score, rank, faces, size, flag, stars."""
    parts = [f"<b>{html.escape(os.path.basename(p.path))}</b>"]
    if p.error:
        parts.append(f"<span style='color:#e5534b'>cannot read: {html.escape(p.error)}</span>")
    elif p.score is None:
        parts.append("not scored yet")
    else:
        parts.append(f"score <b>{p.score:.3f}</b>")
        if rank is not None:
            parts.append(f"#{rank} of {scored} in this folder")
    if not p.error and p.score is not None:
        if p.reasons:
            parts.append("<span style='color:#d29922'>" + html.escape(", ".join(p.reasons)) + "</span>")
        if p.faces:
            conf = ", ".join(f"{f.confidence:.0%}" for f in p.faces[:4])
            parts.append(f"{len(p.faces)} face{'s' if len(p.faces) > 1 else ''} ({conf})")
        else:
            parts.append("no faces")
    if p.width:
        parts.append(f"{p.width} × {p.height}")
    if p.crop is not None:
        x0, y0, x1, y1 = p.crop
        parts.append(f"cropped to {round(x1 - x0)} × {round(y1 - y0)}")
    if p.decision == "keep":
        parts.append("<span style='color:#2ea043'><b>✓ pick</b></span>")
    elif p.decision == "reject":
        parts.append("<span style='color:#e5534b'><b>✕ reject</b></span>")
    if p.rating:
        parts.append(f"<span style='color:#f0b428'>{'★' * p.rating}</span>")
    return " &nbsp;·&nbsp; ".join(parts)


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

    @property
    def photo(self) -> Photo | None:
        return self.pane.photo

    @property
    def canvas(self):
        return self.pane.canvas

    def show_photo(self, p: Photo, rank: int | None, scored: int, next_photo: Photo | None = None) -> None:
        self.pane.show_photo(p)
        self.pane.caption.setText(describe(p, rank, scored))
        if next_photo is not None:
            self.pane.prefetch(next_photo)

    def update_photo(self, p: Photo, rank: int | None, scored: int) -> None:
        if self.photo is not None and self.photo.id == p.id:
            self.pane.update_photo(p)
            self.pane.caption.setText(describe(p, rank, scored))

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
