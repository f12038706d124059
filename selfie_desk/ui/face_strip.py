"""Compare Group's faces (issue 28): every face of the group's key people side by side, one row per person and one
column per frame, all at one zoom, so a blink or a soft face on any of them shows at a glance (Compare alone zooms
each pane on its largest face: a group of four showed one face, not the person who blinked).

The crops are cut from the previews the compare panes already hold (no decode of its own) and drawn at the one
scale at which the group's largest key face fills a cell; each says its eyes and focus underneath."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from selfie_desk.core.culling.people import KeyPeople
from selfie_desk.core.storage.catalog import FaceBox, Photo
from selfie_desk.ui.people_panel import face_words, person_name

CELL = 132  # a cell's face area, pixels, for one or two people
STRIP = 360  # the strip's face rows together at most (a group of five: five rows of 72 px), so the panes keep room
MIN_CELL = 72
LABEL = 30  # the words under it
MARGIN = 0.35  # of the face's size, around it


@dataclass(frozen=True)
class Row:
    person: int
    faces: dict[int, FaceBox]  # photo id -> this person's face in that frame


def rows_of(frames: Sequence[Photo], people: KeyPeople | None) -> list[Row]:
    """One row per key person of the group (in order of first appearance), with their face in each frame that has
    it; without identities, one row per key face position of the first frame."""
    if people is None:
        return []
    found: dict[int, dict[int, FaceBox]] = {}
    anonymous = 0
    for p in frames:
        for r in people.role(p.id):
            if not r.key:
                continue
            who = r.person
            if not who:  # a key face too small to tell who it is: its own row
                anonymous -= 1
                who = anonymous
            found.setdefault(who, {})[p.id] = p.faces[r.index]
    return [Row(n, faces) for n, faces in found.items()]


class FaceStrip(QWidget):
    def __init__(self, image_of: Callable[[int], QImage | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("face_strip")
        self.image_of = image_of  # a frame's preview as its compare pane holds it (None while loading)
        self.frames: list[Photo] = []
        self.rows: list[Row] = []
        self.scale = 1.0  # the one zoom: cell pixels per full-resolution pixel
        self.cell = CELL
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._repaints = QTimer(self)  # the previews arrive after the strip is shown: paint again as they do
        self._repaints.setInterval(250)
        self._repaints.timeout.connect(self._tick)
        self._ticks = 0
        self.hide()

    def show_group(self, frames: Sequence[Photo], people: KeyPeople | None) -> None:
        self.frames = list(frames)
        self.rows = rows_of(self.frames, people)
        sizes = [max(f.box[2] - f.box[0], f.box[3] - f.box[1]) for row in self.rows for f in row.faces.values()]
        self.cell = max(MIN_CELL, min(CELL, STRIP // max(1, len(self.rows))))
        self.scale = self.cell / ((1 + 2 * MARGIN) * max(sizes)) if sizes else 1.0
        self.setFixedHeight(len(self.rows) * (self.cell + LABEL) + 4 if self.rows else 0)
        self.setVisible(bool(self.rows))
        self._ticks = 0
        if self.rows:
            self._repaints.start()
        self.update()

    def clear(self) -> None:
        self.frames, self.rows = [], []
        self._repaints.stop()
        self.hide()

    def _tick(self) -> None:
        self._ticks += 1
        self.update()
        if self._ticks >= 12:  # three seconds: the previews are in
            self._repaints.stop()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._repaints.stop()
        super().hideEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor(24, 24, 24))
            if not self.frames:
                return
            width = max(1, self.width() // max(1, len(self.frames)))
            for r, row in enumerate(self.rows):
                top = r * (self.cell + LABEL) + 2
                for c, photo in enumerate(self.frames):
                    cell = QRectF(c * width + 2, top, width - 4, self.cell)
                    face = row.faces.get(photo.id)
                    painter.setPen(QColor(200, 200, 200))
                    if face is None:
                        painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, "not in this frame")
                        continue
                    self._draw_face(painter, cell, photo, face)
                    words = f"{person_name(row.person) if row.person > 0 else 'Key face'}: " \
                            f"{face_words(face.eyes, face.sharpness)}"
                    colour = QColor(230, 90, 80) if face.eyes == "closed" else QColor(200, 200, 200)
                    painter.setPen(colour)
                    painter.drawText(QRectF(cell.left(), top + self.cell, cell.width(), LABEL),
                                     Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, words)
        finally:
            painter.end()

    def _draw_face(self, painter: QPainter, cell: QRectF, photo: Photo, face: FaceBox) -> None:
        image = self.image_of(photo.id)
        if image is None or image.isNull() or not photo.width or not photo.height:
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, "loading…")
            return
        k = image.width() / photo.width  # preview pixels per full-resolution pixel
        x0, y0, x1, y1 = face.box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half_w = cell.width() / 2 / self.scale  # the cell's reach in full-resolution pixels, at the one zoom
        half_h = cell.height() / 2 / self.scale
        source = QRectF((cx - half_w) * k, (cy - half_h) * k, 2 * half_w * k, 2 * half_h * k)
        painter.drawImage(cell, image, source)
