"""Proposing crops in the background: the crop search (`selfie_desk.neural.crop_search.CropSearch`) on the
crop service's thread (`service.Service`), one photo at a time.

The UI hands in an immutable request (the photos, the aspect preset) and listens to the job's handle; the crop
thread makes its own Scorer on first use (torch's libraries are preloaded, `native_preload`) and keeps its own
Catalog connection, stores every proposal as it is found (a stored one is reused, not searched again), and
reports each photo's proposal, progress and the end of the job. A request for the photo in the loupe is urgent:
a batch in progress serves it between two of its photos, so the user never waits for a folder. Cancelling
stops before the next photo; the photo in flight (well under a second) finishes and is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from selfie_desk.core.storage.catalog import CropProposal, Photo
from selfie_desk.workers import native_preload
from selfie_desk.workers.scoring import (
    ScorerFactory,
    default_scorer_factory,
    describe_device_error,
    scorer_with_cpu_fallback,
)
from selfie_desk.workers.service import Job, Service

log = logging.getLogger(__name__)

DEFAULT_TOP = 3  # alternatives asked for, besides the best


@dataclass(frozen=True)
class CropTarget:
    photo_id: int
    path: str
    width: int | None = None  # upright full resolution, when the catalog knows it
    height: int | None = None
    pair: str | None = None  # a raw's JPEG (RAW+JPEG): read when the raw cannot be

    @classmethod
    def of(cls, p: Photo) -> CropTarget:
        return cls(p.id, p.path, p.width, p.height, p.pair)


@dataclass(frozen=True)
class CropRequest:
    targets: tuple[CropTarget, ...]
    aspect: str
    model: str
    device: str  # auto | cuda | cpu
    top: int = DEFAULT_TOP
    interactive: bool = False  # the photo in the loupe: served before a batch's next photo
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # score these boxes of targets[0], not search
    attention: bool = False  # what the convnet looked at in targets[0] (the loupe's H), not a search


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


class CropJob(Job):
    """One crop job. `progress` carries a CropProgress; `finished` a CropOutcome."""

    device_ready = Signal(str)  # device label
    found = Signal(object)  # CropFound
    scored = Signal(object)  # BoxScores
    looked = Signal(object)  # Attention
    failed = Signal(object)  # CropFailed


class CropService(Service):
    """Background crop proposals, box scores and attention maps; the loupe's jobs go first."""

    thread_name = "cropping"
    job_class = CropJob

    def __init__(self, catalog_path: Path, scorer_factory: ScorerFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(catalog_path, parent)
        self._factory = scorer_factory or default_scorer_factory
        self._search: Any = None  # these three: the crop thread's only
        self._search_key: tuple[str, str] | None = None
        self._prepared: tuple[str, Any, float | None] | None = None  # the last photo decoded for boxes and attention

    # ---- the UI thread -----------------------------------------------------------------------------
    def batch_running(self) -> bool:
        return any(not j.request.interactive for j in self.jobs())

    def propose(self, photos: Sequence[Photo | CropTarget], aspect: str, model: str, device: str,
                interactive: bool = False, top: int = DEFAULT_TOP) -> CropJob:
        """Propose crops for `photos` in the background. Returns the job's handle.

        An interactive request (the loupe's photo) cancels the previous interactive one and goes ahead of
        any batch; a batch request cancels the batch in progress."""
        for j in self.jobs():
            if j.request.interactive == interactive and not j.request.boxes:
                j.cancel()
        targets = tuple(t if isinstance(t, CropTarget) else CropTarget.of(t) for t in photos)
        return self.submit(CropRequest(targets, aspect, model, device, top, interactive), urgent=interactive)

    def score_boxes(self, photo: Photo | CropTarget, boxes: Sequence[tuple[float, float, float, float]], model: str,
                    device: str) -> CropJob:
        """Score boxes of one photo (a crop adjusted by hand) ahead of any batch; cancels the previous such job."""
        return self._one_photo_job(photo, model, device, boxes=tuple(tuple(float(v) for v in b) for b in boxes))

    def attention(self, photo: Photo | CropTarget, model: str, device: str) -> CropJob:
        """Where the convnet looked in one photo (the loupe's H), ahead of any batch; cancels the previous one."""
        return self._one_photo_job(photo, model, device, attention=True)

    def _one_photo_job(self, photo: Photo | CropTarget, model: str, device: str, **kind: Any) -> CropJob:
        """An interactive job on one photo (`boxes=` or `attention=`), replacing the previous job of its kind."""
        same_kind = (lambda r: bool(r.boxes)) if "boxes" in kind else (lambda r: r.attention)
        for j in self.jobs():
            if same_kind(j.request):
                j.cancel()
        target = photo if isinstance(photo, CropTarget) else CropTarget.of(photo)
        return self.submit(CropRequest((target,), "free", model, device, 0, True, **kind), urgent=True)

    # ---- the crop thread ---------------------------------------------------------------------------
    def error_outcome(self, job: CropJob, message: str) -> CropOutcome:
        return CropOutcome(error=f"Crop proposals stopped: {message}")

    def release(self) -> None:
        self._search = self._search_key = self._prepared = None

    def handle(self, job: CropJob) -> CropOutcome:
        req: CropRequest = job.request
        start = time.monotonic()
        if job.cancelled:
            return CropOutcome(cancelled=True)
        if req.boxes:
            return self._score_boxes(job, start)
        if req.attention:
            return self._attention(job, start)
        from selfie_desk.core.crop.geometry import SEARCH_VERSION as search_version

        catalog = self.catalog.get()
        total = len(req.targets)
        proposed = reused = failed = 0
        searched_s = 0.0
        for n, target in enumerate(req.targets):
            if job.cancelled:
                return CropOutcome(proposed, reused, failed, cancelled=True, elapsed=time.monotonic() - start)
            if not req.interactive:
                self.serve_urgent()
            stored = catalog.crop_proposal(target.photo_id, req.model, req.aspect, search=search_version)
            if stored is not None and target.width and target.height:
                reused += 1
                job.post("found", CropFound(target.photo_id, target.path, target.width, target.height, stored,
                                            reused=True))
            else:
                search = self._get_search(job)
                if isinstance(search, CropOutcome):
                    return search
                t = time.monotonic()
                try:
                    result = search.search_path(Path(target.path), req.aspect, req.top, target.pair)
                except Exception as exc:
                    failed += 1
                    job.post("failed", CropFailed(target.photo_id, target.path, _message(exc)))
                else:
                    proposal = result.proposal()
                    catalog.save_crop_proposal(target.photo_id, req.model, proposal)
                    proposed += 1
                    job.post("found", CropFound(target.photo_id, target.path, result.width, result.height, proposal,
                                                reused=False))
                searched_s += time.monotonic() - t
            done = n + 1
            rate = proposed / searched_s if searched_s > 0 else 0.0
            left = total - done
            job.post("progress", CropProgress(done, total, rate, left / rate if rate > 0 else None))
        return CropOutcome(proposed, reused, failed, elapsed=time.monotonic() - start)

    def _score_boxes(self, job: CropJob, start: float) -> CropOutcome:
        import numpy as np

        req: CropRequest = job.request

        def work(search: Any, photo: Any) -> None:
            scores = search.crop_scores(photo.image, np.array(req.boxes, np.float64), photo.width, photo.height,
                                        quality=self._quality(search, photo))
            job.post("scored", BoxScores(req.targets[0].photo_id, req.boxes, tuple(float(v) for v in scores)))

        return self._on_one_photo(job, start, work)

    def _attention(self, job: CropJob, start: float) -> CropOutcome:
        def work(search: Any, photo: Any) -> None:
            job.post("looked", Attention(job.request.targets[0].photo_id, search.scorer.attention(photo.image)))

        return self._on_one_photo(job, start, work)

    def _on_one_photo(self, job: CropJob, start: float, work: Callable[[Any, Any], None]) -> CropOutcome:
        """An interactive job on targets[0]: the photo as the crop search sees it (kept for the next request on
        the same photo: dragging a handle scores box after box), `work` on it, a failure told per photo."""
        search = self._get_search(job)
        if isinstance(search, CropOutcome):
            return search
        target = job.request.targets[0]
        try:
            if self._prepared is None or self._prepared[0] != target.path:
                self._prepared = (target.path, search.prepare(Path(target.path), pair=target.pair), None)
            work(search, self._prepared[1])
        except Exception as exc:
            job.post("failed", CropFailed(target.photo_id, target.path, _message(exc)))
            return CropOutcome(failed=1, elapsed=time.monotonic() - start)
        return CropOutcome(elapsed=time.monotonic() - start)

    def _quality(self, search: Any, photo: Any) -> float:
        """The kept photo's quality logit (what every box of it shares): one pyramid pass, only when boxes
        are scored (H's map does not need it)."""
        assert self._prepared is not None
        path, kept, quality = self._prepared
        if quality is None:
            quality = search.features(photo.image, photo.looks).quality
            self._prepared = (path, kept, quality)
        return quality

    def _get_search(self, job: CropJob) -> Any:
        req: CropRequest = job.request
        key = (req.model, req.device)
        if self._search is not None and self._search_key == key:
            return self._search
        self._search = self._search_key = None  # release the old model first
        with native_preload.loading_torch():  # no GIL held in the linker, no collection while torch loads
            from selfie_desk.neural.crop_search import CropSearch  # torch's Python half, on this thread

            try:
                scorer = scorer_with_cpu_fallback(
                    self._factory, req.model, req.device,
                    lambda exc: log.info("no usable GPU (%s): cropping on the CPU", describe_device_error(exc)),
                )
            except Exception as exc:
                return CropOutcome(error=f"Cannot propose crops: {exc}")
        self._search, self._search_key = CropSearch(scorer), key
        job.post("device_ready", scorer.label)
        return self._search


def _message(exc: Exception) -> str:
    from selfie_desk.core.formats.decoding import PhotoError

    if isinstance(exc, PhotoError):
        return str(exc)
    log.warning("crop search failed", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"
