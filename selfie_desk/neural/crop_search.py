"""The crop search: many candidate crops of one photo, ranked by how people frame a photo and how good it is.

Candidates span scale, translation and aspect ratio: a coarse grid over the whole photo (plus crops built
around the faces), then a finer grid around the best. All of them are scored from shared features, one backbone
pass per pyramid level on the reduced photo squashed to a square:

- **composition** (`composition.CompositionHead`, learned from the crops people drew on FCDB's training photos):
  RoIAlign + RoDAlign of the 448-px level's stride-16 and stride-32 maps per box, one number per box;
- **content** (the score head's content part on each box's mean of the level where it is about 224 px,
  `model.pool_boxes`), and the photo's **quality** part, which a crop does not change.

One ranking: logit(box) = logit(photo) + COMPOSITION_WEIGHT x (composition(box) - composition(whole frame))
+ CONTENT_WEIGHT x (content(box) - content(whole frame)), mapped to [0, 1] as the score head maps a photo's logit;
so the whole frame scores exactly the photo's own score, and a crop scores above it only by framing the photo
better. Ranked by content alone (before issue 26) the search proposed tight details: mean IoU 0.24 with the
people's crops on FCDB's test split against 0.64 for keeping the photo whole (docs/cropping.md has the figures
now). The whole frame is always a candidate: a crop is proposed only when it beats the whole by KEEP_MARGIN.
Faces are never cut by a crop.

Every box is (x0, y0, x1, y1) in pixels of the upright full-resolution photo.

Runtime-free: the networks run in the scorer's runtime (`model.Scorer`, torch, with `composition.CompositionModel`;
`runtime.scorer.RuntimeScorer`, ONNX Runtime, with `runtime.composition.ArrayComposition`: the same function,
tests/test_runtime.py compares the two), and the search itself is numpy. What it asks of a scorer:
`inference`, `feature_maps`, `find_faces`, `embed`, `complete`, `tensor`, `arrays`, `head` (content_logit,
quality_logit, probability, calibrate), `load_composer` and `composition_maps`.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from selfie_desk.core.crop.geometry import (
    ALTERNATIVE_IOU_STEPS,
    DEFAULT_ASPECT,
    KEEP_MARGIN,
    Crop,
    CropResult,
    FaceRule,
    Prepared,
    as_box,
    candidate_boxes,
    distinct,
    face_rule,
    iou,
    refined_candidates,
    whole_allowed,
    whole_pixels_all,
)
from selfie_desk.core.formats import decoding
from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import EMBEDDING_DIM, INPUT_SIZE, face_input, model_input
from selfie_desk.core.measures.face import Face
from selfie_desk.neural.pipeline import FACE_EDGE, Scorer, cpu_share

COMPOSITION_SIDE = 448  # composition.SIDE (torch's module): the composition head's level, the photo squashed to this

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
# The ranking's two parts, in the score head's logit units per unit of each head. The composition head predicts
# each box's expected IoU with the crop people would draw; 0.5 turns a frame 0.1 closer to it into +0.05 of
# logit, about the distance between the median photo's score and the 75th percentile's (a choice of scale, not
# measured: no ratings of photos before and after cropping could be had). The content part of the score head
# adds nothing on FCDB's validation photos (docs/cropping.md) and pulled crops toward detail: 0.
COMPOSITION_WEIGHT = 0.5
CONTENT_WEIGHT = 0.0


@dataclass(frozen=True)
class FeaturePyramid:
    """Feature maps of one photo squashed to squares: (share, side, 1 x C x h x w map) per level, where a box
    covering `share` of the photo (square root of its area share) is 224 x 224 px on that level's square."""

    levels: list[tuple[float, int, Any]]  # the maps as the scorer made them: numpy, or torch tensors
    quality: float = 0.0  # the photo's quality logit (score head), the same for every box
    whole: float | None = None  # the photo's own score, when its looks were given
    composition: Any = None  # the composition head's reduced map (CompositionHead.feature_map), the scorer's kind
    content_whole: float = 0.0  # the score head's content logit of the whole frame (pooled as every box is)
    composition_whole: float = 0.0  # the composition head's score of the whole frame

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
    """Finds the crops that frame a photo best. Runs on the scorer's device and thread."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        verify: int = VERIFY,
        fine_seeds: int = FINE_SEEDS,
        pyramid: Sequence[float] = PYRAMID,
        composer: Any = None,
        composition_weight: float = COMPOSITION_WEIGHT,
        content_weight: float = CONTENT_WEIGHT,
    ) -> None:
        self.scorer = scorer
        self.pyramid = tuple(pyramid)
        self.verify = verify
        self.fine_seeds = fine_seeds
        # the scorer's own runtime's composition head (torch: composition.CompositionModel; the CPU runtime:
        # runtime.composition.ArrayComposition), or the one given (a torch one, for a torch scorer: the tools)
        self.composer = composer.to(scorer.device) if composer is not None else scorer.load_composer()
        self.composition_weight = composition_weight
        self.content_weight = content_weight
        # (a weak reference to the image, its FeaturePyramid): `features`' last photo, reused by crop_scores
        self._last_features: tuple[weakref.ref | None, FeaturePyramid | None] = (None, None)

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
        """The backbone's feature maps of the reduced photo, one per pyramid level (one pass each), and the
        composition head's map from the 448-px level's pass. The 224-px level is the scoring pass's model input:
        its stage statistics and `looks` give the photo's quality logit and its own score, the same as in the
        grid."""
        levels = []
        quality, whole, comp_map = 0.0, None, None
        content_whole = 0.0
        scorer = self.scorer
        with scorer.inference():
            for share in self.pyramid:
                side = max(32, round(INPUT_SIZE / share))
                square = np.asarray(image.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0))
                if side == COMPOSITION_SIDE:
                    # the score head's content is pooled from this level only when the ranking uses it
                    fmap, comp_map = scorer.composition_maps(self.composer, square, last=bool(self.content_weight))
                else:
                    fmap, network = scorer.feature_maps(square)
                if side == INPUT_SIZE:
                    content_whole = float(scorer.arrays(scorer.head.content_logit(network))[0])
                    if looks is not None:
                        full = scorer.complete(network, [looks])
                        quality = float(scorer.arrays(scorer.head.quality_logit(full))[0])
                        whole = float(scorer.arrays(scorer.head.probability(full))[0])
                if fmap is not None:
                    levels.append((share, side, fmap))
            if comp_map is None:  # a pyramid without the head's level (an option of crop_eval): one more pass
                square = np.asarray(image.resize((COMPOSITION_SIDE,) * 2, Image.Resampling.BILINEAR, reducing_gap=2.0))
                _, comp_map = scorer.composition_maps(self.composer, square, last=False)
        pyramid = FeaturePyramid(levels, quality, whole, comp_map, content_whole)
        comp_whole = float(self._composition(pyramid, np.array([[0.0, 0.0, 1.0, 1.0]]), 1, 1, image.size)[0])
        pyramid = dataclasses.replace(pyramid, composition_whole=comp_whole)
        self._last_features = (weakref.ref(image), pyramid)
        return pyramid

    def _scores(self, pyramid: FeaturePyramid, content: np.ndarray, comp: np.ndarray) -> np.ndarray:
        """The ranking's logit (the photo's own, plus each head's gain over the whole frame, weighted), mapped to
        [0, 1] by the score head's calibration."""
        base = pyramid.quality + pyramid.content_whole
        gain = (self.composition_weight * (comp - pyramid.composition_whole)
                + self.content_weight * (content - pyramid.content_whole))
        logits = np.asarray(base + gain, np.float32)
        return self.scorer.arrays(self.scorer.head.calibrate(self.scorer.tensor(logits)))

    def _content(self, pooled: Any) -> np.ndarray:
        return self.scorer.arrays(self.scorer.head.content_logit(pooled)).astype(np.float64)

    def pooled_scores(self, pyramid: FeaturePyramid, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """Score every box (full-resolution pixels) from the shared features: the composition head on the
        448-px level's maps, the score head's content part on the box's mean of its level, and the photo's
        quality part, on the photo score's scale (the whole frame scores the photo's own score)."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        out = []
        with self.scorer.inference():
            for start in range(0, len(boxes), POOL_CHUNK):
                chunk = boxes[start : start + POOL_CHUNK]
                if self.content_weight:
                    content = self._content(pyramid.pool(chunk, width, height))
                else:
                    content = np.full(len(chunk), pyramid.content_whole)
                comp = self._composition(pyramid, chunk, width, height, (width, height))
                out.append(self._scores(pyramid, content, comp))
        return np.concatenate(out)

    def _composition(self, pyramid: FeaturePyramid, boxes: np.ndarray, width: int, height: int,
                     photo_size: tuple[int, int]) -> np.ndarray:
        """The composition head's score of each box (pixels of a width x height frame) of a photo of this size."""
        assert pyramid.composition is not None
        unit = (np.asarray(boxes, np.float64)[:, :4] / [width, height, width, height]).astype(np.float32)
        with self.scorer.inference():
            return self.composer.scores(pyramid.composition, unit, photo_size[0] / photo_size[1])

    def gains(self, pyramid: FeaturePyramid, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """Each box's ranking logit above the whole frame's (what KEEP_MARGIN is measured in)."""
        gain = self.composition_weight * self.composition_gain(pyramid, boxes, width, height)
        if self.content_weight:
            with self.scorer.inference():
                content = self._content(pyramid.pool(boxes[:, :4], width, height))
            gain = gain + self.content_weight * (content - pyramid.content_whole)
        return gain

    def composition_gain(self, pyramid: FeaturePyramid, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """How much better each box frames the photo than the whole frame, in the composition head's units
        (> 0: better framed)."""
        comp = self._composition(pyramid, boxes, width, height, (width, height))
        return comp - pyramid.composition_whole

    def crop_scores(self, image: Image.Image, boxes: np.ndarray, width: int, height: int,
                    batch: int = 32, quality: float = 0.0) -> np.ndarray:
        """Score every box the slow, exact way (a crop adjusted by hand, `verify`): the content part from one
        pass each on the crop of the reduced photo squashed to 224, the composition part from the photo's
        shared maps (one pyramid per photo, kept for the next call on the same image), `quality` the photo's
        quality logit; the same ranking as `pooled_scores`, on the same scale."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        pyramid = self._pyramid_of(image)
        boxes = np.asarray(boxes, np.float64)[:, :4]
        comp = self._composition(pyramid, boxes, width, height, (width, height))
        content = np.full(len(boxes), pyramid.content_whole)
        if self.content_weight:
            sx, sy = image.width / width, image.height / height
            parts = []
            for start in range(0, len(boxes), batch):
                inputs = []
                for x0, y0, x1, y1 in boxes[start : start + batch]:
                    region = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
                    region = (region[0], region[1], max(region[2], region[0] + 1), max(region[3], region[1] + 1))
                    inputs.append(model_input(image.crop(region)))
                with self.scorer.inference():
                    parts.append(self._content(self.scorer.embed(np.stack(inputs))[:, :EMBEDDING_DIM]))
            content = np.concatenate(parts)
        shifted = dataclasses.replace(pyramid, quality=quality)
        with self.scorer.inference():
            return self._scores(shifted, content, comp)

    def _pyramid_of(self, image: Image.Image) -> FeaturePyramid:
        """The shared features of this image: `features`' last result when it was this image, else anew."""
        ref, pyramid = self._last_features
        if ref is None or ref() is not image or pyramid is None:
            return self.features(image)
        return pyramid

    # ---- the search -----------------------------------------------------------------------------------
    def search_path(self, path: Path, aspect: str = DEFAULT_ASPECT, top: int = 3,
                    pair: str | Path | None = None) -> CropResult:
        """Decode `path` (or its RAW+JPEG `pair`, when the raw cannot be read), find its faces, search. Raises
        PhotoError for a file that is not a readable photo."""
        timings: dict[str, float] = {}
        # torch's spinning OpenMP threads on a busy 2-core CPU: 4.5 s per 12 MP photo with 2, 0.6 s with 1
        with cpu_share(self.scorer):
            prepared = self.prepare(path, timings, pair)
            return self.search(prepared, aspect, top, timings)

    def candidates(self, width: int, height: int, aspect: str, faces: Sequence[Face] = ()) -> np.ndarray:
        """The coarse stage's boxes for `aspect` (`crop_geometry.candidate_boxes`), rows x0, y0, x1, y1, ratio."""
        return candidate_boxes(width, height, aspect, [f.box for f in faces])

    def refine(self, coarse: np.ndarray, scores: np.ndarray, rule: FaceRule, width: int, height: int) -> np.ndarray:
        """The fine stage's boxes (`crop_geometry.refined_candidates` with this search's seeds)."""
        return refined_candidates(coarse, scores, rule, width, height, self.fine_seeds)

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

        gains = self.gains(features, final_boxes, width, height)
        comps = self.composition_gain(features, final_boxes, width, height)
        crops = [Crop(as_box(final_boxes[k]), float(final_scores[k]), float(estimates[finalists[k]]),
                      float(comps[k]), float(gains[k])) for k in order]
        whole_crop = Crop(as_box(whole_box[0]), whole, whole)
        # the whole frame wins unless the best crop's ranking logit beats it by KEEP_MARGIN
        keep_whole = crops[0].gain < KEEP_MARGIN and whole_allowed(aspect, width, height)
        if keep_whole:  # the whole frame is the proposal; the crops searched that differ from it, alternatives
            boxes_of = np.array([c.box for c in crops], np.float64)
            apart = iou(boxes_of, whole_box)[:, 0] < ALTERNATIVE_IOU_STEPS[-1]
            crops = [whole_crop, *[c for c, ok in zip(crops, apart, strict=True) if ok]]
        return CropResult(
            width=width, height=height, aspect=aspect, best=crops[0], alternatives=crops[1 : 1 + top],
            whole_score=whole, faces=list(photo.faces), face_rule=rule.name, candidates=len(boxes) + 1,
            verified=self.verify > 0, timings=timings, keep_whole=keep_whole,
        )
