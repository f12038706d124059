"""Crop geometry, without torch: the aspect presets, the candidate boxes a search scores, the rules that keep
faces whole, what a search returns, and whole-pixel rounding. The window, the command line and the crop
search (selfie_desk.neural.crop_search, the network side) share these definitions.

Every box is (x0, y0, x1, y1) in pixels of the upright full-resolution photo.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from selfie_desk.core.measures.face import Face
from selfie_desk.core.storage.catalog import CropProposal

Box = tuple[float, float, float, float]


def as_box(values: Sequence[float] | np.ndarray) -> Box:
    """Four numbers (a sequence, an array row) as a Box of Python floats."""
    x0, y0, x1, y1 = (float(v) for v in values)
    return (x0, y0, x1, y1)


# The crop's ratio presets (the CLI's --aspect, the window's Aspect Ratio menu); not the score's aspects
# (core/measures/reasons.py ASPECTS: sharpness, noise...).
RATIOS = ("original", "free", "1:1", "4:5", "3:2", "16:9", "9:16")
DEFAULT_ASPECT = "original"
# What "free" tries besides the photo's own ratio: the presets and their turned-round versions.
FREE_RATIOS = (1.0, 4 / 5, 5 / 4, 2 / 3, 3 / 2, 3 / 4, 4 / 3, 16 / 9, 9 / 16)
# Stored with each proposal in the catalog: a proposal made by another version is made again when asked for.
# Change it whenever the search would propose differently for the same photo.
SEARCH_VERSION = "2026-12-07 composition head (crop_head.pt), keep-whole margin 0.01"
# The whole frame is always a candidate: a crop is proposed only when its ranking logit beats the uncropped
# photo's by this much (the score head's logit units: with COMPOSITION_WEIGHT 0.5, a composition gain of 0.02,
# i.e. a frame 0.02 closer in expected IoU to the crop people would draw). Chosen on the validation portraits
# (well framed as shot): the smallest margin that keeps >= 95 % of them whole (97 % here; 12 % with no margin),
# at a cost of 0.002 in mean IoU on FCDB's validation photos (docs/cropping.md).
KEEP_MARGIN = 0.01

MIN_SCALE = 0.35  # smallest crop, as a share of the largest crop of its ratio (keeps ~12 % of the pixels)
COARSE_SCALES = 8
COARSE_STEPS = 8  # positions per axis at each scale, where the crop can move along that axis
# Crops built around the faces, per ratio: up to scales x steps^2 of them, all keeping every face, so
# that a photo with faces still gets 500+ candidates after those that would cut a face are dropped.
FACE_SCALES = 8
FACE_STEPS = 8
MIN_CANDIDATES = 500  # per ratio: the fine stage searches around more winners until there are this many
FINE_SCALES = (0.93, 1.0, 1.07)
FINE_STEPS = 5  # positions per axis, spanning one coarse step
ALTERNATIVE_IOU = 0.5  # alternatives overlap the best and each other by less than this...
# ...when the photo has such crops. A face filling most of the frame leaves only crops that keep it, and
# those all overlap by more (a 4:5 portrait: none of 24 real portraits had a single alternative at 0.5);
# then the alternatives are the most different crops there are, overlapping by less than each step in turn.
ALTERNATIVE_IOU_STEPS = (ALTERNATIVE_IOU, 0.6, 0.7, 0.75)

# A face counts as kept when this margin around its box (shares of its width/height: left, top, right,
# bottom) is inside the crop too, so hair and chin are not shaved off; clipped to the photo.
FACE_MARGIN = (0.15, 0.30, 0.15, 0.10)


# ---- aspect ratios -------------------------------------------------------------------------------------


def parse_aspect(aspect: str) -> float | None:
    """A preset as a width/height ratio: None for "original" and "free"; ValueError for anything else."""
    if aspect in ("original", "free"):
        return None
    if aspect not in RATIOS:
        raise ValueError(f"aspect must be one of {', '.join(RATIOS)}, not {aspect!r}")
    w, h = aspect.split(":")
    return int(w) / int(h)


def aspect_ratio(aspect: str, width: float, height: float) -> float | None:
    """Width / height a crop of this preset must keep on a photo of this size; None for "free"."""
    if aspect == "free":
        return None
    fixed = parse_aspect(aspect)
    if fixed is not None:
        return fixed
    return width / height if width and height else None


def ratios_for(aspect: str, width: int, height: int) -> list[float]:
    """The width/height ratios a search tries for `aspect` on a photo of this size."""
    fixed = parse_aspect(aspect)
    if fixed is not None:
        return [fixed]
    own = width / height
    if aspect == "original":
        return [own]
    out = [own]
    for r in FREE_RATIOS:
        if all(abs(math.log(r / o)) > 0.01 for o in out):
            out.append(r)
    return out


def max_crop(width: float, height: float, ratio: float) -> tuple[float, float]:
    """The largest crop of `ratio` that fits the photo."""
    w = min(float(width), height * ratio)
    return w, w / ratio


# ---- candidates: plain functions on numpy arrays (N x 4) ---------------------------------------------


def _positions(room: float, steps: int) -> np.ndarray:
    return np.linspace(0.0, room, steps) if room > 1e-6 else np.zeros(1)


def coarse_candidates(
    width: int, height: int, ratio: float, *, scales: int = COARSE_SCALES, steps: int = COARSE_STEPS,
    min_scale: float = MIN_SCALE,
) -> np.ndarray:
    """A grid over the whole photo: `scales` sizes from `min_scale` to the largest crop, each at
    `steps` x `steps` evenly spaced positions (fewer along an axis the crop already fills)."""
    wmax, hmax = max_crop(width, height, ratio)
    out = []
    for s in np.geomspace(min_scale, 1.0, scales):
        w, h = wmax * s, hmax * s
        xs, ys = _positions(width - w, steps), _positions(height - h, steps)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        x0, y0 = gx.ravel(), gy.ravel()
        out.append(np.stack([x0, y0, x0 + w, y0 + h], axis=1))
    return dedupe(np.concatenate(out))


def coarse_step(width: int, height: int, box: np.ndarray, steps: int = COARSE_STEPS) -> tuple[float, float]:
    """The coarse grid's spacing for a crop of this box's size: how far the fine search looks around it."""
    w, h = box[2] - box[0], box[3] - box[1]
    return max(0.0, width - w) / (steps - 1), max(0.0, height - h) / (steps - 1)


def fine_candidates(
    box: np.ndarray, width: int, height: int, ratio: float, *, scales: Sequence[float] = FINE_SCALES,
    steps: int = FINE_STEPS,
) -> np.ndarray:
    """Around one box: slightly smaller and larger crops, shifted across one coarse step, kept inside."""
    wmax, hmax = max_crop(width, height, ratio)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    sx, sy = coarse_step(width, height, box)
    out = []
    for k in scales:
        w = float(np.clip((box[2] - box[0]) * k, wmax * MIN_SCALE, wmax))
        h = w / ratio
        dx = np.linspace(-sx / 2, sx / 2, steps) if sx > 0 else np.zeros(1)
        dy = np.linspace(-sy / 2, sy / 2, steps) if sy > 0 else np.zeros(1)
        gx, gy = np.meshgrid(cx + dx, cy + dy, indexing="ij")
        x0, y0 = gx.ravel() - w / 2, gy.ravel() - h / 2
        out.append(np.stack([x0, y0, x0 + w, y0 + h], axis=1))
    return dedupe(inside(np.concatenate(out), width, height))


def face_candidates(
    keep: Box, width: int, height: int, ratio: float, *, scales: int = FACE_SCALES, steps: int = FACE_STEPS,
) -> np.ndarray:
    """Crops of `ratio` that contain the box `keep` (e.g. all faces with their margins), from the
    tightest to the largest, at positions spread over where they can go. Empty when none fits."""
    wmax, hmax = max_crop(width, height, ratio)
    kx0, ky0, kx1, ky1 = keep
    wmin = max(kx1 - kx0, (ky1 - ky0) * ratio, wmax * MIN_SCALE)
    if wmin > wmax + 1e-6:
        return np.zeros((0, 4))
    out = []
    for w in np.geomspace(wmin, wmax, scales) if wmax > wmin else [wmax]:
        h = w / ratio
        lo_x, hi_x = max(0.0, kx1 - w), min(kx0, width - w)
        lo_y, hi_y = max(0.0, ky1 - h), min(ky0, height - h)
        if hi_x < lo_x - 1e-6 or hi_y < lo_y - 1e-6:
            continue
        xs = np.linspace(lo_x, max(lo_x, hi_x), steps) if hi_x - lo_x > 1e-6 else np.array([lo_x])
        ys = np.linspace(lo_y, max(lo_y, hi_y), steps) if hi_y - lo_y > 1e-6 else np.array([lo_y])
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        x0, y0 = gx.ravel(), gy.ravel()
        out.append(np.stack([x0, y0, x0 + w, y0 + h], axis=1))
    return dedupe(np.concatenate(out)) if out else np.zeros((0, 4))


def candidate_boxes(width: int, height: int, aspect: str, faces: Sequence[Box] = ()) -> np.ndarray:
    """The crop search's coarse stage for `aspect`, each row x0, y0, x1, y1, ratio: per ratio the grid, plus
    crops around all the faces (or, when no crop of a ratio holds them all with their margins, around the bare
    face boxes, and failing that around each face)."""
    margins = [face_margin_box(f, width, height) for f in faces]
    rows = []
    for ratio in ratios_for(aspect, width, height):
        parts = [coarse_candidates(width, height, ratio)]
        if margins:
            around_all = face_candidates(union_box(margins), width, height, ratio)
            if not len(around_all):  # too big with the margins: around the faces themselves
                around_all = face_candidates(union_box(list(faces)), width, height, ratio)
            parts += [around_all] if len(around_all) else [
                face_candidates(m, width, height, ratio, scales=4, steps=4) for m in margins]
        boxes = dedupe(np.concatenate(parts))
        rows.append(np.concatenate([boxes, np.full((len(boxes), 1), ratio)], axis=1))
    return np.concatenate(rows)


def refined_candidates(coarse: np.ndarray, scores: np.ndarray, rule: FaceRule, width: int, height: int,
                       fine_seeds: int) -> np.ndarray:
    """The fine stage's boxes (rows x0, y0, x1, y1, ratio): around each ratio's best distinct coarse boxes,
    `fine_seeds` of them (one per ratio in a free search), and more until the ratio has MIN_CANDIDATES
    (if it cannot reach it, all its coarse boxes have been searched around)."""
    ratios = np.unique(coarse[:, 4])
    least = fine_seeds if len(ratios) == 1 else 1
    out = []
    for ratio in ratios:
        mine = np.flatnonzero(coarse[:, 4] == ratio)
        seen = set(box_keys(coarse[mine, :4]))
        order = mine[np.argsort(-scores[mine], kind="stable")]
        for n, i in enumerate(coarse_seeds(coarse[:, :4], order)):
            if n >= least and len(seen) >= MIN_CANDIDATES:
                break
            boxes = fine_candidates(coarse[i, :4], width, height, ratio)
            boxes = boxes[rule.allows(boxes, width, height)]
            keys = box_keys(boxes)
            fresh = [k for k, key in enumerate(keys) if key not in seen]
            seen.update(keys)
            if fresh:
                out.append(np.concatenate([boxes[fresh], np.full((len(fresh), 1), ratio)], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 5))


def inside(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boxes shifted (never resized) to lie within the photo; none is larger than the photo."""
    boxes = boxes.copy()
    for lo, hi, limit in ((0, 2, width), (1, 3, height)):
        size = boxes[:, hi] - boxes[:, lo]
        boxes[:, lo] = np.clip(boxes[:, lo], 0.0, np.maximum(0.0, limit - size))
        boxes[:, hi] = boxes[:, lo] + size
    return boxes


def box_keys(boxes: np.ndarray) -> list[tuple[int, ...]]:
    """One key per box, equal for boxes equal to within a tenth of a pixel."""
    return [tuple(r) for r in np.round(np.asarray(boxes, np.float64)[:, :4] * 10).astype(np.int64).tolist()]


def dedupe(boxes: np.ndarray) -> np.ndarray:
    """Drop boxes equal to within a tenth of a pixel, keeping the first of each."""
    if len(boxes) == 0:
        return boxes
    _, first = np.unique(np.round(boxes * 10).astype(np.int64), axis=0, return_index=True)
    return boxes[np.sort(first)]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` (N x 4) with every box in `b` (M x 4): N x M."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    overlap: np.ndarray = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
    return overlap


def coarse_seeds(boxes: np.ndarray, order: np.ndarray) -> list[int]:
    """`order`'s distinct boxes (as `distinct` takes them), then the rest in order."""
    taken = distinct(boxes, order, len(order))
    chosen = set(taken)
    return taken + [int(i) for i in order if int(i) not in chosen]


def distinct(boxes: np.ndarray, order: Sequence[int] | np.ndarray, limit: int,
             steps: Sequence[float] = (ALTERNATIVE_IOU,)) -> list[int]:
    """Greedy non-maximum suppression: indices from `order` (best first), each overlapping every one
    taken before it by less than `steps[0]`, at most `limit` of them; while fewer, the same again with
    each looser overlap in `steps` (the most different crops first, never one above the last step)."""
    order = np.asarray(order, dtype=np.int64)
    ordered = np.asarray(boxes, np.float64)[order]
    worst = np.zeros(len(order))  # each candidate's highest overlap with any box taken
    free = np.ones(len(order), bool)
    taken: list[int] = []
    for max_iou in steps:
        while len(taken) < limit:
            fits = np.flatnonzero(free & (worst < max_iou))
            if not len(fits):
                break
            k = int(fits[0])
            taken.append(k)
            free[k] = False
            worst = np.maximum(worst, iou(ordered, ordered[k : k + 1])[:, 0])
    return [int(order[k]) for k in taken]


# ---- faces ----------------------------------------------------------------------------------------------


def face_margin_box(face: Box, width: int, height: int) -> Box:
    """The face box grown by FACE_MARGIN, clipped to the photo: what a crop must contain to keep it."""
    x0, y0, x1, y1 = face
    fw, fh = x1 - x0, y1 - y0
    left, top, right, bottom = FACE_MARGIN
    return (max(0.0, x0 - left * fw), max(0.0, y0 - top * fh),
            min(float(width), x1 + right * fw), min(float(height), y1 + bottom * fh))


def face_relations(
    boxes: np.ndarray, faces: Sequence[Box], width: int, height: int, margin: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, clear), each N x F: kept when the face (and its margin, with `margin`) is inside the crop,
    clear when the face box lies wholly outside it, a pixel apart (rounding to whole pixels must not make
    it touch)."""
    n = len(boxes)
    if not faces:
        return np.zeros((n, 0), bool), np.zeros((n, 0), bool)
    raw = np.asarray(faces, np.float64)
    padded = np.asarray([face_margin_box(f, width, height) for f in faces], np.float64) if margin else raw
    b = boxes[:, None, :]
    kept = (b[..., 0] <= padded[:, 0]) & (b[..., 1] <= padded[:, 1]) & (b[..., 2] >= padded[:, 2]) & (
        b[..., 3] >= padded[:, 3]
    )
    clear = (b[..., 2] <= raw[:, 0] - 1) | (b[..., 0] >= raw[:, 2] + 1) | (b[..., 3] <= raw[:, 1] - 1) | (
        b[..., 1] >= raw[:, 3] + 1
    )
    return kept, clear


def _cut_share(boxes: np.ndarray, faces: Sequence[Box]) -> np.ndarray:
    """How much of the faces a crop cuts away: per face it touches, the share left outside, summed.

    A crop that only grazes a face cuts nearly all of it; the least-cut crop of a face too big for the
    preset is the one that holds most of it (not a small crop in its corner)."""
    raw = np.asarray(faces, np.float64)
    b = boxes[:, None, :]
    iw = np.clip(np.minimum(b[..., 2], raw[:, 2]) - np.maximum(b[..., 0], raw[:, 0]), 0, None)
    ih = np.clip(np.minimum(b[..., 3], raw[:, 3]) - np.maximum(b[..., 1], raw[:, 1]), 0, None)
    share = iw * ih / np.maximum((raw[:, 2] - raw[:, 0]) * (raw[:, 3] - raw[:, 1]), 1e-9)
    cut: np.ndarray = np.where(share > 1e-9, 1 - share, 0.0).sum(axis=1)
    return cut


@dataclass(frozen=True)
class FaceRule:
    """Which crops the search may choose, settled on the coarse candidates and applied to the fine ones.

    "all faces": every face kept (whenever at least one candidate does), with its margin of hair and chin
    when the preset allows, else just the face box (a close-up portrait in 1:1);
    "some faces": no face cut, as many kept as any candidate manages (the preset cannot hold them all);
    "no faces": no face cut and none kept (no crop of the preset holds even one);
    "faces cut": every crop of the preset cuts a face; the least cut ones (a last resort, reported);
    "no faces detected": anything goes.
    """

    name: str
    faces: tuple[Box, ...] = ()
    keep: int = 0  # faces a crop must keep
    max_cut: float = 0.0  # for "faces cut" only
    margin: bool = True  # whether a kept face must keep its FACE_MARGIN too

    def allows(self, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        if not self.faces:
            return np.ones(len(boxes), bool)
        if self.name == "faces cut":
            return _cut_share(boxes, self.faces) <= self.max_cut
        kept, clear = face_relations(boxes, self.faces, width, height, self.margin)
        allowed: np.ndarray = (kept | clear).all(axis=1) & (kept.sum(axis=1) >= self.keep)
        return allowed


def face_rule(boxes: np.ndarray, faces: Sequence[Box], width: int, height: int) -> FaceRule:
    """The strictest rule (see FaceRule) that some of `boxes` satisfy."""
    faces = tuple(as_box(f) for f in faces)
    if not faces:
        return FaceRule("no faces detected")
    # Keeping a face without its margin beats leaving it out (a close-up portrait in 1:1 would otherwise
    # become a crop of the hair above the face), so each level is tried with margins, then without.
    relations = {m: face_relations(boxes, faces, width, height, margin=m) for m in (True, False)}
    for margin in (True, False):
        if (relations[margin][0].sum(axis=1) == len(faces)).any():
            return FaceRule("all faces", faces, keep=len(faces), margin=margin)
    for margin in (True, False):
        kept, clear = relations[margin]
        safe = (kept | clear).all(axis=1)
        best = int(kept.sum(axis=1)[safe].max()) if safe.any() else 0
        if best:
            return FaceRule("some faces", faces, keep=best, margin=margin)
    kept, clear = relations[False]
    if (kept | clear).all(axis=1).any():
        return FaceRule("no faces", faces, keep=0, margin=False)
    return FaceRule("faces cut", faces, max_cut=float(_cut_share(boxes, faces).min()) + 0.05)


def cuts_a_face(box: Box, faces: Sequence[Box]) -> bool:
    """True when a face box is neither wholly inside nor wholly outside `box` (the user-facing promise)."""
    x0, y0, x1, y1 = box
    for fx0, fy0, fx1, fy1 in faces:
        whole = x0 <= fx0 and y0 <= fy0 and x1 >= fx1 and y1 >= fy1
        apart = x1 <= fx0 or x0 >= fx1 or y1 <= fy0 or y0 >= fy1
        if not (whole or apart):
            return True
    return False




@dataclass(frozen=True)
class Crop:
    box: Box  # whole pixels of the upright full-resolution photo
    score: float  # on the photo score's scale: exact (one pass on the crop) when verified, else the estimate
    estimate: float  # the score from the shared features the search ranked it by
    composition: float = 0.0  # the composition head's score above the whole frame's (> 0: framed better)
    gain: float = 0.0  # the ranking's logit above the whole frame's: a crop is proposed when >= KEEP_MARGIN


@dataclass(frozen=True)
class CropResult:
    """The best crop of one photo, distinct alternatives, and what the search saw."""

    width: int
    height: int
    aspect: str
    best: Crop
    alternatives: list[Crop]
    whole_score: float  # the uncropped photo: the same score the scoring pass gives it
    faces: list[Face]  # in full-resolution pixels
    face_rule: str  # see FaceRule
    candidates: int  # boxes scored from the shared features
    verified: bool  # scores are the convnet's own on each crop (not pooled estimates)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    keep_whole: bool = False  # no crop beats the whole frame by KEEP_MARGIN: `best` is the whole frame

    def proposal(self) -> CropProposal:
        """This result as the catalog stores it."""
        return CropProposal(
            aspect=self.aspect,
            crop=as_box(self.best.box),
            score=float(self.best.score),
            alternatives=[(as_box(a.box), float(a.score)) for a in self.alternatives],
            whole_score=float(self.whole_score),
            proposed_at=time.time(),
            search=SEARCH_VERSION,
        )

    def to_json(self, path: str) -> dict[str, Any]:
        """One line of `selfie-desk crop --json`."""
        return {
            "path": path,
            "width": self.width,
            "height": self.height,
            "aspect": self.aspect,
            "crop": [int(v) for v in self.best.box],
            "score": round(self.best.score, 6),
            "alternatives": [{"crop": [int(v) for v in a.box], "score": round(a.score, 6),
                              "composition": round(a.composition, 4)} for a in self.alternatives],
            "error": None,
            "keep_whole": self.keep_whole,
            "whole_score": round(self.whole_score, 6),
            "composition": round(self.best.composition, 4),
        }


@dataclass(frozen=True)
class Prepared:
    """A photo reduced for the crop search, with its faces."""

    image: Image.Image  # upright RGB: the scoring pass's view (long edge about look.VIEW_EDGE)
    width: int  # upright full resolution
    height: int
    faces: list[Face]  # full-resolution pixels
    looks: np.ndarray | None = None  # view + detail statistics (the photo's, whatever the crop)



def whole_allowed(aspect: str, width: int, height: int) -> bool:
    """Whether the whole frame has the aspect preset's ratio (always for "original" and "free")."""
    ratio = parse_aspect(aspect)
    return ratio is None or abs(ratio - width / height) <= 0.01 * ratio


def union_box(boxes: Sequence[Box]) -> Box:
    a = np.asarray(boxes, np.float64)
    return (a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max())


def whole_pixels(box: Box | np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Round outward to whole pixels, within the photo, as the catalog stores a crop: a face inside stays
    inside (a box edited by hand included)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return (max(0, math.floor(x0 + 1e-6)), max(0, math.floor(y0 + 1e-6)),
            min(int(width), math.ceil(x1 - 1e-6)), min(int(height), math.ceil(y1 - 1e-6)))


def whole_pixels_all(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """`whole_pixels` for every row of an N x 4 array."""
    out = np.empty((len(boxes), 4), np.float64)
    out[:, :2] = np.maximum(0, np.floor(boxes[:, :2] + 1e-6))
    out[:, 2] = np.minimum(width, np.ceil(boxes[:, 2] - 1e-6))
    out[:, 3] = np.minimum(height, np.ceil(boxes[:, 3] - 1e-6))
    return out

