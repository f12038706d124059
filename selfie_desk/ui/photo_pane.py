"""One photo large, with a caption: the loupe shows one pane, compare two to four.

The pane shows the grid's thumbnail at once, then a screen-sized preview decoded off the UI thread, and
the full-resolution photo when the zoom asks for more pixels than the preview has.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout

from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.canvas import ImageCanvas
from selfie_desk.ui.grid import ThumbnailCache
from selfie_desk.workers.images import ImageLoader, ImageRequest

PREVIEW_EDGE = 1600


class PhotoPane(QFrame):
    activated = Signal()  # the user clicked into this pane

    def __init__(self, loader: ImageLoader, thumbs: ThumbnailCache | None = None, preview_edge: int = PREVIEW_EDGE,
                 parent=None) -> None:
        super().__init__(parent)
        self.loader, self.thumbs, self.preview_edge = loader, thumbs, preview_edge
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.canvas = ImageCanvas(self)
        self.caption = QLabel(self)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)  # a long caption wraps rather than widening the window
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setContentsMargins(6, 4, 6, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.caption)
        self.photo: Photo | None = None
        self._wanted: set[str] = set()
        self.shown_edge = 0
        self._recent: OrderedDict[str, QImage] = OrderedDict()  # a few previews, for flicking back and forth
        loader.loaded.connect(self._loaded)
        loader.failed.connect(self._failed)
        self.canvas.needs_pixels.connect(self._need_pixels)
        self.canvas.clicked.connect(self.activated)
        self.set_active(False)

    def reserve_caption_lines(self, lines: int) -> None:
        """A caption of constant height: flagging or rating the photo never moves it (longer text is cut)."""
        self.caption.ensurePolished()
        m = self.caption.contentsMargins()
        line = self.caption.fontMetrics().lineSpacing() + 1  # bold runs in rich text set a little taller
        self.caption.setFixedHeight(lines * line + m.top() + m.bottom() + 2)

    def set_active(self, active: bool) -> None:
        color = self.palette().highlight().color().name() if active else "transparent"
        self.setStyleSheet(f"PhotoPane {{ border: 2px solid {color}; }}")

    def show_photo(self, photo: Photo) -> None:
        same = self.photo is not None and self.photo.id == photo.id and self.photo.path == photo.path
        self.photo = photo
        if same:
            return
        self._wanted.clear()
        self.shown_edge = 0
        self.canvas.set_photo(photo.width, photo.height, photo.faces)
        if photo.error:
            self.canvas.set_message(f"Cannot show {photo.path}:\n{photo.error}")
            return
        cached = self._recent.get(self._key(photo, self.preview_edge))
        if cached is not None:
            self._show(cached, self.preview_edge)
            return
        if self.thumbs is not None:
            pixmap = self.thumbs.get(photo)
            if pixmap is not None:
                self.canvas.set_image(pixmap.toImage())
        self._request(self.preview_edge)

    def update_photo(self, photo: Photo) -> None:
        """Same photo, new facts (a flag, a score, faces)."""
        if self.photo is not None and photo.id == self.photo.id:
            self.photo = photo
            self.canvas.set_faces(photo.faces)

    def prefetch(self, photo: Photo) -> None:
        if not photo.error and self._key(photo, self.preview_edge) not in self._recent:
            self.loader.request(self._image_request(photo, self.preview_edge))

    @staticmethod
    def _key(photo: Photo, edge: int) -> str:
        return f"{photo.path}@{edge}"

    def _image_request(self, photo: Photo, edge: int, full: bool = False) -> ImageRequest:
        """`full`: the zoom wants the real pixels (a raw is then demosaiced, where its preview is smaller)."""
        return ImageRequest(self._key(photo, edge), photo.path, photo.fingerprint, edge, thumbnail=False,
                            full_resolution=full, pair=photo.pair)

    def _request(self, edge: int, full: bool = False) -> None:
        assert self.photo is not None
        req = self._image_request(self.photo, edge, full)
        self._wanted.add(req.key)
        self.loader.request(req)

    @Slot(int)
    def _need_pixels(self, edge: int) -> None:
        if self.photo is None or self.photo.error:
            return
        full = max(self.photo.width or 0, self.photo.height or 0)
        # more than the preview: go straight to full resolution, so panning at 100 % never blurs
        target = full if full else edge
        if target > self.shown_edge and self._key(self.photo, target) not in self._wanted:
            self._request(target, full=bool(full))

    @Slot(str, QImage)
    def _loaded(self, key: str, image: QImage) -> None:
        edge = int(key.rsplit("@", 1)[1]) if "@" in key else 0
        if edge == self.preview_edge:
            self._recent[key] = image
            self._recent.move_to_end(key)
            while len(self._recent) > 4:
                self._recent.popitem(last=False)
        if key in self._wanted:
            self._wanted.discard(key)
            if edge > self.shown_edge:
                self._show(image, edge)

    def _show(self, image: QImage, edge: int) -> None:
        self.shown_edge = edge
        self.canvas.set_image(image)

    @Slot(str, str)
    def _failed(self, key: str, message: str) -> None:
        if key in self._wanted:
            self._wanted.discard(key)
            if self.shown_edge == 0:
                self.canvas.set_message(f"Cannot show this photo:\n{message}")
