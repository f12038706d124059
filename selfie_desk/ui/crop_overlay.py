"""The crop overlay on the loupe's photo: the outside darkened, rule-of-thirds lines, the score, and handles
on the corners and edges that adjust the box by hand (dragging inside moves it).

It is a transparent child laid over the canvas and speaks the canvas's language: boxes in pixels of the
upright full-resolution photo, mapped through where the canvas draws the photo, so zoom and pan keep it
in place. Clicks outside the box, the wheel and double-clicks fall through to the canvas (pan, zoom).
Passive, it only shows an accepted crop (a frame, the outside lightly dimmed) and takes no clicks.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from selfie_desk.ui.crop_box import Box, clamp_move, drag_handle

HANDLE = 9.0  # drawn size of a handle, screen pixels
GRAB = 12.0  # how near a handle a press must be to take it
DIM_EDIT = QColor(0, 0, 0, 150)
DIM_PASSIVE = QColor(0, 0, 0, 90)
ACCENT = QColor(255, 200, 60)
CURSORS = {
    "tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor,
    "move": Qt.CursorShape.SizeAllCursor,
}


class CropOverlay(QWidget):
    box_edited = Signal(object)  # Box, while a drag by hand moves it
    box_released = Signal(object)  # Box, where a drag by hand left it

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(True)
        self.box: Box | None = None
        self.width_px = 0  # the photo's full resolution
        self.height_px = 0
        self.ratio: float | None = None  # kept by the handles; None: free
        self.editing = False
        self.label = ""  # e.g. "2/4 · score 0.712"
        self.note = ""  # e.g. "Proposing a 4:5 crop…"
        self._drag: str | None = None  # a handle name, or "move"
        self._drag_from = QPointF()
        self._drag_box: Box | None = None
        canvas.installEventFilter(self)
        self.setGeometry(canvas.rect())
        self.hide()

    # ---- state -------------------------------------------------------------------------------------
    def edit(self, box: Box | None, width: int, height: int, ratio: float | None, label: str = "",
             note: str = "") -> None:
        """Show `box` with handles (None: only the note, while a proposal is on its way)."""
        self.editing = True
        self.box, self.width_px, self.height_px, self.ratio = box, width, height, ratio
        self.label, self.note = label, note
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        self._show()

    def show_accepted(self, box: Box, width: int, height: int) -> None:
        """An accepted crop, shown without handles."""
        self.editing = False
        self.box, self.width_px, self.height_px, self.ratio = box, width, height, None
        self.label, self.note = "", ""
        self._drag = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self._show()

    def clear(self) -> None:
        self.editing = False
        self.box = None
        self._drag = None
        self.label = self.note = ""
        self.unsetCursor()
        self.hide()

    def _show(self) -> None:
        self.setGeometry(self.canvas.rect())
        self.show()
        self.raise_()
        self.update()

    # ---- coordinates -------------------------------------------------------------------------------
    def photo_rect(self) -> QRectF:
        """Where the whole photo lands on the canvas (and on this overlay, which covers it exactly)."""
        return self.canvas.photo_rect()

    def to_screen(self, box: Box) -> QRectF:
        t = self.photo_rect()
        if not self.width_px or not self.height_px:
            return QRectF()
        sx, sy = t.width() / self.width_px, t.height() / self.height_px
        x0, y0, x1, y1 = box
        return QRectF(t.left() + x0 * sx, t.top() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)

    def to_photo(self, at: QPointF) -> tuple[float, float]:
        t = self.photo_rect()
        if t.width() <= 0 or t.height() <= 0:
            return 0.0, 0.0
        return ((at.x() - t.left()) / t.width() * self.width_px, (at.y() - t.top()) / t.height() * self.height_px)

    def handle_points(self) -> dict[str, QPointF]:
        """Screen position of each handle of the current box."""
        if self.box is None:
            return {}
        r = self.to_screen(self.box)
        cx, cy = r.center().x(), r.center().y()
        return {"tl": r.topLeft(), "t": QPointF(cx, r.top()), "tr": r.topRight(), "r": QPointF(r.right(), cy),
                "br": r.bottomRight(), "b": QPointF(cx, r.bottom()), "bl": r.bottomLeft(),
                "l": QPointF(r.left(), cy)}

    def hit(self, at: QPointF) -> str | None:
        """What a press at `at` takes: a handle's name, "move" inside the box, or None."""
        if self.box is None or not self.editing:
            return None
        best, best_d = None, GRAB
        for name, p in self.handle_points().items():
            d = max(abs(p.x() - at.x()), abs(p.y() - at.y()))
            if d <= best_d:
                best, best_d = name, d
        if best is not None:
            return best
        return "move" if self.to_screen(self.box).contains(at) else None

    # ---- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            if self.box is not None and self.width_px and self.height_px:
                self._paint_box(painter)
            if self.editing and (self.note or self.label):
                self._paint_label(painter)
        finally:
            painter.end()

    def _paint_box(self, painter: QPainter) -> None:
        photo = self.photo_rect().intersected(QRectF(self.rect()))
        box = self.to_screen(self.box)
        outside = QPainterPath()
        outside.addRect(photo)
        inner = QPainterPath()
        inner.addRect(box)
        painter.fillPath(outside.subtracted(inner), DIM_EDIT if self.editing else DIM_PASSIVE)
        if not self.editing:
            pen = QPen(QColor(255, 255, 255, 200), 1, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(box)
            return
        painter.setPen(QPen(QColor(255, 255, 255, 110), 1))
        for k in (1, 2):
            x = box.left() + box.width() * k / 3
            y = box.top() + box.height() * k / 3
            painter.drawLine(QPointF(x, box.top()), QPointF(x, box.bottom()))
            painter.drawLine(QPointF(box.left(), y), QPointF(box.right(), y))
        painter.setPen(QPen(ACCENT, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box)
        painter.setPen(QPen(QColor(40, 40, 40), 1))
        painter.setBrush(ACCENT)
        for p in self.handle_points().values():
            painter.drawRect(QRectF(p.x() - HANDLE / 2, p.y() - HANDLE / 2, HANDLE, HANDLE))

    def _paint_label(self, painter: QPainter) -> None:
        font = QFont(painter.font())
        font.setBold(True)
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.1)
        painter.setFont(font)
        text = "  ·  ".join(t for t in (self.label, self.note) if t)
        metrics = painter.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 20, metrics.height() + 10
        if self.box is not None:
            box = self.to_screen(self.box)
            x = max(4.0, min(box.left(), self.width() - w - 4))
            y = box.top() + 8 if box.top() - h - 6 < 0 else box.top() - h - 6
            y = max(4.0, min(y, self.height() - h - 4))
        else:
            x, y = (self.width() - w) / 2, 12.0
        pill = QRectF(x, y, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 22, 215))
        painter.drawRoundedRect(pill, 6, 6)
        painter.setPen(ACCENT)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    # ---- mouse -------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        what = self.hit(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        if what is None:
            event.ignore()  # the canvas pans
            return
        self._drag, self._drag_from, self._drag_box = what, event.position(), self.box
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            if self.editing:
                shape = CURSORS.get(self.hit(event.position()) or "")
                if shape is None:
                    self.unsetCursor()
                else:
                    self.setCursor(shape)
            event.ignore()
            return
        assert self._drag_box is not None
        if self._drag == "move":
            x0, y0 = self.to_photo(self._drag_from)
            x1, y1 = self.to_photo(event.position())
            box = clamp_move(self._drag_box, x1 - x0, y1 - y0, self.width_px, self.height_px)
        else:
            x, y = self.to_photo(event.position())
            box = drag_handle(self._drag_box, self._drag, x, y, self.width_px, self.height_px, self.ratio)
        self.box = box
        self.update()
        self.box_edited.emit(box)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            event.ignore()
            return
        self._drag = None
        if self.box is not None and self.box != self._drag_box:
            self.box_released.emit(self.box)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        event.ignore()

    def wheelEvent(self, event) -> None:
        event.ignore()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False
