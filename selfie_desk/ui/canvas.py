"""A photo on screen with zoom and pan: fit to the window, or any scale up to 100 % and beyond.

The view is kept in the photo's own terms (a scale relative to full resolution and a centre as a
fraction of the photo), so several canvases showing different photos can follow one another (compare).
The image drawn may be a reduced copy; the canvas asks for more pixels when the zoom needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from selfie_desk.core.storage.catalog import FaceBox

FACE_COLOR = QColor(80, 220, 255)


@dataclass(frozen=True)
class ViewState:
    zoom: float | None = None  # None: fit the window; else screen pixels per full-resolution pixel
    cx: float = 0.5  # centre of the view, as a fraction of the photo's width and height
    cy: float = 0.5


class ImageCanvas(QWidget):
    view_changed = Signal(object)  # ViewState, when the user zooms or pans
    needs_pixels = Signal(int)  # long edge (full-resolution pixels) the current zoom wants
    clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setMouseTracking(False)
        self._image: QImage | None = None
        self._full = QSize(0, 0)  # the photo's full-resolution size
        self._state = ViewState()
        self._faces: list[FaceBox] = []
        self.show_faces = False
        self.attention = None  # h x w cells, signed (ui/attention.py): drawn over the photo when set
        self.message = ""
        self._drag: QPointF | None = None

    # ---- content -----------------------------------------------------------------------------------
    def set_photo(self, width: int | None, height: int | None, faces: list[FaceBox]) -> None:
        """A new photo: its full size (for coordinates), faces; the image follows via set_image."""
        self._image = None
        self._full = QSize(width or 0, height or 0)
        self._faces = list(faces)
        self.attention = None
        self.message = ""
        self.update()

    def set_faces(self, faces: list[FaceBox]) -> None:
        self._faces = list(faces)
        self.update()

    def set_image(self, image: QImage) -> None:
        self._image = image
        if self._full.isEmpty():
            self._full = image.size()
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    @property
    def image(self) -> QImage | None:
        return self._image

    @property
    def state(self) -> ViewState:
        return self._state

    # ---- view --------------------------------------------------------------------------------------
    def fit_scale(self) -> float:
        if self._full.isEmpty():
            return 1.0
        return min(self.width() / self._full.width(), self.height() / self._full.height())

    def scale(self) -> float:
        return self.fit_scale() if self._state.zoom is None else self._state.zoom

    def set_view(self, state: ViewState, emit: bool = False) -> None:
        self._state = self._clamped(state)
        self.update()
        if emit:
            self.view_changed.emit(self._state)
        self._ask_for_pixels()

    def toggle_zoom(self, at: QPointF | None = None) -> None:
        """Fit <-> 100 %, centred on `at` (widget coordinates) when given."""
        if self._state.zoom is None:
            cx, cy = self._to_fraction(at) if at is not None else (self._state.cx, self._state.cy)
            self.set_view(ViewState(1.0, cx, cy), emit=True)
        else:
            self.set_view(ViewState(None), emit=True)

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        at = at or QPointF(self.width() / 2, self.height() / 2)
        fx, fy = self._to_fraction(at)
        old = self.scale()
        new = max(self.fit_scale() * 0.5, min(8.0, old * factor))
        if self._full.isEmpty():
            return
        # keep the photo point under the cursor where it is
        dx, dy = at.x() - self.width() / 2, at.y() - self.height() / 2
        cx = fx - dx / (new * self._full.width())
        cy = fy - dy / (new * self._full.height())
        fit = abs(new - self.fit_scale()) < 1e-6
        self.set_view(ViewState(None if fit else new, cx, cy), emit=True)

    def _clamped(self, s: ViewState) -> ViewState:
        if s.zoom is None or self._full.isEmpty():
            return ViewState(s.zoom, 0.5, 0.5) if s.zoom is None else s
        w, h = s.zoom * self._full.width(), s.zoom * self._full.height()

        def clamp(c: float, shown: float, room: float) -> float:
            if shown <= room:
                return 0.5
            half = room / 2 / shown
            return max(half, min(1 - half, c))

        return ViewState(s.zoom, clamp(s.cx, w, self.width()), clamp(s.cy, h, self.height()))

    def _target(self) -> QRectF:
        """Where the whole photo lands on the widget."""
        s = self.scale()
        w, h = self._full.width() * s, self._full.height() * s
        st = self._state if self._state.zoom is not None else ViewState()
        return QRectF(self.width() / 2 - st.cx * w, self.height() / 2 - st.cy * h, w, h)

    def photo_rect(self) -> QRectF:
        """Where the whole photo lands on the widget (overlays such as the crop box map through it)."""
        return self._target()

    def _to_fraction(self, at: QPointF) -> tuple[float, float]:
        t = self._target()
        if t.width() <= 0 or t.height() <= 0:
            return 0.5, 0.5
        return ((at.x() - t.left()) / t.width(), (at.y() - t.top()) / t.height())

    def _ask_for_pixels(self) -> None:
        if self._image is None or self._full.isEmpty():
            return
        wanted = self.scale() * max(self._full.width(), self._full.height())
        have = max(self._image.width(), self._image.height())
        if wanted > have * 1.05 and have < max(self._full.width(), self._full.height()):
            self.needs_pixels.emit(int(min(wanted, max(self._full.width(), self._full.height()))))

    # ---- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), QColor(30, 30, 32))
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message or "Loading…")
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self._target()
        # draw only the visible part of the source: cheap at 100 % on a big photo
        visible = target.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        sx = self._image.width() / target.width()
        sy = self._image.height() / target.height()
        source = QRectF((visible.left() - target.left()) * sx, (visible.top() - target.top()) * sy,
                        visible.width() * sx, visible.height() * sy)
        painter.drawImage(visible, self._image, source)
        if self.attention is not None:
            self._paint_attention(painter, target)
        if self.show_faces and self._faces:
            self._paint_faces(painter, target)

    def _paint_attention(self, painter: QPainter, target: QRectF) -> None:
        """The cells that raised the score warm (orange), those that lowered it cool (blue), by strength."""
        cells = self.attention
        rows, cols = cells.shape
        cw, ch = target.width() / cols, target.height() / rows
        for r in range(rows):
            for c in range(cols):
                v = float(cells[r, c])
                if abs(v) < 0.1:
                    continue
                colour = QColor(255, 140, 0) if v > 0 else QColor(40, 120, 255)
                colour.setAlpha(int(150 * min(1.0, abs(v))))
                painter.fillRect(QRectF(target.left() + c * cw, target.top() + r * ch, cw + 0.5, ch + 0.5), colour)

    def _paint_faces(self, painter: QPainter, target: QRectF) -> None:
        s = target.width() / self._full.width()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        for face in self._faces:
            x0, y0, x1, y1 = face.box
            box = QRectF(target.left() + x0 * s, target.top() + y0 * s, (x1 - x0) * s, (y1 - y0) * s)
            painter.setPen(QPen(FACE_COLOR, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box)
            label = f"face {face.confidence:.0%}"
            tag = QRectF(box.left(), box.top() - 18, max(box.width(), 70), 18)
            painter.fillRect(tag, QColor(0, 0, 0, 150))
            painter.setPen(FACE_COLOR)
            painter.drawText(tag.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, label)

    # ---- mouse -------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit()
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None or self._state.zoom is None or self._full.isEmpty():
            return
        delta = event.position() - self._drag
        self._drag = event.position()
        s = self.scale()
        st = self._state
        self.set_view(ViewState(st.zoom, st.cx - delta.x() / (s * self._full.width()),
                                st.cy - delta.y() / (s * self._full.height())), emit=True)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.toggle_zoom(event.position())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25 ** steps, event.position())

    def resizeEvent(self, event) -> None:
        self._state = self._clamped(self._state)
        super().resizeEvent(event)
