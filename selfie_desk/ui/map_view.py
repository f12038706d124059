"""The Map view (issue 20): the folder's photos laid out by similarity (core/map/layout.py), one thumbnail per
grid cell, zoomed and panned like the loupe.

Painting 10,000 thumbnails from Python one by one would stall the window, so far out (a cell under
`MOSAIC_MAX` screen pixels) the view draws one image: a mosaic of small tiles (`TILE` px a cell) kept up to
date as thumbnails arrive, each tile with its score frame and flag marks already in it. Close up, only the
cells on screen are drawn, from the grid's thumbnails. What changes from frame to frame (the selection, the
photo under the pointer, the groups' outlines) is drawn on top from lists made once.

Mouse: the wheel zooms at the pointer, a right or middle drag pans, a left drag selects the photos in a
rectangle (then P / X flag them, Ctrl+Z undoes), a click opens the loupe; the photo under the pointer is
shown larger with its name and score. Keys: the arrows move to the next photo in that direction, Z zooms to
the thumbnails' size and back; Enter (the window's Loupe action) opens the current photo.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeyEvent, QMouseEvent, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from selfie_desk.core.map.layout import MapLayout, outline
from selfie_desk.core.measures.describe import name_of
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.core.vocabulary import Decision
from selfie_desk.ui.grid import ThumbnailCache, score_color, thumbnail_key
from selfie_desk.ui.theme import PICK, REJECT
from selfie_desk.workers.mapping import BACKGROUND, SMALL, TILE, blank_mosaics

# TILE: px of a cell in the mosaic; SMALL: in the small mosaic, drawn far out (scaling the big one down smoothly
# costs 30 ms a frame)

SMALL_MAX = 16.0  # screen px per cell below which the small mosaic is drawn
MOSAIC_MAX = 64.0  # screen px per cell below which a mosaic is drawn; above, the thumbnails on screen
PASS_BUDGET_S = 0.006  # time a pass of the timer spends drawing tiles into the mosaic (the window never waits)
ASKS_PER_PASS = 60  # thumbnails asked for per pass (the loader keeps only its newest few hundred requests)
SETTLE_S = 0.15  # after a zoom or a pan, the mosaic is scaled smoothly only once the view has been still so long
GROUP = QColor(255, 255, 255, 200)
SELECTION = QColor(80, 170, 255)
CLICK_SLOP = 4  # px a press may move and still be a click


class MapView(QWidget):
    opened = Signal(int)  # photo id: clicked
    current_changed = Signal(int)  # photo id: moved to with the arrows
    region_selected = Signal(list)  # photo ids in a dragged rectangle

    def __init__(self, thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.thumbs = thumbs
        self.layout_: MapLayout | None = None
        self.message = "No map yet"
        self.size_by_score = False
        self.show_flags = True
        self.selected: set[int] = set()
        self.current: int | None = None
        self.hovered: int | None = None
        self.zoom: float | None = None  # None: fit; else screen px per cell
        self.centre = QPointF(0, 0)  # in cells
        self._cells: dict[int, tuple[int, int]] = {}  # photo id -> (column, row), every photo on the map
        self._at: dict[tuple[int, int], int] = {}  # (column, row) -> photo id, the photos shown
        self._photos: dict[int, Photo] = {}  # the photos shown (what the grid's filters let through)
        self._by_key: dict[str, list[int]] = {}
        self._group_lines: list[QLineF] = []
        self.tiles: OrderedDict[int, QImage] = OrderedDict()  # photo id -> its tile, as drawn in the mosaic
        self._mosaic: QImage | None = None
        self._small: QImage | None = None
        self._dirty: OrderedDict[int, None] = OrderedDict()  # tiles to (re)draw into the mosaic
        self._missing: deque[int] = deque()  # photos shown whose thumbnail is not in yet, asked for in turn
        self._press: QPointF | None = None
        self._press_button = Qt.MouseButton.NoButton
        self._band: QRectF | None = None
        self.pointer: QPointF | None = None
        self._pump = QTimer(self)  # fills the mosaic a few hundred tiles at a time
        self._pump.setInterval(15)
        self._pump.timeout.connect(self._fill)
        self._moved_at = 0.0
        self._settle = QTimer(self)  # one smooth repaint once the view stops moving
        self._settle.setSingleShot(True)
        self._settle.setInterval(int(SETTLE_S * 1000) + 20)
        self._settle.timeout.connect(self.update)

    # ---- content -----------------------------------------------------------------------------------
    def clear(self, message: str = "No map yet") -> None:
        self.layout_ = None
        self.message = message
        self._cells, self._at, self._photos, self._by_key = {}, {}, {}, {}
        self.tiles.clear()
        self._dirty.clear()
        self._missing = deque()
        self._mosaic = self._small = None
        self._group_lines = []
        self.selected, self.current, self.hovered = set(), None, None
        self._pump.stop()
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def set_layout(self, layout: MapLayout, groups: list[tuple[int, ...]], photos: list[Photo],
                   cells: dict[int, tuple[int, int]] | None = None,
                   lines: list[tuple[int, int, int, int]] | None = None, mosaics=None) -> None:
        """A new map; `groups`: the photo ids of each group of more than one (outlined); `photos`: those shown.
        `cells`, `lines`, `mosaics`: the layout's cells, the groups' outline and the blank mosaics, when made off
        the UI thread already (workers/mapping.py)."""
        keep_view = self.layout_ is not None and (self.layout_.cols, self.layout_.rows) == (layout.cols, layout.rows)
        self.layout_ = layout
        self._cells = cells if cells is not None else layout.cell_of()
        self._mosaic, self._small = mosaics or blank_mosaics(layout.cols, layout.rows)
        self.tiles = OrderedDict((pid, t) for pid, t in self.tiles.items() if pid in self._cells)
        segments = lines if lines is not None else outline(self._cells, groups)
        self._group_lines = [QLineF(*segment) for segment in segments]
        if not keep_view:
            self.zoom = None
        self._photos = {}
        self.set_photos(photos)

    def set_photos(self, photos: list[Photo]) -> None:
        """The photos to show (the grid's rows: its filters apply); the others' cells stay empty."""
        if self.layout_ is None:
            return
        cells = self._cells
        shown = {p.id: p for p in photos if p.id in cells}
        self._blank([pid for pid in self._photos if pid not in shown])  # hidden now: their cells left empty
        # drawn again: what changed and has a tile (the others' cells are blank until their thumbnail comes)
        before = self._photos
        changed = [pid for pid, p in shown.items() if before.get(pid) is not p and pid in self.tiles]
        self._photos = shown
        self._at = {cells[pid]: pid for pid in shown}
        self._by_key = {}
        for p in shown.values():
            self._by_key.setdefault(thumbnail_key(p), []).append(p.id)
        self.selected &= set(shown)
        for pid in changed:
            self._dirty[pid] = None
        self._missing = deque(pid for pid in shown if pid not in self.tiles)
        if self.current not in shown:
            self.current = None
        self.message = "" if shown else "No photo of this map passes the filters"
        self._pump.start()
        self.update()

    def update_photos(self, photos: list[Photo]) -> None:
        """Photos whose flags or scores changed: their tiles are drawn again."""
        for p in photos:
            if p.id in self._photos:
                self._photos[p.id] = p
                self._dirty[p.id] = None
        self._pump.start()

    def thumbnail_arrived(self, key: str) -> None:
        """The grid's cache has a new thumbnail: make its tile (a thumbnail evicted later stays in the mosaic)."""
        for pid in self._by_key.get(key, ()):
            self._dirty[pid] = None
        if self._dirty:
            self._pump.start()

    @property
    def shown_ids(self) -> list[int]:
        return list(self._photos)

    def cell_rect(self, photo_id: int) -> QRectF | None:
        """Where a photo's cell is on the widget (tests click there)."""
        cell = self._cells.get(photo_id)
        if cell is None:
            return None
        s = self.scale()
        origin = self._origin()
        return QRectF(origin.x() + cell[0] * s, origin.y() + cell[1] * s, s, s)

    # ---- the mosaic --------------------------------------------------------------------------------
    def _fill(self) -> None:
        """One pass: a few hundred tiles drawn into the mosaic, a few hundred thumbnails asked for."""
        if self._mosaic is None or self._small is None:
            self._pump.stop()
            return
        painter = QPainter(self._mosaic)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        small = QPainter(self._small)
        small.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        drawn = 0
        end = time.perf_counter() + PASS_BUDGET_S
        try:
            while self._dirty and time.perf_counter() < end:
                pid, _ = self._dirty.popitem(last=False)
                p = self._photos.get(pid)
                if p is None:
                    continue
                pixmap = self.thumbs.get(p)
                if pixmap is not None:
                    self.tiles[pid] = pixmap.toImage().scaled(
                        TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
                tile = self.tiles.get(pid)
                c, r = self._cells[pid]
                self._draw_cell(painter, QRectF(c * TILE, r * TILE, TILE, TILE), p, tile)
                self._draw_cell(small, QRectF(c * SMALL, r * SMALL, SMALL, SMALL), p, tile)
                drawn += 1
        finally:
            painter.end()
            small.end()
        # a few photos without a tile are asked for, then go to the back of the queue: the loader keeps only its
        # newest requests, so asking for all 10,000 at once would only churn it. None while the view moves: the
        # loader's threads would take the CPU and the GIL from the frames (the grid asks only for what is on screen)
        moving = time.perf_counter() - self._moved_at < 2 * SETTLE_S
        for _ in range(0 if moving else min(ASKS_PER_PASS, len(self._missing))):
            pid = self._missing.popleft()
            p = self._photos.get(pid)
            if pid in self.tiles or p is None or self.thumbs.failure(p) is not None:
                continue  # drawn meanwhile, hidden, or unreadable: no longer waited for
            if self.thumbs.get(p) is not None:  # in the grid's cache already, or asked for now
                self._dirty[pid] = None
            self._missing.append(pid)
        if drawn:
            self.update()
        if not self._dirty and not self._missing:
            self._pump.stop()
        # waiting on the loader only: look again now and then (a thumbnail's arrival marks its tile dirty anyway)
        self._pump.setInterval(15 if self._dirty else 120)

    def _blank(self, photo_ids: list[int]) -> None:
        if self._mosaic is None or self._small is None or not photo_ids:
            return
        for image, edge in ((self._mosaic, TILE), (self._small, SMALL)):
            painter = QPainter(image)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(BACKGROUND)
            painter.drawRects([QRectF(self._cells[pid][0] * edge, self._cells[pid][1] * edge, edge, edge)
                               for pid in photo_ids if pid in self._cells])
            painter.end()

    def _box(self, rect: QRectF, p: Photo) -> QRectF:
        """Where a photo's thumbnail may go in its cell: a margin, and smaller for a low score when sizing by it."""
        pad = max(1.0, rect.width() * 0.06)
        box = rect.adjusted(pad, pad, -pad, -pad)
        if self.size_by_score and p.score is not None:
            shrink = box.width() * (1 - (0.35 + 0.65 * max(0.0, min(1.0, p.score)))) / 2
            box = box.adjusted(shrink, shrink, -shrink, -shrink)
        return box

    @staticmethod
    def _fit(box: QRectF, image: QImage | QPixmap) -> QRectF:
        w, h = image.width(), image.height()
        k = min(box.width() / w, box.height() / h)
        return QRectF(box.center().x() - w * k / 2, box.center().y() - h * k / 2, w * k, h * k)

    def _draw_cell(self, painter: QPainter, rect: QRectF, p: Photo, image: QImage | QPixmap | None) -> None:
        """One photo in its cell: the thumbnail (smaller for a low score when sizing by score), a frame in the
        score's colour, a pick's green corner, a reject dimmed with a red one."""
        painter.fillRect(rect, BACKGROUND)
        box = self._box(rect, p)
        if image is not None and not image.isNull():
            target = self._fit(box, image)
            if isinstance(image, QPixmap):
                painter.drawPixmap(target, image, QRectF(image.rect()))
            else:
                painter.drawImage(target, image)
        else:
            target = box
            painter.fillRect(box, QColor(60, 60, 64))
        if not self.size_by_score and p.score is not None:
            painter.setPen(QPen(score_color(p.score), max(1.0, min(3.0, rect.width() / 24))))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(target)
        if self.show_flags and p.decision is not None:
            mark = max(3.0, min(14.0, rect.width() / 6))
            if p.decision == Decision.REJECT:
                painter.fillRect(target, QColor(0, 0, 0, 140))
            painter.fillRect(QRectF(target.left(), target.top(), mark, mark),
                             PICK if p.decision == Decision.KEEP else REJECT)

    def _paint_close(self, painter: QPainter, origin: QPointF, s: float, still: bool) -> None:
        """Close up: the thumbnails of the cells on screen, one drawPixmap each; their frames and flag marks
        (batched by colour) only once the view is still."""
        assert self.layout_ is not None
        cols, rows = self.layout_.cols, self.layout_.rows
        c0, r0 = max(0, int(-origin.x() // s)), max(0, int(-origin.y() // s))
        c1 = min(cols, int((self.width() - origin.x()) // s) + 1)
        r1 = min(rows, int((self.height() - origin.y()) // s) + 1)
        frames: dict[int, list[QRectF]] = {}
        rejects: list[QRectF] = []
        marks: dict[str, list[QRectF]] = {Decision.KEEP: [], Decision.REJECT: []}
        mark = max(3.0, min(14.0, s / 6))
        for r in range(r0, r1):
            for c in range(c0, c1):
                pid = self._at.get((c, r))
                if pid is None:
                    continue
                p = self._photos[pid]
                box = self._box(QRectF(origin.x() + c * s, origin.y() + r * s, s, s), p)
                image: QImage | QPixmap | None = self.thumbs.get(p) or self.tiles.get(pid)
                if image is None or image.isNull():
                    painter.fillRect(box, QColor(60, 60, 64))
                    target = box
                else:
                    target = self._fit(box, image)
                    if isinstance(image, QPixmap):
                        painter.drawPixmap(target.toRect(), image)
                    else:
                        painter.drawImage(target, image)
                if not still:
                    continue
                if not self.size_by_score and p.score is not None:
                    frames.setdefault(int(max(0.0, min(1.0, p.score)) * 20), []).append(target)
                if self.show_flags and p.decision in marks:
                    marks[p.decision].append(QRectF(target.left(), target.top(), mark, mark))
                    if p.decision == Decision.REJECT:
                        rejects.append(target)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for bucket, rects in frames.items():
            painter.setPen(QPen(score_color(bucket / 20), max(1.0, min(3.0, s / 24))))
            painter.drawRects(rects)
        painter.setPen(Qt.PenStyle.NoPen)
        if rejects:
            painter.setBrush(QColor(0, 0, 0, 140))
            painter.drawRects(rejects)
        for decision, colour in ((Decision.KEEP, PICK), (Decision.REJECT, REJECT)):
            if marks[decision]:
                painter.setBrush(colour)
                painter.drawRects(marks[decision])
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def redraw_all(self) -> None:
        """Every tile again (the score's sizing or the flags' marks were switched)."""
        for pid in self._photos:
            self._dirty[pid] = None
        self._pump.start()
        self.update()

    # ---- view --------------------------------------------------------------------------------------
    def fit_scale(self) -> float:
        if self.layout_ is None:
            return 1.0
        return max(1e-3, min(self.width() / self.layout_.cols, self.height() / self.layout_.rows))

    def scale(self) -> float:
        return self.fit_scale() if self.zoom is None else self.zoom

    def _origin(self) -> QPointF:
        """Where cell (0, 0)'s corner is on the widget."""
        s = self.scale()
        if self.layout_ is None:
            return QPointF(0, 0)
        centre = QPointF(self.layout_.cols / 2, self.layout_.rows / 2) if self.zoom is None else self.centre
        return QPointF(self.width() / 2 - centre.x() * s, self.height() / 2 - centre.y() * s)

    def _to_cell(self, at: QPointF) -> QPointF:
        s, o = self.scale(), self._origin()
        return QPointF((at.x() - o.x()) / s, (at.y() - o.y()) / s)

    def photo_at(self, at: QPointF) -> int | None:
        c = self._to_cell(at)
        if c.x() < 0 or c.y() < 0:
            return None
        return self._at.get((int(c.x()), int(c.y())))

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        if self.layout_ is None:
            return
        at = at or QPointF(self.width() / 2, self.height() / 2)
        under = self._to_cell(at)
        new = max(self.fit_scale(), min(float(self.thumbs.edge) * 2, self.scale() * factor))
        if new <= self.fit_scale() * 1.0001:
            self.zoom = None
        else:
            self.zoom = new
            # keep the cell under the pointer where it is
            self.centre = QPointF(under.x() - (at.x() - self.width() / 2) / new,
                                  under.y() - (at.y() - self.height() / 2) / new)
        self._moved()

    def _moved(self) -> None:
        self._moved_at = time.perf_counter()
        self._settle.start()
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) screen px (a drag)."""
        if self.zoom is None or self.layout_ is None:
            return
        self.centre = QPointF(min(max(self.centre.x() - dx / self.zoom, 0), self.layout_.cols),
                              min(max(self.centre.y() - dy / self.zoom, 0), self.layout_.rows))
        self._moved()

    def toggle_zoom(self, at: QPointF | None = None) -> None:
        """Fit <-> the thumbnails' own size, centred on `at` (or the current photo)."""
        if self.layout_ is None:
            return
        if self.zoom is not None:
            self.zoom = None
        else:
            target = self._to_cell(at) if at is not None else None
            if target is None and self.current is not None and self.current in self._cells:
                c, r = self._cells[self.current]
                target = QPointF(c + 0.5, r + 0.5)
            self.zoom = float(self.thumbs.edge)
            self.centre = target or QPointF(self.layout_.cols / 2, self.layout_.rows / 2)
        self.update()

    def set_current(self, photo_id: int | None) -> None:
        self.current = photo_id
        self.update()

    # ---- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), BACKGROUND)
        if self.layout_ is None or self._mosaic is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message or "No map yet")
            return
        s, o = self.scale(), self._origin()
        cols, rows = self.layout_.cols, self.layout_.rows
        whole = QRectF(o.x(), o.y(), cols * s, rows * s)
        # scaling the big mosaic smoothly costs tens of ms a frame: while the view moves it is scaled fast, then
        # once more smoothly when it stops (the settle timer); far out the small one is scaled little
        still = time.perf_counter() - self._moved_at > SETTLE_S
        if s < MOSAIC_MAX:
            mosaic, edge = (self._small, SMALL) if s < SMALL_MAX and self._small is not None else (self._mosaic, TILE)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, still or edge == SMALL)
            visible = whole.intersected(QRectF(self.rect()))
            if not visible.isEmpty():
                k = edge / s
                source = QRectF((visible.left() - o.x()) * k, (visible.top() - o.y()) * k,
                                visible.width() * k, visible.height() * k)
                painter.drawImage(visible, mosaic, source)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, still)
            self._paint_close(painter, o, s, still)
        painter.save()
        painter.translate(o)
        painter.scale(s, s)
        if self._group_lines:
            pen = QPen(GROUP, 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawLines(self._group_lines)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.selected:
            pen = QPen(SELECTION, 2.5 if s > 12 else 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRects([QRectF(*self._cells[pid], 1, 1) for pid in self.selected if pid in self._cells])
        if self.current in self._cells:
            pen = QPen(QColor(255, 255, 255), 2.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(QRectF(*self._cells[self.current], 1, 1))
        painter.restore()
        if self._band is not None:
            painter.setPen(QPen(SELECTION, 1, Qt.PenStyle.DashLine))
            painter.fillRect(self._band, QColor(80, 170, 255, 40))
            painter.drawRect(self._band)
        if self.hovered is not None and self._band is None:
            self._paint_hover(painter, self.hovered)
        if self.message:  # over the map: "no photo passes the filters", "laying out again"
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)

    def _paint_hover(self, painter: QPainter, pid: int) -> None:
        """The photo under the pointer, larger, beside it, with its name and score."""
        p = self._photos.get(pid)
        rect = self.cell_rect(pid)
        if p is None or rect is None or self.pointer is None:
            return
        pixmap = self.thumbs.get(p)
        image = pixmap if pixmap is not None else self.tiles.get(pid)
        edge = min(260.0, max(120.0, self.height() / 3))
        w, h = (image.width(), image.height()) if image is not None else (4, 3)
        k = edge / max(w, h)
        box = QRectF(0, 0, w * k, h * k + 22)
        right = self.pointer.x() + 18
        x = right if right + box.width() < self.width() else self.pointer.x() - 18 - box.width()
        y = min(max(4.0, self.pointer.y() - box.height() / 2), self.height() - box.height() - 4)
        box.moveTo(x, y)
        painter.fillRect(box.adjusted(-3, -3, 3, 3), QColor(0, 0, 0, 210))
        photo_rect = QRectF(box.left(), box.top(), w * k, h * k)
        if isinstance(image, QPixmap):
            painter.drawPixmap(photo_rect, image, QRectF(image.rect()))
        elif image is not None:
            painter.drawImage(photo_rect, image)
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        painter.setPen(QColor(235, 235, 235))
        score = "not scored" if p.score is None else f"score {p.score:.2f}"
        flag = {Decision.KEEP: " · pick", Decision.REJECT: " · reject"}.get(p.decision or "", "")
        painter.drawText(QRectF(box.left() + 2, box.bottom() - 20, box.width() - 4, 18),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         painter.fontMetrics().elidedText(f"{name_of(p)} · {score}{flag}", Qt.TextElideMode.ElideMiddle,
                                                          int(box.width() - 4)))

    # ---- mouse and keys ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        self._press = self.pointer = event.position()
        self._press_button = event.button()
        if event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        at = event.position()
        if self._press is not None and self._press_button in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            assert self.pointer is not None
            self.pan_by(at.x() - self.pointer.x(), at.y() - self.pointer.y())
        elif self._press is not None and self._press_button == Qt.MouseButton.LeftButton:
            if (at - self._press).manhattanLength() > CLICK_SLOP or self._band is not None:
                self._band = QRectF(self._press, at).normalized()
                self.update()
        self.pointer = at
        hovered = self.photo_at(at) if self._press is None else None
        if hovered != self.hovered:
            self.hovered = hovered
            self.update()
        elif hovered is not None:
            self.update()  # the preview follows the pointer

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        band, press, button = self._band, self._press, self._press_button
        self._band, self._press = None, None
        self.unsetCursor()
        if button == Qt.MouseButton.LeftButton and band is not None:
            a, b = self._to_cell(band.topLeft()), self._to_cell(band.bottomRight())
            ids = [pid for (c, r), pid in self._at.items() if a.x() - 1 < c < b.x() and a.y() - 1 < r < b.y()]
            self.selected = set(ids)
            self.update()
            self.region_selected.emit(sorted(ids, key=lambda pid: self._cells[pid][::-1]))
        elif button == Qt.MouseButton.LeftButton and press is not None:
            pid = self.photo_at(event.position())
            if pid is not None:
                self.current = pid
                self.selected = {pid}
                self.opened.emit(pid)
        self.update()

    def leaveEvent(self, event) -> None:
        self.hovered = None
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25 ** steps, event.position())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        pass  # the first click opened the loupe

    def keyPressEvent(self, event: QKeyEvent) -> None:
        moves = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        key = Qt.Key(event.key())
        if key in moves:
            self.step(*moves[key])
        elif key == Qt.Key.Key_Z:
            self.toggle_zoom()
        else:
            super().keyPressEvent(event)

    def step(self, dx: int, dy: int) -> None:
        """To the nearest photo shown in direction (dx, dy) of the current one (the first photo when none)."""
        if not self._at:
            return
        if self.current not in self._cells:
            pid = min(self._at.items(), key=lambda kv: (kv[0][1], kv[0][0]))[1]
        else:
            c0, r0 = self._cells[self.current]  # type: ignore[index]
            best = None
            for (c, r), pid in self._at.items():
                along = (c - c0) * dx + (r - r0) * dy
                if along <= 0:
                    continue
                across = abs((c - c0) * dy) + abs((r - r0) * dx)
                key = (along + 2 * across, across)
                if best is None or key < best[0]:
                    best = (key, pid)
            if best is None:
                return
            pid = best[1]
        self.current = pid
        self.selected = {pid}
        self._keep_in_view(pid)
        self.current_changed.emit(pid)
        self.update()

    def _keep_in_view(self, pid: int) -> None:
        rect = self.cell_rect(pid)
        if rect is None or self.zoom is None or QRectF(self.rect()).contains(rect):
            return
        c, r = self._cells[pid]
        self.centre = QPointF(c + 0.5, r + 0.5)
