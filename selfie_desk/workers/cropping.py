"""Proposing crops in the background: the crop search (`selfie_desk.neural.crop_search.CropSearch`) on a thread of
its own, one photo at a time, reported by queued signals.

The UI hands in an immutable request (the photos, the aspect preset, a job id); the crop thread makes its
own Scorer on first use (so torch is imported there, never on the window's thread) and its own Catalog
connection, stores every proposal as it is found (a stored one is reused, not searched again), and reports
each photo's proposal, progress and the end of the job. A request for the photo in the loupe goes ahead of
a batch in progress: the batch serves it between two of its photos, so the user never waits for a folder.
Cancelling sets the job's event; the photo in flight (well under a second) finishes and is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from selfie_desk.core.catalog import CropProposal, Photo
from selfie_desk.workers import native_preload
from selfie_desk.workers.priority import lower_thread_priority
from selfie_desk.workers.scoring import ScorerFactory, default_scorer_factory, scorer_with_cpu_fallback
from selfie_desk.workers.thread_catalog import ThreadCatalog

log = logging.getLogger(__name__)

DEFAULT_TOP = 3  # alternatives asked for, besides the best


@dataclass(frozen=True)
class CropTarget:
    photo_id: int
    path: str
    width: int | None = None  # upright full resolution, when the catalog knows it
    height: int | None = None

    @classmethod
    def of(cls, p: Photo) -> CropTarget:
        return cls(p.id, p.path, p.width, p.height)


@dataclass(frozen=True)
class CropRequest:
    job_id: int
    targets: tuple[CropTarget, ...]
    aspect: str
    model: str
    device: str  # auto | cuda | cpu
    top: int = DEFAULT_TOP
    interactive: bool = False  # the photo in the loupe: served before a batch's next photo
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # score these boxes of targets[0], not search
    attention: bool = False  # what the convnet looked at in targets[0] (the loupe's H), not a search
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class CropFound:
    """One photo's proposal, stored in the catalog by the time the UI hears of it."""

    photo_id: int
    path: str
    width: int
    height: int
    proposal: CropProposal
    reused: bool  # it was in the catalog already


@dataclass(frozen=True)
class BoxScores:
    """The convnet's scores of boxes the user drew by hand, on the scale of the proposals' scores."""

    photo_id: int
    boxes: tuple[tuple[float, float, float, float], ...]
    scores: tuple[float, ...]


@dataclass(frozen=True)
class Attention:
    """Where the convnet looked in one photo: h x w cells over the whole frame, signed, largest magnitude 1
    (> 0 raised the score, < 0 lowered it)."""

    photo_id: int
    cells: Any  # numpy array


@dataclass(frozen=True)
class CropFailed:
    photo_id: int
    path: str
    message: str  # for the user: one line, no traceback


@dataclass(frozen=True)
class CropProgress:
    done: int
    total: int
    rate: float  # photos per second
    eta: float | None  # seconds left


@dataclass(frozen=True)
class CropOutcome:
    """How a job ended."""

    proposed: int = 0  # searched now
    reused: int = 0  # already in the catalog
    failed: int = 0
    cancelled: bool = False
    error: str | None = None  # the whole job failed (no model): one line for the user
    elapsed: float = 0.0


class _Queue:
    """Requests waiting for the crop thread; the loupe's (interactive) ones first. Shared by both threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._urgent: deque[CropRequest] = deque()
        self._batch: deque[CropRequest] = deque()

    def put(self, req: CropRequest) -> None:
        with self._lock:
            (self._urgent if req.interactive else self._batch).append(req)

    def next(self, urgent_only: bool = False) -> CropRequest | None:
        with self._lock:
            if self._urgent:
                return self._urgent.popleft()
            if self._batch and not urgent_only:
                return self._batch.popleft()
            return None

    def drain(self) -> list[CropRequest]:
        with self._lock:
            out = list(self._urgent) + list(self._batch)
            self._urgent.clear()
            self._batch.clear()
            return out


class _CropWorker(QObject):
    """Lives on the crop thread; its slots run there."""

    device_ready = Signal(int, str)  # job id, device label
    found = Signal(int, object)  # job id, CropFound
    scored = Signal(int, object)  # job id, BoxScores
    looked = Signal(int, object)  # job id, Attention
    failed = Signal(int, object)  # job id, CropFailed
    progress = Signal(int, object)  # job id, CropProgress
    finished = Signal(int, object)  # job id, CropOutcome

    def __init__(self, catalog_path: Path, scorer_factory: ScorerFactory, queue: _Queue) -> None:
        super().__init__()
        self._catalog = ThreadCatalog(catalog_path)
        self._factory = scorer_factory
        self._queue = queue
        self._search: Any = None
        self._search_key: tuple[str, str] | None = None
        self._niced = False
        self._prepared: tuple[str, Any, float | None] | None = None  # the last photo decoded for boxes and attention

    @Slot()
    def wake(self) -> None:
        """Serve every waiting request (one wake per request; later wakes may find the queue empty)."""
        if not self._niced:
            lower_thread_priority(10)
            self._niced = True
        while (req := self._queue.next()) is not None:
            self._run_job(req)

    def _run_job(self, req: CropRequest) -> None:
        try:
            outcome = self._run(req)
        except Exception as exc:  # a report for the user, never a dead thread
            log.exception("proposing crops failed")
            outcome = CropOutcome(error=f"Crop proposals stopped: {type(exc).__name__}: {exc}")
        self.finished.emit(req.job_id, outcome)

    def _run(self, req: CropRequest) -> CropOutcome:
        start = time.monotonic()
        if req.cancel.is_set():
            return CropOutcome(cancelled=True)
        if req.boxes:
            return self._score_boxes(req, start)
        if req.attention:
            return self._attention(req, start)
        with native_preload.loading_torch():  # no GIL held in the linker, no collection while torch loads
            from selfie_desk.core.crop_geometry import SEARCH_VERSION as search_version  # torch: on this thread only

        catalog = self._catalog.get()
        total = len(req.targets)
        proposed = reused = failed = 0
        searched_s = 0.0
        for n, target in enumerate(req.targets):
            if req.cancel.is_set():
                return CropOutcome(proposed, reused, failed, cancelled=True, elapsed=time.monotonic() - start)
            if not req.interactive:
                self._serve_urgent()
            stored = catalog.crop_proposal(target.photo_id, req.model, req.aspect, search=search_version)
            if stored is not None and target.width and target.height:
                reused += 1
                self.found.emit(req.job_id, CropFound(target.photo_id, target.path, target.width, target.height,
                                                      stored, reused=True))
            else:
                search = self._get_search(req)
                if isinstance(search, CropOutcome):
                    return search
                t = time.monotonic()
                try:
                    result = search.search_path(Path(target.path), req.aspect, req.top)
                except Exception as exc:
                    failed += 1
                    self.failed.emit(req.job_id, CropFailed(target.photo_id, target.path, _message(exc)))
                else:
                    proposal = result.proposal()
                    catalog.save_crop_proposal(target.photo_id, req.model, proposal)
                    proposed += 1
                    self.found.emit(req.job_id, CropFound(target.photo_id, target.path, result.width,
                                                          result.height, proposal, reused=False))
                searched_s += time.monotonic() - t
            done = n + 1
            rate = proposed / searched_s if searched_s > 0 else 0.0
            left = total - done
            self.progress.emit(req.job_id, CropProgress(done, total, rate, left / rate if rate > 0 else None))
        return CropOutcome(proposed, reused, failed, elapsed=time.monotonic() - start)

    def _score_boxes(self, req: CropRequest, start: float) -> CropOutcome:
        import numpy as np

        def work(search: Any, photo: Any) -> None:
            scores = search.crop_scores(photo.image, np.array(req.boxes, np.float64), photo.width, photo.height,
                                        quality=self._quality(search, photo))
            self.scored.emit(req.job_id, BoxScores(req.targets[0].photo_id, req.boxes,
                                                   tuple(float(v) for v in scores)))

        return self._on_one_photo(req, start, work)

    def _attention(self, req: CropRequest, start: float) -> CropOutcome:
        def work(search: Any, photo: Any) -> None:
            self.looked.emit(req.job_id, Attention(req.targets[0].photo_id, search.scorer.attention(photo.image)))

        return self._on_one_photo(req, start, work)

    def _on_one_photo(self, req: CropRequest, start: float, work: Callable[[Any, Any], None]) -> CropOutcome:
        """An interactive job on targets[0]: the photo as the crop search sees it (kept for the next request on
        the same photo: dragging a handle scores box after box), `work` on it, a failure told per photo."""
        search = self._get_search(req)
        if isinstance(search, CropOutcome):
            return search
        target = req.targets[0]
        try:
            if self._prepared is None or self._prepared[0] != target.path:
                self._prepared = (target.path, search.prepare(Path(target.path)), None)
            work(search, self._prepared[1])
        except Exception as exc:
            self.failed.emit(req.job_id, CropFailed(target.photo_id, target.path, _message(exc)))
            return CropOutcome(failed=1, elapsed=time.monotonic() - start)
        return CropOutcome(elapsed=time.monotonic() - start)

    def _quality(self, search: Any, photo: Any) -> float:
        """The kept photo's quality logit (what every box of it shares): one pyramid pass, only when boxes
        are scored (H's map does not need it)."""
        path, kept, quality = self._prepared
        if quality is None:
            quality = search.features(photo.image, photo.looks).quality
            self._prepared = (path, kept, quality)
        return quality

    def _serve_urgent(self) -> None:
        while (urgent := self._queue.next(urgent_only=True)) is not None:
            self._run_job(urgent)

    def _get_search(self, req: CropRequest) -> Any:
        key = (req.model, req.device)
        if self._search is not None and self._search_key == key:
            return self._search
        self._search = self._search_key = None  # release the old model first
        with native_preload.loading_torch():
            from selfie_desk.neural.crop_search import CropSearch  # imports torch: here, on the crop thread

            try:
                scorer = scorer_with_cpu_fallback(
                    self._factory, req.model, req.device,
                    lambda exc: log.info("no usable GPU (%s): cropping on the CPU", exc),
                )
            except Exception as exc:
                return CropOutcome(error=f"Cannot propose crops: {exc}")
        self._search, self._search_key = CropSearch(scorer), key
        self.device_ready.emit(req.job_id, scorer.label)
        return self._search

    @Slot()
    def shut_down(self) -> None:
        """Release the catalog and the model on their own thread, then end the thread."""
        self._catalog.close()
        self._search = self._search_key = self._prepared = None
        QThread.currentThread().quit()


def _message(exc: Exception) -> str:
    from selfie_desk.core.decoding import PhotoError

    if isinstance(exc, PhotoError):
        return str(exc)
    log.warning("crop search failed", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


class CropService(QObject):
    """The UI's handle on background crop proposals. Lives on the UI thread; re-emits the worker's reports."""

    device_ready = Signal(int, str)
    found = Signal(int, object)
    scored = Signal(int, object)
    looked = Signal(int, object)
    failed = Signal(int, object)
    progress = Signal(int, object)
    finished = Signal(int, object)
    _wake = Signal()
    _shut_down = Signal()

    def __init__(self, catalog_path: Path, scorer_factory: ScorerFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = _Queue()
        self._thread = QThread()
        self._thread.setObjectName("cropping")
        self._worker = _CropWorker(catalog_path, scorer_factory or default_scorer_factory, self._queue)
        self._worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._wake.connect(self._worker.wake, queued)
        self._shut_down.connect(self._worker.shut_down, queued)
        for name in ("device_ready", "found", "scored", "looked", "failed", "progress", "finished"):
            getattr(self._worker, name).connect(getattr(self, name), queued)
        self.finished.connect(self._job_finished)
        self._next_id = 0
        self._jobs: dict[int, CropRequest] = {}  # submitted and not finished
        self._stopped = False

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def batch_running(self) -> bool:
        return any(not r.interactive for r in self._jobs.values())

    def propose(self, photos: Sequence[Photo | CropTarget], aspect: str, model: str, device: str,
                interactive: bool = False, top: int = DEFAULT_TOP) -> int:
        """Propose crops for `photos` in the background. Returns the job's id.

        An interactive request (the loupe's photo) cancels the previous interactive one and goes ahead of
        any batch; a batch request cancels the batch in progress."""
        if self._stopped:
            raise RuntimeError("the crop service has been stopped")
        for r in self._jobs.values():
            if r.interactive == interactive and not r.boxes:
                r.cancel.set()
        if not self._thread.isRunning():
            self._thread.start()
        self._next_id += 1
        targets = tuple(t if isinstance(t, CropTarget) else CropTarget.of(t) for t in photos)
        req = CropRequest(self._next_id, targets, aspect, model, device, top, interactive)
        self._jobs[req.job_id] = req
        self._queue.put(req)
        self._wake.emit()
        return req.job_id

    def score_boxes(self, photo: Photo | CropTarget, boxes: Sequence[tuple[float, float, float, float]], model: str,
                    device: str) -> int:
        """Score boxes of one photo (a crop adjusted by hand) ahead of any batch; cancels the previous such job."""
        return self._one_photo_job(photo, model, device, boxes=tuple(tuple(float(v) for v in b) for b in boxes))

    def attention(self, photo: Photo | CropTarget, model: str, device: str) -> int:
        """Where the convnet looked in one photo (the loupe's H), ahead of any batch; cancels the previous one."""
        return self._one_photo_job(photo, model, device, attention=True)

    def _one_photo_job(self, photo: Photo | CropTarget, model: str, device: str, **kind: Any) -> int:
        """An interactive job on one photo (`boxes=` or `attention=`), replacing the previous job of its kind."""
        if self._stopped:
            raise RuntimeError("the crop service has been stopped")
        same_kind = (lambda r: bool(r.boxes)) if "boxes" in kind else (lambda r: r.attention)
        for r in self._jobs.values():
            if same_kind(r):
                r.cancel.set()
        if not self._thread.isRunning():
            self._thread.start()
        self._next_id += 1
        target = photo if isinstance(photo, CropTarget) else CropTarget.of(photo)
        req = CropRequest(self._next_id, (target,), "free", model, device, 0, True, **kind)
        self._jobs[req.job_id] = req
        self._queue.put(req)
        self._wake.emit()
        return req.job_id

    def cancel(self, job_id: int | None = None) -> None:
        """Stop a job (default: every batch job) before its next photo; what it proposed stays stored."""
        for r in self._jobs.values():
            if r.job_id == job_id or (job_id is None and not r.interactive):
                r.cancel.set()

    @Slot(int, object)
    def _job_finished(self, job_id: int, outcome: object) -> None:
        self._jobs.pop(job_id, None)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel everything, release the model and catalog on their thread, wait for it (True if it ended)."""
        self._stopped = True
        for r in self._queue.drain():
            r.cancel.set()
        for r in self._jobs.values():
            r.cancel.set()
        if not self._thread.isRunning():
            return True
        self._shut_down.emit()
        return self._thread.wait(int(timeout_s * 1000))
