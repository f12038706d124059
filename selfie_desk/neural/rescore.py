"""Scores for another model from the stored embeddings: the head alone, no photo decoded again.

Every photo's pooled backbone features are in the catalog. A head that sits on the same backbone scores
thousands of them in milliseconds, so switching the active model (or training a new one) gives every
photo a score at once; only photos without a usable embedding need the full scoring pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from selfie_desk.core.measures.embedding import EMBEDDING_ID
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.neural.runtime.heads import ArrayHead, load_head

CHUNK = 2048


def from_embeddings(
    catalog: Catalog,
    head: ArrayHead | Any,
    model: str,
    photo_ids: Iterable[int],
    layout: str = EMBEDDING_ID,
    cancel: threading.Event | None = None,
    head_id: str = "",
) -> set[int]:
    """Score `photo_ids` whose stored embedding has `layout` with `head` (numpy's, or a torch ScoreHead), store
    the scores under `model` (made by `head_id`), and return the ids scored (the others need the scoring pass:
    an embedding of an older layout is never fed to a head made for another)."""
    done: set[int] = set()
    ids = list(photo_ids)
    for start in range(0, len(ids), CHUNK):
        if cancel is not None and cancel.is_set():
            break
        stored = catalog.embeddings(ids[start : start + CHUNK])
        usable = [(pid, emb) for pid, (emb, made_as) in stored.items() if made_as == layout]
        if not usable:
            continue
        scores = probabilities(head, np.stack([emb for _, emb in usable]))
        catalog.save_scores(model, [(pid, float(s)) for (pid, _), s in zip(usable, scores, strict=True)], head_id)
        done.update(pid for pid, _ in usable)
    return done


def probabilities(head: ArrayHead | Any, x: np.ndarray) -> np.ndarray:
    """`head`'s scores of the features `x` (N x FEATURE_DIM): numpy's head as it is, a torch one on its device
    (torch is imported only then: the CPU build has none)."""
    if isinstance(head, ArrayHead):
        return head.probability(x)
    import torch

    with torch.inference_mode():
        device = next(head.parameters()).device
        return head.probability(torch.from_numpy(x).to(device)).float().cpu().numpy()


def rescore(catalog: Catalog, model: str, folder: str | None = None, cancel: threading.Event | None = None) -> int:
    """Give every photo with a usable embedding (under `folder`, or the whole catalog) a score from `model`
    where it has none (or one from another version of its head). Returns how many were scored."""
    head, info = load_head(model)
    missing = catalog.photos_missing_score(model, folder, info.id)
    # load_head only loads heads made for EMBEDDING_ID, the layout from_embeddings reads by default
    return len(from_embeddings(catalog, head, model, missing, cancel=cancel, head_id=info.id))
