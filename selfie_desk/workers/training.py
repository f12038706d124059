"""Training a personal model in the background: `taste.train` on the training service's thread
(`service.Service`), cancellable between epochs (nothing is saved when cancelled).

The thread keeps its own Catalog connection (SQLite connections belong to one thread); what is left of torch's
import after the native preload (`native_preload`) runs there too, so the window never waits for either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from selfie_desk.workers.service import Job, Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRequest:
    name: str
    holdout: float = 0.2
    seed: int = 0
    replace: bool = False
    folders: tuple[str, ...] = ()  # empty: every decision in the catalog


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


class TrainingService(Service):
    """Background training. A job's `progress` is the share done (0-1); its `finished` a TrainingOutcome."""

    thread_name = "training"

    def start(self, name: str, *, holdout: float = 0.2, replace: bool = False, **kwargs: Any) -> Job:
        """Train `name` in the background, cancelling any training in progress. Returns the job's handle."""
        self.cancel()
        return self.submit(TrainingRequest(name, holdout=holdout, replace=replace, **kwargs))

    # ---- the training thread -----------------------------------------------------------------------
    def error_outcome(self, job: Job, message: str) -> TrainingOutcome:
        return TrainingOutcome(job.request.name, error=f"Training failed: {message}")

    def handle(self, job: Job) -> TrainingOutcome:
        from selfie_desk.neural import rescore, taste  # torch's Python half, on this thread (libraries preloaded)

        req: TrainingRequest = job.request
        catalog = self.catalog.get()
        labels, unscored = taste.labels_from_catalog(catalog, req.folders)
        try:
            result = taste.train(catalog, labels, req.name, holdout=req.holdout, seed=req.seed,
                                 cancel=job.cancel_event, progress=lambda f: job.post("progress", f))
        except taste.Cancelled:
            return TrainingOutcome(req.name, cancelled=True)
        except taste.TasteError as exc:
            return TrainingOutcome(req.name, error=f"Cannot train: {exc}")
        if job.cancelled:
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
