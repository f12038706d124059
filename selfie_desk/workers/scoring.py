"""Scoring a folder in the background: `pipeline.score` on the scoring service's thread (`service.Service`).

The scoring thread owns the model (one Scorer, made there on first use and kept for the next folder) and its
own Catalog connection (SQLite connections belong to one thread). torch's native libraries are preloaded
without the GIL once the window is up (`native_preload`): what is left of its import runs here and never
freezes the window. The UI hands in an immutable request and listens to the job's handle; a new scan
cancels the one in progress. Cancelling stops the pipeline feeding work, and every finished batch is already
committed, so nothing scored is lost.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from selfie_desk.core.storage.catalog_access import CatalogError, explain, scan_lock
from selfie_desk.workers import native_preload
from selfie_desk.workers.service import Job, Service

log = logging.getLogger(__name__)

# (model name, device choice) -> a Scorer. Called on the scoring thread.
ScorerFactory = Callable[[str, str], Any]


# What a failure on the GPU says when the device itself is the problem (the driver, CUDA, its memory), as
# opposed to the model (missing, unknown, damaged), which the CPU cannot fix either.
_DEVICE_ERROR_TYPES = ("OutOfMemoryError", "AcceleratorError", "CudaError", "CUDAError")
_DEVICE_ERROR_WORDS = ("cuda", "gpu", "driver", "out of memory", "cudnn", "cublas", "nvml", "nvidia")


def is_device_error(exc: BaseException) -> bool:
    """Whether `exc`, raised making a Scorer on the GPU, is the device's fault (so the CPU may do)."""
    from selfie_desk.core.model_cards import UnknownModelError
    from selfie_desk.core.weights import ModelMissingError

    if isinstance(exc, (UnknownModelError, ModelMissingError, FileNotFoundError)):
        return False
    if any(t.__name__ in _DEVICE_ERROR_TYPES for t in type(exc).__mro__):
        return True
    if not isinstance(exc, (RuntimeError, AssertionError, OSError)):  # torch: "not compiled with CUDA"
        return False
    text = str(exc).lower()
    return any(word in text for word in _DEVICE_ERROR_WORDS)


def describe_device_error(exc: BaseException) -> str:
    """The device error by its name and first line (CUDA's messages go on for paragraphs)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def scorer_with_cpu_fallback(
    factory: ScorerFactory, model: str, device: str, on_fallback: Callable[[Exception], None]
) -> Any:
    """A Scorer from `factory`. When the GPU was asked for and the device fails (CUDA, its driver, its
    memory), tell `on_fallback` why and run on the CPU rather than not at all. Any other failure (a missing
    or unknown model) is raised as it is: the CPU would fail the same way."""
    try:
        return factory(model, device)
    except Exception as exc:
        if device != "cuda" or not is_device_error(exc):
            raise
        on_fallback(exc)
        return factory(model, "cpu")


def default_scorer_factory(model: str, device: str) -> Any:
    """The scorer `runtime.make_scorer` picks: ONNX Runtime on the CPU, torch on a GPU ($SELFIE_DESK_RUNTIME
    overrides); on the worker's thread (torch's libraries, when it is torch, preloaded)."""
    from selfie_desk.neural.runtime import make_scorer

    return make_scorer(model, device)


@dataclass(frozen=True)
class ScoringRequest:
    folder: Path  # canonical (absolute) path
    model: str
    device: str  # auto | cuda | cpu
    batch_size: int = 16


@dataclass(frozen=True)
class ScanOutcome:
    """How a job ended. `summary` is the pipeline's Summary when scoring ran at all."""

    summary: Any = None
    cancelled: bool = False
    error: str | None = None  # for the user: one line, no traceback


class ScanJob(Job):
    """One folder's scan. `progress` carries the pipeline's Progress; `finished` a ScanOutcome."""

    device_ready = Signal(str)  # device label (GPU name or CPU)
    notice = Signal(str)  # something the user should know that does not stop the job
    listed = Signal(object)  # list[Photo]: the folder as indexed, before scoring starts
    changed = Signal(object)  # list[Photo] scored (or failed) since the last report


class ScoringService(Service):
    """Background scoring: one scan at a time; a new one cancels the one in progress."""

    thread_name = "scoring"
    job_class = ScanJob

    def __init__(self, catalog_path: Path, scorer_factory: ScorerFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(catalog_path, parent)
        self._factory = scorer_factory or default_scorer_factory
        self._scorer: Any = None  # these two: the scoring thread's only
        self._scorer_key: tuple[str, str] | None = None

    def start(self, folder: Path, model: str, device: str, batch_size: int = 16) -> ScanJob:
        """Score `folder` in the background, cancelling any job in progress. Returns the new job's handle."""
        self.cancel()
        return self.submit(ScoringRequest(folder, model, device, batch_size))

    # ---- the scoring thread ------------------------------------------------------------------------
    def describe_error(self, exc: Exception) -> str:
        if isinstance(exc, (sqlite3.Error, OSError, CatalogError)):  # a full disk, a damaged catalog: what to do
            return str(explain(exc, self.catalog.path))
        return super().describe_error(exc)

    def error_outcome(self, job: ScanJob, message: str) -> ScanOutcome:
        return ScanOutcome(error=f"Scoring stopped: {message}")

    def release(self) -> None:
        self._scorer = self._scorer_key = None

    def handle(self, job: ScanJob) -> ScanOutcome:
        req: ScoringRequest = job.request
        if job.cancelled:
            return ScanOutcome(cancelled=True)
        if not req.folder.is_dir():
            return ScanOutcome(error=f"The folder {req.folder} no longer exists (moved, renamed or unplugged?)")
        with native_preload.loading_torch():  # no GIL held in the linker, no collection while torch loads
            scorer = self._get_scorer(job)
            from selfie_desk.neural import pipeline  # torch's Python half; its libraries are preloaded
        if isinstance(scorer, ScanOutcome):
            return scorer
        if job.cancelled:
            return ScanOutcome(cancelled=True)

        catalog = self.catalog.get()
        folder = str(req.folder)
        since = 0.0

        def report(p: Any) -> None:
            nonlocal since
            now = time.time()
            if since == 0.0:  # the first report comes right after indexing: new photos are in the catalog
                job.post("listed", catalog.photos(req.model, folder=folder))
            else:
                job.post("changed", catalog.photos_changed_since(req.model, folder, since))
            since = now
            job.post("progress", p)

        waiting = "Another scan is running on this catalog (selfie-desk score?); this one starts when it ends."
        with scan_lock(self.catalog.path, on_wait=lambda: job.post("notice", waiting),
                       cancelled=lambda: job.cancelled) as go:
            if not go:
                return ScanOutcome(cancelled=True)
            summary = pipeline.score([req.folder], catalog, scorer, progress=report, cancel=job.cancel_event,
                                     batch_size=req.batch_size)
        # Folders that could not be read (the files skipped are in the grid, each with its reason)
        for path, message in summary.index.skipped:
            if os.path.isdir(path):
                job.post("notice", f"{message[:1].upper()}{message[1:]}: {path}")
        for path, count in summary.index.offline:  # an unplugged drive: shown as the catalog knows it, nothing lost
            job.post("notice", f"{path} is offline (empty now, as an unplugged drive or card leaves it): its {count} "
                               "photos are shown as the catalog knows them, decisions kept; plug it in and open it "
                               "again (File > Open Recent)")
        for path, message in summary.index.notes:  # a RAW+JPEG pair: files disagree on orientation, raw unreadable
            job.post("notice", f"{os.path.basename(path)}: {message}")
        return ScanOutcome(summary=summary, cancelled=summary.cancelled)

    def _get_scorer(self, job: ScanJob) -> Any:
        req: ScoringRequest = job.request
        key = (req.model, req.device)
        if self._scorer is not None and self._scorer_key == key:
            job.post("device_ready", self._scorer.label)
            return self._scorer
        if self._scorer is not None and self._scorer_key is not None and self._scorer_key[1] == req.device \
                and hasattr(self._scorer, "with_model"):
            # Another score model on the same device: keep the convnet, swap the head (a personal model).
            try:
                scorer = self._scorer.with_model(req.model)
            except Exception as exc:
                return ScanOutcome(error=f"Cannot score with {req.model!r}: {exc}")
            self._scorer, self._scorer_key = scorer, key
            job.post("device_ready", scorer.label)
            return scorer
        self._scorer = self._scorer_key = None  # release the old model (and its GPU memory) first
        try:
            scorer = scorer_with_cpu_fallback(
                self._factory, req.model, req.device,
                lambda exc: job.post("notice", f"No usable GPU ({describe_device_error(exc)}); "
                                               "scoring on the CPU instead."),
            )
        except Exception as exc:
            return ScanOutcome(error=f"Cannot score: {exc}")
        self._scorer, self._scorer_key = scorer, key
        job.post("device_ready", scorer.label)
        return scorer
