"""Teaching the score your taste: labels from your picks, stars and likes; a head trained on the stored
embeddings in seconds; and an honest comparison with the default model on photos held out of training.

Labels:
- Decisions (any folder in the catalog): a pick is good, a reject is bad.
- Stars, for photos without a decision: 4-5 good, 1-2 bad, 3 left out. Three stars is the "fine, nothing
  special" of most raters, so it carries no direction; 0 means unrated. A decision beats stars (it is the
  explicit judgement; stars often mean something else, e.g. "for the album").
- Ratings read from XMP (Lightroom, darktable) arrive through the catalog as stars / rejects (issue 5).
- A likes table (`path,likes,followers[,tags]`): Karpathy's recipe, see `likes_labels`.

A personal model never changes a decision: it only adds scores under its own name.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from selfie_desk import __version__
from selfie_desk.core import paths
from selfie_desk.core.measures.embedding import EMBEDDING_DIM, EMBEDDING_ID
from selfie_desk.core.model_cards import DEFAULT_MODEL, name_problem
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.core.vocabulary import Decision
from selfie_desk.neural.runtime.heads import ArrayHead, HeadTrainer, load_head, save_head
from selfie_desk.neural.runtime.heads import Cancelled as Cancelled  # training was cancelled (the workers catch it)

GOOD_STARS = 4  # >= 4 stars: good
BAD_STARS = 2  # 1-2 stars: bad (3 is neutral, 0 unrated)
MIN_LABELS = 20  # fewer: train anyway, with a clear warning
GROUP_SIZE = 100  # Karpathy's groups of 100 posts
TAG_BONUS = 0.05  # each tag beyond the first counts as 5 % more audience
BOUNDARY = 0.5  # a personal model's score is P(good): 0.5 is its decision boundary
EPOCHS = 150
PERSONAL_DROPOUT = 0.1


class TasteError(ValueError):
    """Training cannot go on (no labels, one class only, a bad name or likes file): the message says why."""


@dataclass(frozen=True)
class Label:
    photo_id: int
    path: str
    good: bool
    source: str  # pick | reject | stars | likes


# ---- labels from the catalog ---------------------------------------------------------------------------
def label_of(decision: str | None, rating: int) -> tuple[bool, str] | None:
    """(good, source) for one photo's decision and stars, or None when they say nothing."""
    if decision == Decision.KEEP:
        return True, "pick"
    if decision == Decision.REJECT:
        return False, "reject"
    if rating >= GOOD_STARS:
        return True, "stars"
    if 1 <= rating <= BAD_STARS:
        return False, "stars"
    return None


def labels_from_catalog(catalog: Catalog, folders: Iterable[str] = ()) -> tuple[list[Label], int]:
    """The user's labels across the catalog (or under `folders`), and how many labelled photos have no
    embedding yet (not scored: open or score their folder first)."""
    labels, unscored = [], 0
    for pid, path, decision, rating, has_embedding in catalog.labelled_photos(folders):
        found = label_of(decision, rating)
        if found is None:
            continue
        if not has_embedding:
            unscored += 1
            continue
        labels.append(Label(pid, path, found[0], found[1]))
    return labels, unscored


# ---- labels from a likes table (Karpathy's recipe) --------------------------------------------------
@dataclass(frozen=True)
class Post:
    path: str
    likes: float
    followers: float
    tags: int = 0

    @property
    def audience(self) -> float:
        """How many people could see the post: followers, plus a small bonus per tag beyond the first
        (tags put a post in front of people who do not follow the poster)."""
        return self.followers * (1.0 + TAG_BONUS) ** max(0, self.tags - 1)


def _count_tags(value: str) -> int:
    value = (value or "").strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    return len([t for t in re.split(r"[\s,;#]+", value) if t])


def read_likes_csv(file: Path) -> list[Post]:
    """Rows of `path,likes,followers[,tags]` (a header row); relative paths are relative to the file.
    `tags` is a count or the tags themselves (separated by spaces, commas, ; or #)."""
    file = Path(file)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TasteError(f"cannot read {file}: {exc}") from None
    rows = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in (rows.fieldnames or [])]
    if not {"path", "likes", "followers"} <= set(fields):
        raise TasteError(f"{file}: the first line must name the columns path,likes,followers[,tags]; got {fields}")
    posts = []
    for line, raw in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        if not row.get("path"):
            continue
        try:
            likes, followers = float(row["likes"]), float(row["followers"])
        except ValueError:
            raise TasteError(f"{file}, line {line}: likes and followers must be numbers") from None
        if likes < 0 or followers < 0:
            raise TasteError(f"{file}, line {line}: likes and followers cannot be negative")
        path = Path(row["path"]).expanduser()
        if not path.is_absolute():
            path = file.parent / path
        posts.append(Post(os.path.abspath(path), likes, followers, _count_tags(row.get("tags", ""))))
    return posts


def likes_groups(posts: Sequence[Post], group_size: int = GROUP_SIZE) -> list[list[Post]]:
    """Posts sorted by audience (followers with the tag bonus), cut into consecutive groups of `group_size`.
    A last group of fewer than half a group joins the one before it (too few to split on its own)."""
    if group_size < 2:
        raise TasteError("groups must hold at least 2 posts")
    ordered = sorted(posts, key=lambda p: (p.audience, p.path))
    groups = [list(ordered[i : i + group_size]) for i in range(0, len(ordered), group_size)]
    if len(groups) > 1 and len(groups[-1]) < group_size / 2:
        groups[-2].extend(groups.pop())
    return groups


def likes_labels(posts: Sequence[Post], group_size: int = GROUP_SIZE) -> list[tuple[Post, bool]]:
    """Karpathy's normalisation: within each group of posts with a similar audience, the top half by likes
    is good and the bottom half bad. With an odd count the middle post is left out, and so are posts tied
    on likes across the halves' border (their order says nothing)."""
    out: list[tuple[Post, bool]] = []
    for group in likes_groups(posts, group_size):
        ranked = sorted(group, key=lambda p: (-p.likes, p.path))
        half = len(ranked) // 2
        top, bottom = ranked[:half], ranked[len(ranked) - half :]
        if not top:
            continue
        border = {top[-1].likes} & {bottom[0].likes}
        out += [(p, True) for p in top if p.likes not in border]
        out += [(p, False) for p in bottom if p.likes not in border]
    return out


def labels_from_likes(catalog: Catalog, posts: Sequence[Post], group_size: int = GROUP_SIZE) -> tuple[list[Label], int]:
    """Labels for the posts' photos that are in the catalog with an embedding; and how many are not."""
    labelled = likes_labels(posts, group_size)
    ids = catalog.photo_ids_by_path(p.path for p, _ in labelled)
    have = catalog.embeddings(list(ids.values()))
    labels = [Label(ids[p.path], p.path, good, "likes") for p, good in labelled if ids.get(p.path) in have]
    return labels, len(labelled) - len(labels)


def merge_labels(*sources: Iterable[Label]) -> list[Label]:
    """One label per photo; an earlier source wins (the user's own decisions before a likes table)."""
    seen: dict[int, Label] = {}
    for source in sources:
        for label in source:
            seen.setdefault(label.photo_id, label)
    return list(seen.values())


# ---- training -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Agreement:
    """How well a model's scores agree with held-out labels."""

    n: int
    good: int
    bad: int
    accuracy: float  # the personal model, at its boundary (0.5)
    auc: float  # share of (good, bad) pairs it orders correctly, ties half
    default_accuracy: float  # the default model, at the threshold that best fits the training labels
    default_auc: float

    def to_json(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}

    def describe(self) -> str:
        return (f"held-out agreement on {self.n} photos ({self.good} good, {self.bad} bad): "
                f"accuracy {self.accuracy:.1%}, pairwise {self.auc:.1%}; "
                f"the default model on the same photos: accuracy {self.default_accuracy:.1%}, "
                f"pairwise {self.default_auc:.1%}")


@dataclass
class TrainingResult:
    name: str
    head: ArrayHead
    card: dict
    heldout: Agreement | None
    warnings: list[str] = field(default_factory=list)
    path: Path | None = None


def pairwise_auc(scores: np.ndarray, good: np.ndarray) -> float:
    """P(a random good photo scores above a random bad one), ties counted half."""
    pos, neg = scores[good], scores[~good]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def best_threshold(scores: np.ndarray, good: np.ndarray) -> float:
    """The cut that best separates the labels (for the default model, whose scale knows nothing of them)."""
    candidates = np.concatenate([[-np.inf], np.sort(scores)])
    accs = [np.mean((scores > t) == good) for t in candidates]
    i = int(np.argmax(accs))
    if i + 1 < len(candidates):
        return float((candidates[i] + candidates[i + 1]) / 2) if np.isfinite(candidates[i]) else float(
            candidates[i + 1] - 1e-6)
    return float(candidates[i])


def split_holdout(good: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified: the same share of good and of bad labels is held out (at least one of a class that has
    two or more), chosen by a seeded shuffle. Returns (train indices, held-out indices)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in (True, False):
        idx = np.flatnonzero(good == cls)
        rng.shuffle(idx)
        k = int(round(share * len(idx)))
        if share > 0 and len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        else:
            k = 0
        test += list(idx[:k])
        train += list(idx[k:])
    return np.array(sorted(train), dtype=int), np.array(sorted(test), dtype=int)


def fit_head(
    x: np.ndarray,
    good: np.ndarray,
    start: ArrayHead | None,
    *,
    epochs: int = EPOCHS,
    seed: int = 0,
    cancel: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
) -> ArrayHead:
    """A head whose score is P(good), trained with class-balanced logistic loss on frozen embeddings.

    From `start` (the default head, its calibration kept: the personal model begins from the default's
    judgement and moves away only as far as the labels push it) or from scratch (None). numpy, no torch
    (`HeadTrainer`: AdamW, lr 1e-3, weight decay 1e-2, batches of 256), so the CPU build trains as the GPU build
    does; measured here, 150 epochs of 96 labels: ~3 s on one core, as torch took on one thread."""
    x = np.asarray(x, np.float32)
    rng = np.random.default_rng(seed)
    if start is not None:
        head = start.copy()
        # P(good) = sigmoid((logit - c) / s), starting from the default's ranking: c the median of its
        # logits on these photos, s their standard deviation (torch's, with Bessel's correction)
        logits = start.logit(x).astype(np.float64)
        spread = float(logits.std(ddof=1)) if len(logits) > 1 else 0.0
        median = float(np.sort(logits)[(len(logits) - 1) // 2])  # torch.median's: the lower middle value
        head.use_sigmoid(median, max(spread, 1e-3))
        head.dropout = PERSONAL_DROPOUT  # the default's dropout (0.5, for 9,000 photos) would drown a few dozen labels
    else:
        looks = x[:, EMBEDDING_DIM:]
        head = ArrayHead.fresh(looks.mean(0), looks.std(0) + 1e-6, rng)
    return HeadTrainer(head).fit(x, good, epochs, 256, seed, cancel, progress)


def head_scores(head: ArrayHead, x: np.ndarray) -> np.ndarray:
    return head.probability(np.asarray(x, np.float32))


def check_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise TasteError(problem)
    return name


def train(
    catalog: Catalog,
    labels: Sequence[Label],
    name: str,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    init: str = "default",
    epochs: int = EPOCHS,
    cancel: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
) -> TrainingResult:
    """Train a personal model on `labels` (embeddings from the catalog), measured on a held-out share.

    Raises TasteError when there is nothing to learn from (no labels, or one class only); warns (in the
    result) when there are few labels or too few to measure on."""
    check_name(name)
    if not 0 <= holdout < 1:
        raise TasteError("--holdout must be at least 0 and below 1")
    if init not in ("default", "fresh"):
        raise TasteError("init must be 'default' or 'fresh'")
    warnings: list[str] = []
    stored = catalog.embeddings([lab.photo_id for lab in labels])
    usable = [lab for lab in labels if lab.photo_id in stored and stored[lab.photo_id][1] == EMBEDDING_ID]
    if len(usable) < len(labels):
        warnings.append(f"{len(labels) - len(usable)} labelled photos have no usable embedding and were left out")
    n_good = sum(lab.good for lab in usable)
    n_bad = len(usable) - n_good
    if not usable:
        raise TasteError("no labelled photos to learn from: pick (P) and reject (X) photos, or give them stars, "
                         "in folders that have been scored")
    if n_good == 0 or n_bad == 0:
        only = "good (picks, 4-5 stars)" if n_bad == 0 else "bad (rejects, 1-2 stars)"
        raise TasteError(f"all {len(usable)} labels are {only}: a model needs examples of both to learn what "
                         "you prefer; mark some of the other kind too. Nothing was saved.")
    if len(usable) < MIN_LABELS:
        warnings.append(f"only {len(usable)} labels (fewer than {MIN_LABELS}): the model will be rough, and its "
                        "held-out agreement is measured on very few photos")
    x = np.stack([stored[lab.photo_id][0] for lab in usable])
    good = np.array([lab.good for lab in usable])
    train_idx, test_idx = split_holdout(good, holdout, seed)
    default_head, default_info = load_head(DEFAULT_MODEL)
    t0 = time.perf_counter()
    head = fit_head(x[train_idx], good[train_idx], default_head if init == "default" else None,
                    epochs=epochs, seed=seed, cancel=cancel, progress=progress)
    seconds = time.perf_counter() - t0

    heldout = None
    test_good = good[test_idx]
    if len(test_idx) and test_good.any() and (~test_good).any():
        mine = head_scores(head, x[test_idx])
        base_train = head_scores(default_head, x[train_idx])
        base = head_scores(default_head, x[test_idx])
        cut = best_threshold(base_train, good[train_idx])
        heldout = Agreement(
            n=len(test_idx), good=int(test_good.sum()), bad=int((~test_good).sum()),
            accuracy=float(np.mean((mine > BOUNDARY) == test_good)), auc=pairwise_auc(mine, test_good),
            default_accuracy=float(np.mean((base > cut) == test_good)), default_auc=pairwise_auc(base, test_good),
        )
    else:
        warnings.append("too few labels of each kind to hold some out: held-out agreement was not measured "
                        "(label more photos, or use --holdout 0.2 or more)")
    train_scores = head_scores(head, x[train_idx])
    sources = Counter(lab.source for lab in usable)
    card = {
        "name": name,
        "kind": "personal",
        "version": 1,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "app_version": __version__,
        "base_model": DEFAULT_MODEL if init == "default" else None,
        "init": init,
        "backbone_id": EMBEDDING_ID,
        "embedding_id": EMBEDDING_ID,
        "default_head": default_info.id,
        "backbone": "frozen (the head is trained on the stored embeddings; the last backbone stage is not tuned)",
        "boundary": BOUNDARY,
        "labels": {"total": len(usable), "good": n_good, "bad": n_bad, "sources": dict(sorted(sources.items()))},
        "holdout": {"share": holdout, "seed": seed, "n": len(test_idx), "train": len(train_idx)},
        "heldout_agreement": None if heldout is None else heldout.to_json(),
        "train_agreement": {"accuracy": round(float(np.mean((train_scores > BOUNDARY) == good[train_idx])), 4),
                            "auc": round(pairwise_auc(train_scores, good[train_idx]), 4)},
        "training": {"epochs": epochs, "seconds": round(seconds, 2), "device": "cpu",
                     "loss": "class-balanced logistic, AdamW 1e-3, weight decay 1e-2"},
        "warnings": warnings,
    }
    return TrainingResult(name, head, card, heldout, warnings)


# ---- personal models on disk ------------------------------------------------------------------------
def model_path(name: str) -> Path:
    return paths.user_models_dir() / f"{check_name(name)}.pt"


def save_model(result: TrainingResult, replace: bool = False) -> Path:
    """Write the head (card inside) and NAME.json (the card, readable), atomically. An existing model of
    that name is only replaced when asked; its old scores are then forgotten by the caller."""
    path = model_path(result.name)
    if path.exists() and not replace:
        raise TasteError(f"a model named {result.name!r} exists already ({path}); choose another name or replace it")
    save_head(result.head, path, result.card)
    card_file = path.with_suffix(".json")
    tmp = card_file.with_name(card_file.name + ".tmp")
    tmp.write_text(json.dumps(result.card, indent=2), encoding="utf-8")
    os.replace(tmp, card_file)
    result.path = path
    return path
