"""The orders the folder is shown and exported in, one definition each: best first (the grid, `list`,
`export`), nearest a personal model's boundary, best after crop, capture date, name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from selfie_desk.core.storage.catalog import Photo

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison  # what sorted() takes from a key; typeshed only, no runtime

UNCERTAIN_BOUNDARY = 0.5  # a personal model's score is P(good): 0.5 is where it is least sure


def best_first(p: Photo) -> tuple[bool, float, str]:
    """Sort key: the highest score first; photos without a score (not scored yet, unreadable) last, by path."""
    return (p.score is None, -(p.score or 0.0), p.path)


def sort_key(sort: str) -> Callable[[Photo], SupportsRichComparison]:
    """Best first; photos without a score (not scored yet, or unreadable) last, in name order."""
    if sort == "score":
        return best_first
    if sort == "uncertain":  # nearest the model's boundary first: the decisions that teach it the most
        return lambda p: (p.score is None, abs((p.score or 0.0) - UNCERTAIN_BOUNDARY), p.path)
    if sort == "crop":  # "a keeper once cropped": the best proposed crop's score, else the photo's own
        return lambda p: (crop_rank_score(p) is None, -(crop_rank_score(p) or 0.0), p.path)
    if sort == "date":
        return lambda p: (p.captured_at is None, p.captured_at or "", p.path)
    return lambda p: p.path


def crop_rank_score(p: Photo) -> float | None:
    """What "best after crop" sorts by: the accepted crop's score (the user's choice) when known; else the best
    proposed crop's score when there is a proposal (never below the uncropped photo's score); else the score."""
    if p.crop is not None:
        return p.crop_score if p.crop_score is not None else p.score
    if p.best_crop_score is None:
        return p.score
    return p.best_crop_score if p.score is None else max(p.best_crop_score, p.score)
