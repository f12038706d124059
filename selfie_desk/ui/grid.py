"""The thumbnail grid: a QListView in icon mode, a delegate that draws each photo with its score, flag and
stars, and the cache of thumbnails it asks for lazily (only cells being painted ask).

The strip under a thumbnail is laid out by `layout_strip`, in order of importance (score, stars, crop score,
faces): a field that does not fit is abbreviated, then dropped, so nothing is ever drawn over anything else
at any thumbnail size. The cells share out the grid's width, so no column of empty space is left at the right.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QRegion,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from selfie_desk.core.culling.groups import CLOSED_EYES, SOFT_FOCUS
from selfie_desk.core.culling.view import Stack
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.core.vocabulary import Decision
from selfie_desk.ui.grid_model import PhotoGridModel, PhotoRole
from selfie_desk.ui.theme import PICK, REJECT, STAR
from selfie_desk.workers.images import ImageLoader, ImageRequest

STRIP = 24  # height of the text strip under a thumbnail
NAME_LINE = 16  # the file name's line under the strip, when names are shown
PAD = 6
GAP = 5  # between two fields of the strip
STAR_SCALE = 1.3
CROP_DIM = QColor(0, 0, 0, 150)  # the part of a thumbnail an accepted crop cuts away
CROP_FRAME = QColor(255, 255, 255, 220)
STACK_HIT = (60, 30)  # the count badge's clickable corner (top right of the thumbnail), px
STACK_FILL = QColor(20, 20, 20, 200)
BEST = QColor(240, 190, 60)
WARN = QColor(200, 70, 50, 225)  # closed eyes, soft focus
BADGES_ORDER = (CLOSED_EYES, SOFT_FOCUS)
BADGE_WORDS = {CLOSED_EYES: ("closed eyes", "eyes"), SOFT_FOCUS: ("soft focus", "soft")}


def frame_rect(cell: QRect, edge: int) -> QRect:
    """Where a cell's thumbnail frame lies (the same in a cell's pixmap and in the view, offset by the cell)."""
    return QRect(cell.left() + PAD, cell.top() + PAD, edge, edge)


def stack_hit_rect(cell: QRect, edge: int) -> QRect:
    frame = frame_rect(cell, edge)
    return QRect(frame.right() - STACK_HIT[0], frame.top(), STACK_HIT[0] + 1, STACK_HIT[1])


def score_color(score: float) -> QColor:
    """Red (0) through amber to green (1): the score readable at a glance."""
    hue = int(120 * max(0.0, min(1.0, score)))
    return QColor.fromHsv(hue, 170, 200)


def thumbnail_key(p: Photo) -> str:
    return p.fingerprint or p.path


class ThumbnailCache:
    """The grid's thumbnails as pixmaps at the grid's size, least recently used dropped first."""

    def __init__(self, loader: ImageLoader, edge: int, capacity: int = 600) -> None:
        self.loader, self.edge, self.capacity = loader, edge, capacity
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: dict[str, str] = {}

    def set_edge(self, edge: int) -> None:
        if edge != self.edge:
            self.edge = edge
            self._pixmaps.clear()

    def clear(self) -> None:
        self._pixmaps.clear()
        self._failed.clear()
        self.loader.forget_pending()

    def get(self, p: Photo) -> QPixmap | None:
        """The thumbnail if loaded; otherwise ask for it (once) and return None. Called on every paint."""
        key = p.fingerprint or p.path
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if key not in self._failed and not self.loader.is_wanted(key):
            self.loader.request(ImageRequest(key, p.path, p.fingerprint, self.edge, pair=p.pair))
        return None

    def failure(self, p: Photo) -> str | None:
        return self._failed.get(thumbnail_key(p))

    def store(self, key: str, image: QImage) -> None:
        if max(image.width(), image.height()) > self.edge:
            image = image.scaled(self.edge, self.edge, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self._pixmaps[key] = QPixmap.fromImage(image)
        self._pixmaps.move_to_end(key)
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)

    def store_failure(self, key: str, message: str) -> None:
        self._failed[key] = message


class ThumbnailArrivals(QObject):
    """Thumbnails as the loader brings them (on the UI thread): kept in the cache, said on `arrived` (the map makes
    its tiles from them), and the grid repainted once per burst, since they arrive in bursts."""

    arrived = Signal(str)  # the key of a thumbnail now in the cache

    def __init__(self, loader: ImageLoader, cache: ThumbnailCache, grid: QAbstractItemView,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self._repaint_timer = QTimer(self)  # repaint the grid once per burst
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(30)
        self._repaint_timer.timeout.connect(grid.viewport().update)
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_failed)

    @Slot(str, QImage)
    def _on_loaded(self, key: str, image: QImage) -> None:
        self.cache.store(key, image)
        self.arrived.emit(key)
        self._repaint()

    @Slot(str, str)
    def _on_failed(self, key: str, message: str) -> None:
        self.cache.store_failure(key, message)
        self._repaint()

    def _repaint(self) -> None:
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()


class PhotoDelegate(QStyledItemDelegate):
    """Draws a cell once into a pixmap and reuses it until the photo, its thumbnail or its selection change.

    Painting from Python holds the GIL, which a scan's threads want too: one drawPixmap per cell keeps
    scrolling and repaints smooth during a scan. When a burst of thumbnails arrives, only a few new cells
    are drawn per frame (the others keep their placeholder a frame longer), so the window never stalls.
    """

    RENDER_BUDGET = 6  # cells newly drawn with their thumbnail, per frame
    FRAME_S = 0.03

    def __init__(self, cache: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.show_names = False
        self._cells: OrderedDict[tuple, QPixmap] = OrderedDict()
        self._last_key: dict[int, tuple] = {}  # photo id -> key of the cell last drawn for it
        self._frame_start = 0.0
        self._rendered = 0
        self._more = QTimer(self)  # repaint again for the cells left for the next frame
        self._more.setSingleShot(True)
        self._more.setInterval(int(self.FRAME_S * 1000))
        if isinstance(parent, QAbstractItemView):
            self._more.timeout.connect(parent.viewport().update)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        edge = self.cache.edge
        return QSize(edge + 2 * PAD, edge + 2 * PAD + STRIP + (NAME_LINE if self.show_names else 0))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        # Called for every visible cell on every repaint: as few calls into Qt as possible.
        model = index.model()
        p = model.photo(index.row()) if isinstance(model, PhotoGridModel) else index.data(PhotoRole)
        if p is None:
            return
        stack = model.stack(p.id) if isinstance(model, PhotoGridModel) else Stack()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        thumb = self.cache.get(p)
        failure = thumb is None and bool(p.error or self.cache.failure(p))
        rect = option.rect
        width, height = rect.width(), rect.height()
        # no photo id in the key: cells still waiting for their thumbnail look alike and share one pixmap
        # p.error too: a photo whose thumbnail failed first and whose scan error came later must get its "!"
        key = (None if thumb is None else thumb.cacheKey(), failure, p.error, p.score, p.decision, p.rating,
               len(p.faces), selected, width, height, p.crop, p.best_crop_score, p.crop_score,
               p.path if self.show_names else None, stack)
        cell = self._cells.get(key)
        if cell is None:
            previous = self._cells.get(self._last_key.get(p.id, ()))
            if previous is not None and thumb is not None and self._last_key[p.id][0] is None \
                    and not self._may_render():
                painter.drawPixmap(rect.topLeft(), previous)  # its placeholder, one frame longer
                self._more.start()
                return
            ratio = option.widget.devicePixelRatioF() if option.widget is not None else 1.0
            cell = self._render(p, thumb, failure, selected, QSize(width, height), ratio, option.palette, stack)
            self._cells[key] = cell
            while len(self._cells) > 800:
                self._cells.popitem(last=False)
        self._last_key[p.id] = key
        painter.drawPixmap(rect.topLeft(), cell)

    def forget_cells(self) -> None:
        self._cells.clear()
        self._last_key.clear()

    def _may_render(self) -> bool:
        now = time.perf_counter()
        if now - self._frame_start > self.FRAME_S:
            self._frame_start, self._rendered = now, 0
        self._rendered += 1
        return self._rendered <= self.RENDER_BUDGET

    def _render(self, p: Photo, pixmap: QPixmap | None, failure: bool, selected: bool, size: QSize,
                ratio: float, palette, stack: Stack | None = None) -> QPixmap:
        stack = stack or Stack()
        cell_pixmap = QPixmap(size * ratio)
        cell_pixmap.setDevicePixelRatio(ratio)
        cell_pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(cell_pixmap)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            cell = QRect(2, 2, size.width() - 4, size.height() - 4)
            if selected:
                painter.setPen(QPen(palette.highlight().color(), 2))
                fill = QColor(palette.highlight().color())
                fill.setAlpha(70)
                painter.setBrush(fill)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(palette.alternateBase())
            painter.drawRoundedRect(QRectF(cell), 6, 6)

            edge = self.cache.edge
            frame = QRect(cell.left() + PAD - 2, cell.top() + PAD - 2, edge, edge)
            if pixmap is not None:
                fitted = pixmap.size().scaled(frame.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(0, 0, fitted.width(), fitted.height())
                target.moveCenter(frame.center())
                if stack.collapsed:  # the frames folded under it, as the edges of a stack of prints
                    painter.setPen(QPen(palette.placeholderText().color(), 1.2))
                    painter.setBrush(palette.alternateBase())
                    for step in (4, 2):
                        painter.drawRect(QRectF(target).translated(step, -step).adjusted(0, 0, 0, 0))
                if p.decision == Decision.REJECT:
                    painter.setOpacity(0.35)
                painter.drawPixmap(target, pixmap)
                painter.setOpacity(1.0)
                if p.crop is not None:
                    draw_crop(painter, p, QRectF(target))
                self._draw_badges(painter, stack.badges, QRectF(target))
            elif failure:
                painter.setPen(palette.placeholderText().color())
                painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, "Cannot read")

            self._draw_flag(painter, p, frame, failure)
            if stack.count > 1:
                self._draw_stack(painter, stack, frame)
            strip = QRect(cell.left() + PAD, frame.bottom() + 4, cell.width() - 2 * PAD, STRIP - 4)
            self._draw_strip(painter, p, strip, palette.text().color(), failure)
            if self.show_names:
                name_rect = QRect(strip.left(), strip.bottom() + 2, strip.width(), NAME_LINE - 2)
                painter.setFont(QFont(painter.font()))
                painter.setPen(palette.placeholderText().color())
                name = painter.fontMetrics().elidedText(p.path.rsplit("/", 1)[-1], Qt.TextElideMode.ElideMiddle,
                                                        name_rect.width())
                painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        finally:
            painter.end()
        return cell_pixmap

    @staticmethod
    def _draw_stack(painter: QPainter, stack: Stack, frame: QRect) -> None:
        """The group's count (collapsed: G or a click here expands it) or where the frame stands in it."""
        text = f"▣ {stack.count}" if stack.collapsed else f"{stack.position}/{stack.count}"
        if stack.best and not stack.collapsed:
            text = "★ " + text
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        w = QFontMetricsF(font).horizontalAdvance(text) + 12
        badge = QRectF(frame.right() - 3 - w, frame.top() + 4, w, 20)
        painter.setPen(QPen(BEST if stack.best else QColor(255, 255, 255, 160), 1.4))
        painter.setBrush(STACK_FILL)
        painter.drawRoundedRect(badge, 6, 6)
        painter.setPen(BEST if stack.best else QColor(255, 255, 255))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)

    @staticmethod
    def _draw_badges(painter: QPainter, badges: frozenset[str], target: QRectF) -> None:
        """"closed eyes" and "soft focus" over the thumbnail's lower left, shortened (then left out) to fit."""
        if not badges:
            return
        font = QFont(painter.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        painter.setFont(font)
        fm = QFontMetricsF(font)
        x, bottom = target.left() + 4, target.bottom() - 4
        for badge in BADGES_ORDER:
            if badge not in badges:
                continue
            for text in BADGE_WORDS[badge]:
                w = fm.horizontalAdvance(text) + 10
                if x + w <= target.right() - 4:
                    rect = QRectF(x, bottom - 17, w, 17)
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(WARN)
                    painter.drawRoundedRect(rect, 5, 5)
                    painter.setPen(QColor(255, 255, 255))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
                    x += w + 4
                    break

    @staticmethod
    def _draw_flag(painter: QPainter, p: Photo, frame: QRect, broken: bool = False) -> None:
        if p.decision is None and not p.error and not broken:
            return
        badge = QRectF(frame.left() + 4, frame.top() + 4, 22, 22)
        color = (PICK if p.decision == Decision.KEEP else REJECT if p.decision == Decision.REJECT
                 else QColor(120, 120, 120))
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.setBrush(color)
        painter.drawEllipse(badge)
        pen = QPen(QColor(255, 255, 255), 2.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        c = badge.center()
        path = QPainterPath()
        if p.decision == Decision.KEEP:  # a check mark
            path.moveTo(c.x() - 5, c.y())
            path.lineTo(c.x() - 1.5, c.y() + 4)
            path.lineTo(c.x() + 5.5, c.y() - 4.5)
        elif p.decision == Decision.REJECT:  # a cross
            path.moveTo(c.x() - 4.5, c.y() - 4.5)
            path.lineTo(c.x() + 4.5, c.y() + 4.5)
            path.moveTo(c.x() + 4.5, c.y() - 4.5)
            path.lineTo(c.x() - 4.5, c.y() + 4.5)
        else:  # unreadable: an exclamation mark
            path.moveTo(c.x(), c.y() - 6)
            path.lineTo(c.x(), c.y() + 1.5)
            path.moveTo(c.x(), c.y() + 5)
            path.lineTo(c.x(), c.y() + 5.2)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)

    @staticmethod
    def _draw_strip(painter: QPainter, p: Photo, strip: QRect, text_color: QColor, broken: bool = False) -> None:
        base = QFont(painter.font())
        bold, stars = QFont(base), QFont(base)
        bold.setBold(True)
        stars.setPointSizeF(base.pointSizeF() * STAR_SCALE)
        for item in layout_strip(p, QRectF(strip), QFontMetricsF(base), QFontMetricsF(bold), QFontMetricsF(stars),
                                 broken):
            if item.kind == "score":
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(score_color(p.score or 0.0))
                painter.drawRoundedRect(item.rect, 4, 4)
                painter.setFont(bold)
                painter.setPen(QColor(20, 20, 20))
                painter.drawText(item.rect, Qt.AlignmentFlag.AlignCenter, item.text)
            elif item.kind == "crop":  # solid: the crop the user accepted; dashed: the search's best proposal
                value = p.crop_score if p.crop is not None else p.best_crop_score
                style = Qt.PenStyle.SolidLine if p.crop is not None else Qt.PenStyle.DashLine
                painter.setPen(QPen(score_color(value) if value is not None else text_color, 1.5, style))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(item.rect.adjusted(0.75, 0.75, -0.75, -0.75), 4, 4)
                painter.setFont(base)
                painter.setPen(text_color)
                painter.drawText(item.rect, Qt.AlignmentFlag.AlignCenter, item.text)
            elif item.kind == "stars":
                painter.setFont(stars)
                painter.setPen(STAR)
                painter.drawText(item.rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, item.text)
            else:  # status (… / unreadable) and faces
                painter.setFont(base)
                painter.setPen(text_color)
                painter.drawText(item.rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, item.text)
        painter.setFont(base)


@dataclass(frozen=True)
class StripItem:
    kind: str  # score | status | stars | crop | faces
    text: str
    rect: QRectF


def crop_pill_text(p: Photo) -> str | None:
    """The ✂ pill: the accepted crop's score (just ✂ while unknown); else the best proposal's, unless it says
    nothing the score does not (the best crop is the whole photo: "0.86 ✂0.86")."""
    if p.crop is not None:
        return "✂" if p.crop_score is None else f"✂{p.crop_score:.2f}"
    if p.best_crop_score is None or (p.score is not None and f"{p.best_crop_score:.2f}" == f"{p.score:.2f}"):
        return None
    return f"✂{p.best_crop_score:.2f}"


def layout_strip(p: Photo, strip: QRectF, fm: QFontMetricsF, fm_bold: QFontMetricsF, fm_stars: QFontMetricsF,
                 broken: bool = False) -> list[StripItem]:
    """Where each field of the strip goes, most important first; what does not fit whole is abbreviated, and
    what does not fit abbreviated is left out: fields never overlap, whatever the width."""
    top, height = strip.top() + 1, strip.height() - 2
    left, right = strip.left(), strip.right()
    items: list[StripItem] = []

    def place(kind: str, texts: list[str], metrics: QFontMetricsF, pad: float, at_right: bool = False) -> None:
        nonlocal left, right
        for text in texts:
            w = metrics.horizontalAdvance(text) + pad
            if left + w <= right + 0.01:
                x = right - w if at_right else left
                items.append(StripItem(kind, text, QRectF(x, top, w, height)))
                if at_right:
                    right -= w + GAP
                else:
                    left += w + GAP
                return

    if p.score is not None:
        place("score", [f"{p.score:.2f}"], fm_bold, 10)
    elif p.error or broken:
        place("status", ["unreadable", "!"], fm, 0)
    else:
        place("status", ["…"], fm, 0)
    if p.rating:
        place("stars", ["★" * p.rating, f"{p.rating}★"], fm_stars, 0, at_right=True)
    crop = crop_pill_text(p)
    if crop is not None:
        place("crop", [crop, "✂"] if crop != "✂" else [crop], fm, 10)
    if p.faces and not p.rating:
        n = len(p.faces)
        place("faces", [f"{n} face{'s' if n > 1 else ''}"], fm, 0, at_right=True)
    return items


def crop_rect(p: Photo, target: QRectF) -> QRectF | None:
    """Where the photo's accepted crop lies on a thumbnail drawn at `target` (None: no crop, or no size)."""
    if p.crop is None or not p.width or not p.height:
        return None
    x0, y0, x1, y1 = p.crop
    sx, sy = target.width() / p.width, target.height() / p.height
    return QRectF(target.left() + x0 * sx, target.top() + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)


def draw_crop(painter: QPainter, p: Photo, target: QRectF) -> None:
    """An accepted crop on a thumbnail: what it cuts away dimmed, a thin frame around what it keeps."""
    box = crop_rect(p, target)
    if box is None:
        return
    outside = QPainterPath()
    outside.addRect(target)
    inside = QPainterPath()
    inside.addRect(box)
    painter.fillPath(outside.subtracted(inside), CROP_DIM)
    painter.setPen(QPen(CROP_FRAME, 1.2))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(box)


class PhotoGrid(QListView):
    """The grid of thumbnails. Enter/Space are left to the window's actions (loupe)."""

    opened = Signal(int)  # photo id (double-click)
    stack_clicked = Signal(int)  # photo id whose group's count badge was clicked
    zoom_requested = Signal(int)  # +1 larger thumbnails, -1 smaller (Ctrl+wheel)

    def __init__(self, cache: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragEnabled(False)
        self.setAcceptDrops(False)  # a dropped folder goes to the window
        self.delegate = PhotoDelegate(cache, self)
        self.setItemDelegate(self.delegate)
        self.doubleClicked.connect(self._double_clicked)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        """What a selection change repaints. Qt works out every selected cell's rectangle (a Python rowCount call
        each, several times): with thousands selected, Ctrl+A or a re-sort that keeps them took 0.4 s for it;
        repainting the cells in view is as right and costs nothing (issue 31)."""
        if sum(r.height() for r in selection) > 512:
            return QRegion(self.viewport().rect())
        return super().visualRegionForSelection(selection)

    def mousePressEvent(self, event) -> None:
        index = self.indexAt(event.position().toPoint())
        model = self.model()
        if index.isValid() and isinstance(model, PhotoGridModel) \
                and event.button() == Qt.MouseButton.LeftButton:
            p = model.photo(index.row())
            if model.stack(p.id).count > 1 and stack_hit_rect(self.visualRect(index), self.delegate.cache.edge) \
                    .contains(event.position().toPoint()):
                self.stack_clicked.emit(p.id)
                event.accept()
                return
        super().mousePressEvent(event)

    def _double_clicked(self, index: QModelIndex) -> None:
        p = index.data(PhotoRole)
        if p is not None:
            self.opened.emit(p.id)

    def set_show_names(self, show: bool) -> None:
        self.delegate.show_names = show
        self.relayout()

    def relayout(self) -> None:
        """The thumbnail size, the theme or the names shown changed."""
        self.delegate.forget_cells()
        self._fill_width()
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    def _fill_width(self) -> None:
        """Share the viewport's width out between the columns (the leftover went unused at the right)."""
        hint = self.delegate.sizeHint(QStyleOptionViewItem(), QModelIndex())
        spacing = self.spacing()
        # what QListView keeps free at a row's end before it wraps (measured: about a scroll bar's width)
        reserve = 2 * spacing + self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = self.viewport().width() - reserve
        columns = max(1, width // (hint.width() + spacing))
        self.setGridSize(QSize(max(hint.width() + spacing, width // columns), hint.height() + spacing))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fill_width()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y()
            if steps:
                self.zoom_requested.emit(1 if steps > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)
