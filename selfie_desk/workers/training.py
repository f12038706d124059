"""Training a personal model in the background: `taste.train` on a thread of its own, reported by queued
signals, cancellable between epochs (nothing is saved when cancelled).

The thread opens its own Catalog connection (SQLite connections belong to one thread) and imports torch
there, so the window never waits for either.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from selfie_desk.workers.priority import lower_thread_priority

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRequest:
    job_id: int
    name: str
    holdout: float = 0.2
    seed: int = 0
    replace: bool = False
    folders: tuple[str, ...] = ()  # empty: every decision in the catalog
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class TrainingOutcome:
    name: str
    card: dict | None = None  # the saved model's card
    warnings: tuple[str, ...] = ()
    cancelled: bool = False
    error: str | None = None  # for the user: one line, no traceback
    scored: int = 0  # photos given a score by the new model from their embeddings

    @property
    def summary(self) -> str:
        if self.error:
            return self.error
        if self.cancelled:
            return "Training cancelled; nothing was saved."
        assert self.card is not None
        a = self.card.get("heldout_agreement")
        counts = self.card["labels"]
        text = f"Trained '{self.name}' on {counts['total']} labels ({counts['good']} good, {counts['bad']} bad). "
        if a:
            text += (f"On {a['n']} held-out photos it agrees with you {a['accuracy']:.0%} of the time "
                     f"(pairwise {a['auc']:.0%}); the default model: {a['default_accuracy']:.0%} "
                     f"(pairwise {a['default_auc']:.0%}).")
        else:
            text += "Too few labels to measure its agreement on held-out photos."
        return text


class _TrainingWorker(QObject):
    progress = Signal(int, float)  # job id, share done
    finished = Signal(int, object)  # job id, TrainingOutcome

    def __init__(self, catalog_path: Path) -> None:
        super().__init__()
        self._catalog_path = catalog_path
        self._niced = False

    @Slot(object)
    def run(self, req: TrainingRequest) -> None:
        if not self._niced:
            lower_thread_priority(10)
            self._niced = True
        try:
            outcome = self._run(req)
        except Exception as exc:  # a report for the user, never a dead thread
            log.exception("training %s failed", req.name)
            outcome = TrainingOutcome(req.name, error=f"Training failed: {type(exc).__name__}: {exc}")
        self.finished.emit(req.job_id, outcome)

    def _run(self, req: TrainingRequest) -> TrainingOutcome:
        from selfie_desk.core.catalog import Catalog
        from selfie_desk.neural import rescore, taste  # imports torch: here, on the training thread

        with Catalog(self._catalog_path) as catalog:
            labels, unscored = taste.labels_from_catalog(catalog, req.folders)
            try:
                result = taste.train(catalog, labels, req.name, holdout=req.holdout, seed=req.seed,
                                     cancel=req.cancel, progress=lambda f: self.progress.emit(req.job_id, f))
            except taste.Cancelled:
                return TrainingOutcome(req.name, cancelled=True)
            except taste.TasteError as exc:
                return TrainingOutcome(req.name, error=f"Cannot train: {exc}")
            if req.cancel.is_set():
                return TrainingOutcome(req.name, cancelled=True)
            warnings = list(result.warnings)
            if unscored:
                warnings.append(f"{unscored} flagged or rated photos are not scored yet and were left out")
            try:
                taste.save_model(result, replace=req.replace)
            except taste.TasteError as exc:
                return TrainingOutcome(req.name, error=str(exc))
            catalog.forget_model(req.name)  # a replaced model's old scores are stale
            scored = rescore.rescore(catalog, req.name)
        return TrainingOutcome(req.name, card=result.card, warnings=tuple(warnings), scored=scored)


class TrainingService(QObject):
    """The UI's handle on background training. Lives on the UI thread; re-emits the worker's reports there."""

    progress = Signal(int, float)
    finished = Signal(int, object)
    _submit = Signal(object)

    def __init__(self, catalog_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("training")
        self._worker = _TrainingWorker(catalog_path)
        self._worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._submit.connect(self._worker.run, queued)
        self._worker.progress.connect(self.progress, queued)
        self._worker.finished.connect(self.finished, queued)
        self.finished.connect(self._job_finished)
        self._next_id = 0
        self._current: TrainingRequest | None = None

    @property
    def busy(self) -> bool:
        return self._current is not None

    def start(self, name: str, *, holdout: float = 0.2, replace: bool = False, **kwargs: Any) -> int:
        self.cancel()
        if not self._thread.isRunning():
            self._thread.start()
        self._next_id += 1
        self._current = TrainingRequest(self._next_id, name, holdout=holdout, replace=replace, **kwargs)
        self._submit.emit(self._current)
        return self._next_id

    def cancel(self) -> None:
        if self._current is not None:
            self._current.cancel.set()

    @Slot(int, object)
    def _job_finished(self, job_id: int, outcome: object) -> None:
        if self._current is not None and self._current.job_id == job_id:
            self._current = None

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel (training stops after its current epoch) and end the thread."""
        self.cancel()
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        return self._thread.wait(int(timeout_s * 1000))
