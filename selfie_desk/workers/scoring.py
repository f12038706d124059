"""Scoring a folder in the background: `pipeline.score` on a thread of its own, reported by queued signals.

The scoring thread owns the model (one Scorer, made there on first use, so torch is imported there and
never delays the window) and its own Catalog connection (SQLite connections belong to one thread). The
UI hands in an immutable request with a job id and ignores reports from jobs that are no longer current.
Cancelling sets the job's event: the pipeline stops feeding work, and every finished batch is already
committed, so nothing scored is lost.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from selfie_desk.core.catalog_access import CatalogError, explain, scan_lock
from selfie_desk.workers import native_preload
from selfie_desk.workers.priority import lower_thread_priority
from selfie_desk.workers.thread_catalog import ThreadCatalog

log = logging.getLogger(__name__)

# (model name, device choice) -> a Scorer. Called on the scoring thread.
ScorerFactory = Callable[[str, str], Any]


def scorer_with_cpu_fallback(
    factory: ScorerFactory, model: str, device: str, on_fallback: Callable[[Exception], None]
) -> Any:
    """A Scorer from `factory`. When the GPU was asked for and cannot be used, tell `on_fallback` why and
    run on the CPU rather than not at all. Raises what the last attempt raised."""
    try:
        return factory(model, device)
    except Exception as exc:
        if device != "cuda":
            raise
        on_fallback(exc)
        return factory(model, "cpu")


def default_scorer_factory(model: str, device: str) -> Any:
    from selfie_desk.neural.model import Scorer  # imports torch: on the scoring thread, not at window start

    return Scorer(model=model, device=device)


@dataclass(frozen=True)
class ScoringRequest:
    job_id: int
    folder: Path  # canonical (absolute) path
    model: str
    device: str  # auto | cuda | cpu
    batch_size: int = 16
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class ScanOutcome:
    """How a job ended. `summary` is the pipeline's Summary when scoring ran at all."""

    summary: Any = None
    cancelled: bool = False
    error: str | None = None  # for the user: one line, no traceback


class _ScoringWorker(QObject):
    """Lives on the scoring thread; its slots run there, one job at a time."""

    device_ready = Signal(int, str)  # job id, device label (GPU name or CPU)
    notice = Signal(int, str)  # job id, something the user should know that does not stop the job
    listed = Signal(int, object)  # job id, list[Photo]: the folder as indexed, before scoring starts
    progress = Signal(int, object)  # job id, pipeline.Progress
    changed = Signal(int, object)  # job id, list[Photo] scored (or failed) since the last report
    finished = Signal(int, object)  # job id, ScanOutcome

    def __init__(self, catalog_path: Path, scorer_factory: ScorerFactory) -> None:
        super().__init__()
        self._catalog = ThreadCatalog(catalog_path)
        self._factory = scorer_factory
        self._scorer: Any = None
        self._scorer_key: tuple[str, str] | None = None
        self._niced = False

    @Slot(object)
    def run(self, request: ScoringRequest) -> None:
        if not self._niced:
            lower_thread_priority(10)
            self._niced = True
        try:
            outcome = self._run(request)
        except (sqlite3.Error, OSError, CatalogError) as exc:  # a full disk, a damaged catalog: say what to do
            log.exception("scoring %s failed", request.folder)
            outcome = ScanOutcome(error=f"Scoring stopped: {explain(exc, self._catalog.path)}")
        except Exception as exc:  # a report for the user, never a dead thread
            log.exception("scoring %s failed", request.folder)
            outcome = ScanOutcome(error=f"Scoring stopped: {type(exc).__name__}: {exc}")
        self.finished.emit(request.job_id, outcome)

    def _run(self, req: ScoringRequest) -> ScanOutcome:
        if req.cancel.is_set():
            return ScanOutcome(cancelled=True)
        if not req.folder.is_dir():
            return ScanOutcome(error=f"The folder {req.folder} no longer exists (moved, renamed or unplugged?)")
        with native_preload.loading_torch():  # no GIL held in the linker, no collection while torch loads
            scorer = self._get_scorer(req)
            from selfie_desk.neural import pipeline  # imports torch: here, on the scoring thread
        if isinstance(scorer, ScanOutcome):
            return scorer
        if req.cancel.is_set():
            return ScanOutcome(cancelled=True)

        catalog = self._catalog.get()
        folder = str(req.folder)
        since = 0.0

        def report(p: Any) -> None:
            nonlocal since
            now = time.time()
            if since == 0.0:  # the first report comes right after indexing: new photos are in the catalog
                self.listed.emit(req.job_id, catalog.photos(req.model, folder=folder))
            else:
                self.changed.emit(req.job_id, catalog.photos_changed_since(req.model, folder, since))
            since = now
            self.progress.emit(req.job_id, p)

        waiting = "Another scan is running on this catalog (selfie-desk score?); this one starts when it ends."
        with scan_lock(self._catalog.path, on_wait=lambda: self.notice.emit(req.job_id, waiting),
                       cancelled=req.cancel.is_set) as go:
            if not go:
                return ScanOutcome(cancelled=True)
            summary = pipeline.score([req.folder], catalog, scorer, progress=report, cancel=req.cancel,
                                     batch_size=req.batch_size)
        # Folders that could not be read (the files skipped are in the grid, each with its reason)
        for path, message in summary.index.skipped:
            if os.path.isdir(path):
                self.notice.emit(req.job_id, f"{message[:1].upper()}{message[1:]}: {path}")
        return ScanOutcome(summary=summary, cancelled=summary.cancelled)

    def _get_scorer(self, req: ScoringRequest) -> Any:
        key = (req.model, req.device)
        if self._scorer is not None and self._scorer_key == key:
            self.device_ready.emit(req.job_id, self._scorer.label)
            return self._scorer
        if self._scorer is not None and self._scorer_key is not None and self._scorer_key[1] == req.device \
                and hasattr(self._scorer, "with_model"):
            # Another score model on the same device: keep the convnet, swap the head (a personal model).
            try:
                scorer = self._scorer.with_model(req.model)
            except Exception as exc:
                return ScanOutcome(error=f"Cannot score with {req.model!r}: {exc}")
            self._scorer, self._scorer_key = scorer, key
            self.device_ready.emit(req.job_id, scorer.label)
            return scorer
        self._scorer = self._scorer_key = None  # release the old model (and its GPU memory) first
        try:
            scorer = scorer_with_cpu_fallback(
                self._factory, req.model, req.device,
                lambda exc: self.notice.emit(req.job_id, f"No usable GPU ({exc}); scoring on the CPU instead."),
            )
        except Exception as exc:
            return ScanOutcome(error=f"Cannot score: {exc}")
        self._scorer, self._scorer_key = scorer, key
        self.device_ready.emit(req.job_id, scorer.label)
        return scorer

    @Slot()
    def shut_down(self) -> None:
        """Release the catalog and the model on their own thread, then end the thread."""
        self._catalog.close()
        self._scorer = self._scorer_key = None
        QThread.currentThread().quit()


class ScoringService(QObject):
    """The UI's handle on background scoring. Lives on the UI thread; re-emits the worker's reports there."""

    device_ready = Signal(int, str)
    notice = Signal(int, str)
    listed = Signal(int, object)
    progress = Signal(int, object)
    changed = Signal(int, object)
    finished = Signal(int, object)
    _submit = Signal(object)
    _shut_down = Signal()

    def __init__(self, catalog_path: Path, scorer_factory: ScorerFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("scoring")
        self._worker = _ScoringWorker(catalog_path, scorer_factory or default_scorer_factory)
        self._worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._submit.connect(self._worker.run, queued)
        self._shut_down.connect(self._worker.shut_down, queued)
        for name in ("device_ready", "notice", "listed", "progress", "changed", "finished"):
            getattr(self._worker, name).connect(getattr(self, name), queued)
        self.finished.connect(self._job_finished)
        self._next_id = 0
        self._current: ScoringRequest | None = None
        self._running: set[int] = set()
        self._stopped = False

    @property
    def current_job(self) -> int | None:
        return self._current.job_id if self._current else None

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def start(self, folder: Path, model: str, device: str, batch_size: int = 16) -> int:
        """Score `folder` in the background, cancelling any job in progress. Returns the new job's id."""
        if self._stopped:
            raise RuntimeError("the scoring service has been stopped")
        self.cancel()
        if not self._thread.isRunning():
            self._thread.start()
        self._next_id += 1
        self._current = ScoringRequest(self._next_id, folder, model, device, batch_size)
        self._running.add(self._next_id)
        self._submit.emit(self._current)
        return self._next_id

    def cancel(self) -> None:
        """Stop the job in progress after its current batch; what it scored stays in the catalog."""
        if self._current is not None:
            self._current.cancel.set()

    @Slot(int, object)
    def _job_finished(self, job_id: int, outcome: object) -> None:
        self._running.discard(job_id)
        if self._current is not None and self._current.job_id == job_id:
            self._current = None

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel, release the model and the catalog on their thread, and wait for it to end (True if it did)."""
        self._stopped = True
        self.cancel()
        if not self._thread.isRunning():
            return True
        self._shut_down.emit()
        return self._thread.wait(int(timeout_s * 1000))
