"""The crop search: many candidate crops of one photo, scored by the convnet, the best few returned.

Candidates span scale, translation and aspect ratio: a coarse grid over the whole photo (plus crops built
around the faces), then a finer grid around the best. All of them are scored from shared features: the
reduced photo squashed to three squares (a small pyramid, one backbone pass each), and each box's mean of
the feature map of the level where it is about 224 px (`model.pool_boxes`) fed to the score head, which
was trained on mean-pooled features of photos squashed to 224: a pooled box is the analogue of that crop.

Pooled boxes only approximate what the net says when it sees a crop on its own (the crop's own frame
edges, and the zoom, are missing; docs/cropping.md gives the measured agreement), so the few finalists,
already made distinct by overlap suppression, are scored again exactly, one pass each on the crop itself.
Their scores are then on the same scale as the photo's own score. Faces are never cut by a crop.

Every box is (x0, y0, x1, y1) in pixels of the upright full-resolution photo.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from selfie_desk.core import decoding, look
from selfie_desk.core.crop_geometry import (
    ALTERNATIVE_IOU_STEPS,
    DEFAULT_ASPECT,
    KEEP_MARGIN,
    MIN_CANDIDATES,
    Crop,
    CropResult,
    FaceRule,
    Prepared,
    as_box,
    box_key,
    coarse_candidates,
    coarse_seeds,
    dedupe,
    distinct,
    face_candidates,
    face_margin_box,
    face_rule,
    fine_candidates,
    iou,
    ratios_for,
    union_box,
    whole_allowed,
    whole_pixels_all,
)
from selfie_desk.core.embedding import EMBEDDING_DIM, INPUT_SIZE, face_input, model_input
from selfie_desk.core.face import Face
from selfie_desk.neural.pipeline import FACE_EDGE, Scorer, _cpu_share

# The search decodes and looks at a photo as the scoring pass does (look.DETAIL_EDGE, then the ~500-px view);
# the pyramid's levels and the exact scoring of the finalists are made from that view.
# The shared pass is a small pyramid: the photo squashed to a square so that a box of this share of the
# photo (square root of its area share) becomes 224 x 224, as the exact scorer sees a crop; each box is
# pooled from the level nearest its size. Three levels (498, 320 and 224 px squares): median agreement
# with per-crop scores 0.50 vs 0.28 for one 448-px map, better best crops (docs/cropping.md).
PYRAMID = (0.5, 1.0)
STRIDE = 32  # MobileNetV2's feature map
POOL_CHUNK = 2048  # boxes pooled at once: bounds memory at ~POOL_CHUNK x (1280 + cells) floats
FINE_SEEDS = 3  # distinct coarse winners searched around
# Finalists scored exactly (one pass each) before the best is chosen; 0: the pooled estimates decide. Was 6.
# Measured on found-again composites of the score head's TRAINING portraits (100 composites, a validation set;
# tools/crop_validation.py): the pooled ranking finds the placed photo in 78 % of them, the exact scores of 6
# finalists in 66 % (the same margin): one pass per crop is the noisier judge of a crop's framing, and it costs
# six network passes. `verify` stays an option of CropSearch (crop_eval compares both).
VERIFY = 0
EXACT_FINALISTS = 6  # what `verify` was: crop_eval's comparison row


@dataclass(frozen=True)
class FeaturePyramid:
    """Feature maps of one photo squashed to squares: (share, side, 1 x C x h x w map) per level, where a box
    covering `share` of the photo (square root of its area share) is 224 x 224 px on that level's square."""

    levels: list[tuple[float, int, Any]]  # the maps as the scorer made them: numpy, or torch tensors
    quality: float = 0.0  # the photo's quality logit (score head), the same for every box
    whole: float | None = None  # the photo's own score, when its looks were given

    def pool(self, boxes: np.ndarray, width: int, height: int) -> Any:
        """Each box's (full-resolution pixels) mean features, from the level nearest its size: N x C, in the
        maps' kind (numpy, or torch on the maps' device)."""
        unit = np.asarray(boxes, np.float64).reshape(-1, 4) / [width, height, width, height]
        share = np.sqrt(np.clip((unit[:, 2] - unit[:, 0]) * (unit[:, 3] - unit[:, 1]), 1e-9, None))
        shares = np.array([lv[0] for lv in self.levels])
        nearest = np.abs(np.log(share)[:, None] - np.log(shares)[None, :]).argmin(axis=1)
        if isinstance(self.levels[0][2], np.ndarray):
            out = np.zeros((len(unit), self.levels[0][2].shape[1]), np.float32)
            for k, (_, side, fmap) in enumerate(self.levels):
                rows = np.flatnonzero(nearest == k)
                if len(rows):  # cell j covers pixels [32 j, 32 (j + 1)) of the square
                    out[rows] = pool_boxes(fmap, unit[rows] * side / STRIDE)
            return out
        import torch  # the torch scorer's maps (its GPU's, maybe)

        from selfie_desk.neural.model import pool_boxes as pool_boxes_torch

        channels = self.levels[0][2].shape[1]
        pooled = torch.zeros(len(unit), channels, device=self.levels[0][2].device)
        for k, (_, side, fmap) in enumerate(self.levels):
            rows = np.flatnonzero(nearest == k)
            if len(rows):
                cells = torch.as_tensor(unit[rows] * side / STRIDE, dtype=torch.float32)
                pooled[torch.as_tensor(rows, device=pooled.device)] = pool_boxes_torch(fmap, cells)
        return pooled


def pool_boxes(feature_map: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """`model.pool_boxes` in numpy: the mean of a 1 x C x h x w feature map over each box (N x 4 in cells), each
    cell holding its value uniformly, all boxes as one matrix product."""
    _, c, h, w = feature_map.shape
    b = np.asarray(boxes, np.float32)
    cols = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)
    wx = np.clip(np.minimum(b[:, 2:3], cols + 1) - np.maximum(b[:, 0:1], cols), 0, 1)
    wy = np.clip(np.minimum(b[:, 3:4], rows + 1) - np.maximum(b[:, 1:2], rows), 0, 1)
    weights = (wy[:, :, None] * wx[:, None, :]).reshape(len(b), h * w)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-6)
    return weights @ feature_map[0].reshape(c, h * w).T


class CropSearch:
    """Finds the crops the convnet likes best. Runs on the scorer's device and thread."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        verify: int = VERIFY,
        fine_seeds: int = FINE_SEEDS,
        pyramid: Sequence[float] = PYRAMID,
    ) -> None:
        self.scorer = scorer
        self.pyramid = tuple(pyramid)
        self.verify = verify
        self.fine_seeds = fine_seeds

    # ---- inputs ---------------------------------------------------------------------------------------
    def prepare(self, path: Path, timings: dict[str, float] | None = None, pair: str | Path | None = None
                ) -> Prepared:
        """Decode and look at the photo exactly as the scoring pass does (so that the whole photo gets the
        same score here as in the grid), and find the faces on that same view; a raw that cannot be read from
        its RAW+JPEG `pair`, as the pass does. Raises PhotoError."""
        t0 = time.perf_counter()
        decoded = decoding.decode(Path(path), look.DETAIL_EDGE, pair=pair)
        if timings is not None:
            timings["decode"] = time.perf_counter() - t0
        return self.prepare_image(decoded.image, decoded.width, decoded.height, timings=timings)

    def prepare_image(self, image: Image.Image, width: int | None = None, height: int | None = None,
                      faces: Sequence[Face] | None = None, timings: dict[str, float] | None = None) -> Prepared:
        """`prepare` for a photo already decoded (at the scoring pass's detail size, or smaller), whose
        upright full resolution is width x height (default: the image's). `faces` (full-resolution pixels)
        skips the detector."""
        width = width or image.width
        height = height or image.height
        lk = look.Look(image.convert("RGB"))
        t1 = time.perf_counter()
        if faces is None:
            faces = self.detect_faces(lk.held_view(), width, height)
        looks = lk.values([f.box for f in faces], (width, height))
        if timings is not None:
            timings["faces"] = time.perf_counter() - t1
        return Prepared(lk.held_view(), width, height, list(faces), looks)

    def detect_faces(self, image: Image.Image, width: int, height: int) -> list[Face]:
        """Faces in full-resolution pixels, found on a FACE_EDGE copy as the scoring pass does."""
        small = face_input(image, FACE_EDGE)
        found = self.scorer.find_faces(np.ascontiguousarray(small)[None], [(small.shape[1], small.shape[0])])[0]
        return [f.scaled(width / small.shape[1], height / small.shape[0]) for f in found]

    # ---- scoring --------------------------------------------------------------------------------------
    def features(self, image: Image.Image, looks: np.ndarray | None = None) -> FeaturePyramid:
        """The backbone's feature maps of the reduced photo, one per pyramid level (one pass each). The
        224-px level is the scoring pass's model input: its stage statistics and `looks` give the photo's
        quality logit and its own score, the same as in the grid."""
        levels = []
        quality, whole = 0.0, None
        with self.scorer.inference():
            for share in self.pyramid:
                side = max(32, round(INPUT_SIZE / share))
                square = image.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
                fmap, network = self.scorer.feature_maps(np.asarray(square))
                if side == INPUT_SIZE and looks is not None:
                    full = self.scorer.complete(network, [looks])
                    quality = float(self.scorer.head.quality_logit(full)[0])
                    whole = float(self.scorer.head.probability(full)[0])
                levels.append((share, side, fmap))
        return FeaturePyramid(levels, quality, whole)

    def pooled_scores(self, pyramid: FeaturePyramid, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """Score every box (full-resolution pixels) from the shared features: the mean of its level's map over
        the box, then the score head's content part, plus the photo's quality part."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        out = []
        with self.scorer.inference():
            for start in range(0, len(boxes), POOL_CHUNK):
                pooled = pyramid.pool(boxes[start : start + POOL_CHUNK], width, height)
                out.append(self.scorer.arrays(self.scorer.head.probability_of_boxes(pooled, pyramid.quality)))
        return np.concatenate(out)

    def crop_scores(self, image: Image.Image, boxes: np.ndarray, width: int, height: int,
                    batch: int = 32, quality: float = 0.0) -> np.ndarray:
        """Score every box the slow, exact way: crop the reduced photo, squash to 224, one pass each (the
        content part; `quality` is the photo's quality logit)."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        sx, sy = image.width / width, image.height / height
        out = []
        with self.scorer.inference():
            for start in range(0, len(boxes), batch):
                inputs = []
                for x0, y0, x1, y1 in boxes[start : start + batch]:
                    region = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
                    region = (region[0], region[1], max(region[2], region[0] + 1), max(region[3], region[1] + 1))
                    inputs.append(model_input(image.crop(region)))
                pooled = self.scorer.embed(np.stack(inputs))[:, :EMBEDDING_DIM]
                out.append(self.scorer.arrays(self.scorer.head.probability_of_boxes(pooled, quality)))
        return np.concatenate(out)

    # ---- the search -----------------------------------------------------------------------------------
    def search_path(self, path: Path, aspect: str = DEFAULT_ASPECT, top: int = 3,
                    pair: str | Path | None = None) -> CropResult:
        """Decode `path` (or its RAW+JPEG `pair`, when the raw cannot be read), find its faces, search. Raises
        PhotoError for a file that is not a readable photo."""
        timings: dict[str, float] = {}
        # torch's spinning OpenMP threads on a busy 2-core CPU: 4.5 s per 12 MP photo with 2, 0.6 s with 1
        with _cpu_share(self.scorer):
            prepared = self.prepare(path, timings, pair)
            return self.search(prepared, aspect, top, timings)

    def candidates(self, width: int, height: int, aspect: str, faces: Sequence[Face] = ()) -> np.ndarray:
        """The coarse stage's boxes for `aspect`, each row x0, y0, x1, y1, ratio: the grid, plus crops
        around all the faces (or, when no crop of a ratio holds them all, around each face)."""
        margins = [face_margin_box(f.box, width, height) for f in faces]
        rows = []
        for ratio in ratios_for(aspect, width, height):
            parts = [coarse_candidates(width, height, ratio)]
            if margins:
                around_all = face_candidates(union_box(margins), width, height, ratio)
                if not len(around_all):  # too big with the margins: around the faces themselves
                    around_all = face_candidates(union_box([f.box for f in faces]), width, height, ratio)
                parts += [around_all] if len(around_all) else [
                    face_candidates(m, width, height, ratio, scales=4, steps=4) for m in margins]
            boxes = dedupe(np.concatenate(parts))
            rows.append(np.concatenate([boxes, np.full((len(boxes), 1), ratio)], axis=1))
        return np.concatenate(rows)

    def refine(self, coarse: np.ndarray, scores: np.ndarray, rule: FaceRule, width: int, height: int) -> np.ndarray:
        """The fine stage's boxes (rows x0, y0, x1, y1, ratio): around each ratio's best distinct coarse boxes,
        `fine_seeds` of them (one per ratio in a free search), and more until the ratio has MIN_CANDIDATES
        (if it cannot reach it, all its coarse boxes have been searched around)."""
        ratios = np.unique(coarse[:, 4])
        least = self.fine_seeds if len(ratios) == 1 else 1
        out = []
        for ratio in ratios:
            mine = np.flatnonzero(coarse[:, 4] == ratio)
            seen = {box_key(b) for b in coarse[mine, :4]}
            order = mine[np.argsort(-scores[mine], kind="stable")]
            for n, i in enumerate(coarse_seeds(coarse[:, :4], order)):
                if n >= least and len(seen) >= MIN_CANDIDATES:
                    break
                boxes = fine_candidates(coarse[i, :4], width, height, ratio)
                boxes = boxes[rule.allows(boxes, width, height)]
                new = [b for b in boxes if box_key(b) not in seen]
                seen.update(box_key(b) for b in new)
                if new:
                    out.append(np.concatenate([np.array(new), np.full((len(new), 1), ratio)], axis=1))
        return np.concatenate(out) if out else np.zeros((0, 5))

    def scored_candidates(
        self, photo: Prepared, aspect: str = DEFAULT_ASPECT, timings: dict[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray, FaceRule, FeaturePyramid]:
        """Every candidate the search considers (rows x0, y0, x1, y1, ratio; coarse then fine), the pooled
        score of each, the face rule they obey, and the shared features."""
        timings = {} if timings is None else timings
        width, height, image = photo.width, photo.height, photo.image
        t = time.perf_counter()
        features = self.features(image, photo.looks)
        timings["features"] = time.perf_counter() - t

        t = time.perf_counter()
        coarse = self.candidates(width, height, aspect, photo.faces)
        rule = face_rule(coarse[:, :4], [f.box for f in photo.faces], width, height)
        coarse = coarse[rule.allows(coarse[:, :4], width, height)]
        coarse_scores = self.pooled_scores(features, coarse[:, :4], width, height)
        fine = self.refine(coarse, coarse_scores, rule, width, height)
        fine_scores = self.pooled_scores(features, fine[:, :4], width, height)
        timings["pooling"] = time.perf_counter() - t
        return np.concatenate([coarse, fine]), np.concatenate([coarse_scores, fine_scores]), rule, features

    def search(self, photo: Prepared, aspect: str = DEFAULT_ASPECT, top: int = 3,
               timings: dict[str, float] | None = None) -> CropResult:
        """The best crop of a prepared photo for `aspect`, and up to `top` distinct alternatives."""
        if top < 0:
            raise ValueError("top must be 0 or more")
        timings = {} if timings is None else timings
        boxes, estimates, rule, features = self.scored_candidates(photo, aspect, timings)
        return self.finish(photo, aspect, top, boxes, estimates, rule, features, timings)

    def finish(self, photo: Prepared, aspect: str, top: int, boxes: np.ndarray, estimates: np.ndarray,
               rule: FaceRule, features: FeaturePyramid, timings: dict[str, float]) -> CropResult:
        """Pick the finalists (distinct by overlap), score them exactly when `verify`, best first.

        The best comes from the finalists that overlap by less than ALTERNATIVE_IOU. When those are fewer
        than the alternatives asked for (a close-up), looser ones (ALTERNATIVE_IOU_STEPS) are offered as
        alternatives only, and only when they score no better than the best: letting near-variants compete
        for best picks up the exact score's noise (on the found-again composites it moved the best crop off
        the pasted portrait: best IoU >= 0.7 in 25 % of them instead of 60 %)."""
        width, height, image = photo.width, photo.height, photo.image
        t = time.perf_counter()
        # overlap is judged on the boxes as returned (whole pixels, rounded outward), not before rounding
        rounded = whole_pixels_all(boxes[:, :4], width, height)
        by_estimate = np.argsort(-estimates, kind="stable")
        finalists = distinct(rounded, by_estimate, max(self.verify, top + 1))
        strict = len(finalists)
        if strict < top + 1:  # the first `strict` of these are `finalists` again (same greedy pass)
            finalists = distinct(rounded, by_estimate, top + 1, ALTERNATIVE_IOU_STEPS)
        final_boxes = rounded[finalists]
        whole_box = np.array([[0, 0, width, height]], np.float64)
        if self.verify > 0:
            exact = self.crop_scores(image, final_boxes, width, height, quality=features.quality)
            final_scores = exact
            best = int(np.argmax(final_scores[:strict]))
            rest = [k for k in range(len(finalists))
                    if k != best and (k < strict or final_scores[k] <= final_scores[best])]
            order = [best, *sorted(rest, key=lambda k: -final_scores[k])]
        else:
            final_scores = estimates[finalists]
            order = list(range(len(finalists)))
        # the uncropped photo: its own score (the scoring pass's, exactly) when its looks are known
        if features.whole is not None:
            whole = features.whole
        else:
            whole = float(self.crop_scores(image, whole_box, width, height, quality=features.quality)[0])
        timings["verify"] = time.perf_counter() - t

        crops = [Crop(as_box(final_boxes[k]), float(final_scores[k]), float(estimates[finalists[k]])) for k in order]
        whole_crop = Crop(as_box(whole_box[0]), whole, whole)
        keep_whole = crops[0].score < whole + KEEP_MARGIN and whole_allowed(aspect, width, height)
        if keep_whole:  # the whole frame is the proposal; the crops searched that differ from it, alternatives
            boxes_of = np.array([c.box for c in crops], np.float64)
            apart = iou(boxes_of, whole_box)[:, 0] < ALTERNATIVE_IOU_STEPS[-1]
            crops = [whole_crop, *[c for c, ok in zip(crops, apart, strict=True) if ok]]
        return CropResult(
            width=width, height=height, aspect=aspect, best=crops[0], alternatives=crops[1 : 1 + top],
            whole_score=whole, faces=list(photo.faces), face_rule=rule.name, candidates=len(boxes) + 1,
            verified=self.verify > 0, timings=timings, keep_whole=keep_whole,
        )
