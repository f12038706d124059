"""Scores for another model from the stored embeddings: the head alone, no photo decoded again.

Every photo's pooled backbone features are in the catalog. A head that sits on the same backbone scores
thousands of them in milliseconds, so switching the active model (or training a new one) gives every
photo a score at once; only photos without a usable embedding need the full scoring pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import torch

from selfie_desk.core.catalog import Catalog
from selfie_desk.core.model import BACKBONE_ID, UnknownModelError, head_backbone, load_head

CHUNK = 2048


class BackboneIndex:
    """Which backbone made each stored embedding, from the name of the model that stored it."""

    def __init__(self) -> None:
        self._known: dict[str | None, str | None] = {}

    def backbone(self, model: str | None) -> str | None:
        if model not in self._known:
            try:
                self._known[model] = None if model is None else head_backbone(load_head(model)[1].card)
            except (UnknownModelError, OSError, RuntimeError, KeyError):
                # A model since deleted: every head this app ever shipped or trained used the bundled
                # backbone, but nothing proves it for this one, so its embeddings are not trusted.
                self._known[model] = None
        return self._known[model]


def from_embeddings(
    catalog: Catalog,
    head: torch.nn.Module,
    model: str,
    photo_ids: Iterable[int],
    backbone: str = BACKBONE_ID,
    cancel: threading.Event | None = None,
) -> set[int]:
    """Score `photo_ids` whose stored embedding came from `backbone` with `head`, store the scores under
    `model`, and return the ids scored (the others need the scoring pass)."""
    index = BackboneIndex()
    done: set[int] = set()
    ids = list(photo_ids)
    for start in range(0, len(ids), CHUNK):
        if cancel is not None and cancel.is_set():
            break
        stored = catalog.embeddings(ids[start : start + CHUNK])
        usable = [(pid, emb) for pid, (emb, made_by) in stored.items() if index.backbone(made_by) == backbone]
        if not usable:
            continue
        x = torch.from_numpy(np.stack([emb for _, emb in usable]))
        with torch.inference_mode():
            device = next(head.parameters()).device
            scores = head.probability(x.to(device)).float().cpu().numpy()
        catalog.save_scores(model, [(pid, float(s)) for (pid, _), s in zip(usable, scores, strict=True)])
        done.update(pid for pid, _ in usable)
    return done


def rescore(catalog: Catalog, model: str, folder: str | None = None, cancel: threading.Event | None = None) -> int:
    """Give every photo with a usable embedding (under `folder`, or the whole catalog) a score from `model`
    where it has none. Returns how many were scored."""
    head, info = load_head(model)
    missing = catalog.photos_missing_score(model, folder)
    return len(from_embeddings(catalog, head, model, missing, head_backbone(info.card), cancel))
