"""Loading images off the UI thread: grid thumbnails (from the cache, or decoded and cached) and the
loupe's larger previews.

Requests are served newest first, so when the user scrolls fast the thumbnails now on screen come before
the ones scrolled past; old requests beyond a bound are dropped (they are asked again if still needed).
Results come back to the UI thread by a queued signal as QImages (QPixmaps may only be made there).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage

from selfie_desk.core.formats import decoding
from selfie_desk.core.storage import thumbnails
from selfie_desk.workers.priority import lower_thread_priority

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageRequest:
    key: str  # the caller's name for the result
    path: str
    fingerprint: str  # '' when unknown: the thumbnail cache is then skipped
    edge: int  # long edge wanted, pixels (the image is never enlarged)
    thumbnail: bool = True  # True: through the thumbnail cache (edge <= THUMBNAIL_EDGE)
    full_resolution: bool = False  # the real pixels (the loupe at 100 %): a raw demosaiced, not its preview
    pair: str | None = None  # a raw's JPEG (RAW+JPEG): shown when the raw itself cannot be read


def to_qimage(im: Image.Image) -> QImage:
    im = im.convert("RGB")
    data = im.tobytes()
    # QImage does not own `data`: copy() makes it self-contained before `data` goes away
    return QImage(data, im.width, im.height, im.width * 3, QImage.Format.Format_RGB888).copy()


def load_image(req: ImageRequest, thumbnail_root: Path | None = None) -> Image.Image:
    """The image for a request (raises decoding.PhotoError for an unreadable photo)."""
    im = None
    if req.thumbnail and req.fingerprint:
        im = thumbnails.load(req.fingerprint, thumbnail_root)
    if im is None:
        decoded = decoding.decode(Path(req.path), thumbnails.THUMBNAIL_EDGE if req.thumbnail else req.edge,
                                  full_resolution=req.full_resolution, pair=req.pair)
        im = decoded.image
        if req.thumbnail and req.fingerprint:
            try:
                thumbnails.save(req.fingerprint, im, thumbnail_root)
            except OSError:
                pass  # a full or read-only cache only costs a decode next time
    if max(im.size) > req.edge:
        if req.thumbnail:
            im = im.copy()
            im.thumbnail((req.edge, req.edge), Image.Resampling.LANCZOS, reducing_gap=2.0)
        elif max(im.size) >= 2 * req.edge:
            im = im.reduce(max(im.size) // req.edge)
        # else the loupe's image is left up to 2x its edge (what the DCT-scaled decode gave): the canvas paints it
        # scaled and smoothed anyway, and a Lanczos pass there cost more than the decode itself (135 vs 100 ms
        # for a 12 MP JPEG or raw preview to 1600 px on the loaded 2-core VM), the loupe's < 150 ms goal gone
    return im


class ImageLoader(QObject):
    """A small pool of threads loading images for the UI. Use from the UI thread only."""

    loaded = Signal(str, QImage)  # key, image
    failed = Signal(str, str)  # key, message for the user
    # (request, QImage | None, error | None) from a pool thread, as one tuple: PySide6 6.12 miscounts
    # references to a bare None passed through a queued signal (a fatal none_dealloc, seen here)
    _done = Signal(object)

    def __init__(self, threads: int = 2, max_pending: int = 300, name: str = "images",
                 thumbnail_root: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads, self._name, self._max_pending = threads, name, max_pending
        self._thumbnail_root = thumbnail_root
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: deque[ImageRequest] = deque()
        self._wanted: dict[str, ImageRequest] = {}  # by key: queued or being loaded
        self._stopped = False
        self._done.connect(self._finish, Qt.ConnectionType.QueuedConnection)

    def is_wanted(self, key: str) -> bool:
        """A request for `key` is queued or loading (cheap enough to ask on every paint)."""
        return key in self._wanted

    def request(self, req: ImageRequest) -> None:
        if self._stopped or req.key in self._wanted:
            return
        if self._pool is None:
            # a notch below the window's thread, above the scoring pass (nice 10): thumbnails first
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix=self._name,
                                            initializer=lower_thread_priority, initargs=(5,))
        with self._lock:
            self._pending.append(req)
            while len(self._pending) > self._max_pending:
                self._wanted.pop(self._pending.popleft().key, None)
        self._wanted[req.key] = req
        self._pool.submit(self._load_newest)

    def forget_pending(self) -> None:
        """Drop requests not started yet (another folder was opened)."""
        with self._lock:
            for req in self._pending:
                self._wanted.pop(req.key, None)
            self._pending.clear()

    def _load_newest(self) -> None:
        with self._lock:
            if not self._pending:
                return  # dropped, or served by another task
            req = self._pending.pop()
        image, error = None, None
        try:
            image = to_qimage(load_image(req, self._thumbnail_root))
        except decoding.PhotoError as exc:
            error = str(exc)
        except Exception as exc:  # never let one file kill a pool thread silently
            log.exception("cannot load %s", req.path)
            error = f"cannot read: {type(exc).__name__}: {exc}"
        if not self._stopped:
            self._done.emit((req, image, error))

    @Slot(object)
    def _finish(self, result: tuple[ImageRequest, QImage | None, str | None]) -> None:
        req, image, error = result
        if self._wanted.get(req.key) == req:
            del self._wanted[req.key]
        if self._stopped:
            return
        if image is not None:
            self.loaded.emit(req.key, image)
        else:
            self.failed.emit(req.key, error or "cannot read")

    def stop(self) -> None:
        """Drop what is queued and wait for the loads in progress (each a single decode)."""
        self._stopped = True
        self.forget_pending()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
