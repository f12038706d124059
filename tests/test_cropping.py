"""The crop search core: candidates (bounds, presets, counts), face safety, distinct alternatives,
agreement of shared-feature scores with per-crop scores, and the JSON shape. Real weights, real photos."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO, photo
from PIL import Image

from selfie_desk.core.crop.geometry import (
    ALTERNATIVE_IOU,
    ALTERNATIVE_IOU_STEPS,
    KEEP_MARGIN,
    MIN_CANDIDATES,
    RATIOS,
    Prepared,
    coarse_candidates,
    cuts_a_face,
    distinct,
    face_candidates,
    face_relations,
    fine_candidates,
    iou,
    parse_aspect,
    ratios_for,
)
from selfie_desk.core.measures.face import Face
from selfie_desk.neural.crop_search import EXACT_FINALISTS, CropSearch, FeaturePyramid

SIZES = [(640, 480), (480, 640), (4000, 3000), (1000, 160)]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.fixture(scope="module")
def search(scorer):
    """The search on the CPU, with one torch thread as the app runs it there (pipeline.cpu_share)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield CropSearch(scorer)
    torch.set_num_threads(before)


def synthetic(search: CropSearch, size=(640, 480), faces=(), seed=0) -> Prepared:
    """A photo-like picture with faces where the test says (no detector involved)."""
    im = photo(size, seed=seed)
    return search.prepare_image(im, faces=[Face(tuple(map(float, f)), 0.99, ()) for f in faces])


def inside_photo(boxes: np.ndarray, width: int, height: int) -> bool:
    eps = 1e-6
    return bool(((boxes[:, 0] >= -eps) & (boxes[:, 1] >= -eps) & (boxes[:, 2] <= width + eps)
                 & (boxes[:, 3] <= height + eps) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all())


# ---- the candidate generator ------------------------------------------------------------------------------


def test_presets_parse_and_unknown_ones_are_refused():
    assert parse_aspect("4:5") == pytest.approx(0.8) and parse_aspect("16:9") == pytest.approx(16 / 9)
    assert parse_aspect("original") is None and parse_aspect("free") is None
    with pytest.raises(ValueError):
        parse_aspect("5:4")
    assert ratios_for("original", 4000, 3000) == [pytest.approx(4 / 3)]
    free = ratios_for("free", 4000, 3000)
    assert len(free) >= 6 and free[0] == pytest.approx(4 / 3)
    assert {round(r, 3) for r in free} >= {1.0, 0.8, round(2 / 3, 3), round(16 / 9, 3), round(9 / 16, 3)}


@pytest.mark.parametrize("size", SIZES)
def test_plain_generators_stay_inside_with_the_exact_ratio(size):
    w, h = size
    for ratio in (w / h, 1.0, 0.8, 1.5, 16 / 9, 9 / 16):
        coarse = coarse_candidates(w, h, ratio)
        fine = np.concatenate([fine_candidates(b, w, h, ratio) for b in coarse[:: max(1, len(coarse) // 7)]])
        around = face_candidates((0.4 * w, 0.3 * h, 0.5 * w, 0.45 * h), w, h, ratio)
        assert len(around) or ratio * h < 0.1 * w  # empty only when no crop of the ratio is that wide
        for boxes in (coarse, fine, around):
            assert inside_photo(boxes, w, h) if len(boxes) else boxes is around
            np.testing.assert_allclose((boxes[:, 2] - boxes[:, 0]) / (boxes[:, 3] - boxes[:, 1]), ratio, rtol=1e-9)
        # scale and translation both vary: many sizes, many positions
        assert len(np.unique(np.round(coarse[:, 2] - coarse[:, 0]))) >= 6
        assert len(np.unique(np.round(coarse[:, :2]), axis=0)) >= 20
        assert ((around[:, 0] <= 0.4 * w + 1e-6) & (around[:, 3] >= 0.45 * h - 1e-6)).all()  # around keeps the box


@pytest.mark.parametrize(("size", "aspects"), [((640, 480), RATIOS), ((360, 640), ("original", "free", "16:9"))])
def test_every_preset_gets_500_candidates_per_ratio_all_inside(search, size, aspects):
    prepared = synthetic(search, size, seed=size[0])
    w, h = size
    for aspect in aspects:
        boxes, scores, _, _ = search.scored_candidates(prepared, aspect)
        assert inside_photo(boxes[:, :4], w, h), aspect
        assert len(scores) == len(boxes) and np.isfinite(scores).all()
        ratios = np.unique(boxes[:, 4])
        np.testing.assert_allclose(sorted(ratios), sorted(ratios_for(aspect, w, h)), rtol=1e-9)
        np.testing.assert_allclose((boxes[:, 2] - boxes[:, 0]) / (boxes[:, 3] - boxes[:, 1]), boxes[:, 4], rtol=1e-9)
        for r in ratios:
            assert (boxes[:, 4] == r).sum() >= MIN_CANDIDATES, (aspect, r)
        if aspect == "free":
            assert len(ratios) >= 6  # the search also picks the ratio
        result = search.search(prepared, aspect, top=2)
        for crop in [result.best, *result.alternatives]:
            x0, y0, x1, y1 = crop.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and all(float(v).is_integer() for v in crop.box)
            if aspect != "free":
                want = w / h if aspect == "original" else parse_aspect(aspect)
                # whole pixels, rounded outward: within a pixel or two of the exact ratio
                assert abs((x1 - x0) / (y1 - y0) - want) <= want * 2.5 / min(x1 - x0, y1 - y0), aspect


# ---- faces ---------------------------------------------------------------------------------------------------


def test_synthetic_faces_are_never_cut_and_all_kept_when_the_preset_can(search):
    faces = [(250, 150, 310, 230), (380, 170, 430, 240)]
    prepared = synthetic(search, (640, 480), faces, seed=3)
    for aspect in RATIOS:
        result = search.search(prepared, aspect, top=3)
        assert result.face_rule == "all faces", aspect
        for crop in [result.best, *result.alternatives]:
            assert not cuts_a_face(crop.box, faces), (aspect, crop.box)
            kept, _ = face_relations(np.array([crop.box]), faces, 640, 480)
            assert kept.all(), (aspect, crop.box)


def test_a_preset_that_cannot_hold_all_faces_keeps_as_many_as_it_can_without_cutting(search):
    # a wide panorama, one face near each end: no tall crop holds both
    faces = [(60, 120, 120, 200), (1480, 120, 1540, 200)]
    prepared = synthetic(search, (1600, 400), faces, seed=4)
    for aspect in ("9:16", "4:5", "1:1"):
        result = search.search(prepared, aspect, top=3)
        assert result.face_rule == "some faces", aspect
        for crop in [result.best, *result.alternatives]:
            assert not cuts_a_face(crop.box, faces), (aspect, crop.box)
            kept, _ = face_relations(np.array([crop.box]), faces, 1600, 400)
            assert kept.sum() == 1, (aspect, crop.box)
    wide = search.search(prepared, "original", top=1)
    assert wide.face_rule == "all faces"


def test_a_close_up_face_that_fits_only_without_its_margin_is_still_kept(search):
    # a real portrait's geometry (349 x 448, the face filling most of it): a 1:1 crop cannot hold the face
    # with hair and chin margins, but can hold the face itself; it must, not crop the hair above it
    face = (58, 123, 303, 429)
    prepared = synthetic(search, (349, 448), [face], seed=7)
    result = search.search(prepared, "1:1", top=2)
    assert result.face_rule == "all faces"
    for crop in [result.best, *result.alternatives]:
        x0, y0, x1, y1 = crop.box
        assert x0 <= 58 and y0 <= 123 and x1 >= 303 and y1 >= 429, crop.box


def test_a_face_too_big_for_the_preset_is_cut_least_not_grazed(search):
    # a face taller than the largest 4:5 crop of this photo: every crop cuts it; the search says so and
    # keeps as much of it as it can rather than a corner of it
    face = (4, 17, 207, 357)
    prepared = synthetic(search, (257, 448), [face], seed=6)
    result = search.search(prepared, "4:5", top=2)
    assert result.face_rule == "faces cut"
    for crop in [result.best, *result.alternatives]:
        x0, y0, x1, y1 = crop.box
        inside = max(0, min(x1, 207) - max(x0, 4)) * max(0, min(y1, 357) - max(y0, 17))
        assert inside / (203 * 340) > 0.6, crop.box


def test_real_faces_on_the_demo_portrait_are_kept_whole_in_every_preset(search):
    prepared = search.prepare(DEMO / "astronaut.png")
    faces = [f.box for f in prepared.faces]
    assert len(faces) == 1
    for aspect in RATIOS:
        result = search.search(prepared, aspect, top=3)
        assert result.face_rule == "all faces"
        for crop in [result.best, *result.alternatives]:
            assert not cuts_a_face(crop.box, faces), (aspect, crop.box)
        kept, _ = face_relations(np.array([result.best.box]), faces, 512, 512)
        assert kept.all()


# ---- results ---------------------------------------------------------------------------------------------------


def test_alternatives_are_distinct_sorted_and_limited(search):
    prepared = search.prepare(DEMO / "coffee.png")
    for top in (0, 1, 4):
        result = search.search(prepared, "free", top=top)
        crops = [result.best, *result.alternatives]
        assert len(result.alternatives) <= top
        if top:
            assert len(result.alternatives) >= 1
        scores = [c.score for c in crops]
        assert scores == sorted(scores, reverse=True)
        for a, b in itertools.combinations(crops, 2):
            assert iou(np.array([a.box]), np.array([b.box]))[0, 0] < ALTERNATIVE_IOU
    assert not result.verified and 0.0 <= result.whole_score <= 1.0  # pooled ranking (VERIFY = 0)
    exact = CropSearch(search.scorer, verify=EXACT_FINALISTS).search(prepared, "free", top=2)
    assert exact.verified  # the exact option still scores its finalists one pass each
    one_pass = search.crop_scores(prepared.image, np.array([exact.best.box], float), prepared.width,
                                  prepared.height, quality=search.features(prepared.image, prepared.looks).quality)
    assert exact.best.score == pytest.approx(float(one_pass[0]), abs=1e-4)
    assert all(c.score == c.estimate for c in [result.best, *result.alternatives])  # pooled: score is the estimate
    assert result.candidates >= MIN_CANDIDATES * 6
    with pytest.raises(ValueError):
        search.search(prepared, "free", top=-1)


def test_a_close_up_still_gets_alternatives_that_differ(search):
    # a close-up (335 x 448, the face with its margin covering 2/3 of the width and 3/4 of the height): every
    # crop that keeps the face overlaps every other by 0.5 or more, so strict suppression left no alternative
    face = (90, 140, 260, 380)
    prepared = synthetic(search, (335, 448), [face], seed=3)
    for aspect in ("original", "4:5"):
        boxes, estimates, _, _ = search.scored_candidates(prepared, aspect)
        assert len(distinct(boxes[:, :4], np.argsort(-estimates), 4)) == 1  # none at IoU < 0.5
        result = search.search(prepared, aspect, top=3)
        crops = [result.best, *result.alternatives]
        assert len(crops) >= 2, aspect
        for a, b in itertools.combinations(crops, 2):
            assert iou(np.array([a.box]), np.array([b.box]))[0, 0] < ALTERNATIVE_IOU_STEPS[-1], (aspect, a, b)
        for c in crops:
            assert not cuts_a_face(c.box, [face])


def test_each_box_is_pooled_from_the_pyramid_level_of_its_size():
    import torch

    # level 0.5 (a 448-px square, 14 x 14 cells) holds 1 left of its middle and 3 right of it; level 1.0
    # (224 px, 7 x 7) holds 2 everywhere
    half = torch.ones(1, 2, 14, 14)
    half[..., 7:] = 3.0
    pyramid = FeaturePyramid([(0.5, 448, half), (1.0, 224, torch.full((1, 2, 7, 7), 2.0))])
    boxes = np.array([[0, 0, 1000, 800], [0, 0, 500, 400], [500, 0, 1000, 400], [250, 0, 750, 400],
                      [0, 0, 900, 700]], float)
    pooled = pyramid.pool(boxes, 1000, 800)[:, 0].tolist()
    # whole photo and a 0.89 share: level 1.0; the half-size boxes: level 0.5, left, right, and astride (mean 2)
    assert pooled == pytest.approx([2.0, 1.0, 3.0, 2.0, 2.0])


def test_distinct_takes_the_most_different_first_and_relaxes_only_when_short():
    boxes = np.array([[0, 0, 100, 100], [2, 2, 100, 100], [0, 0, 80, 80], [50, 50, 150, 150], [0, 0, 90, 90]], float)
    order = np.arange(len(boxes))  # best first
    assert distinct(boxes, order, 3) == [0, 3]  # strict: only the far box
    assert distinct(boxes, order, 3, (0.5, 0.7)) == [0, 3, 2]  # then 0.64 overlap, not 0.92 (box 1) or 0.81
    assert distinct(boxes, order, 2, (0.5, 0.7)) == [0, 3]  # enough at the first step: no relaxing


def test_to_json_is_the_cli_line(search):
    result = search.search_path(DEMO / "astronaut.png", "1:1", 2)
    row = result.to_json("/photos/astronaut.png")
    assert set(row) == {"path", "width", "height", "aspect", "crop", "score", "alternatives", "error", "keep_whole",
                        "whole_score", "composition"}
    assert row["path"] == "/photos/astronaut.png" and row["aspect"] == "1:1" and row["error"] is None
    assert (row["width"], row["height"]) == (512, 512)
    assert len(row["crop"]) == 4 and all(isinstance(v, int) for v in row["crop"])
    assert isinstance(row["score"], float) and 0.0 <= row["score"] <= 1.0
    assert len(row["alternatives"]) <= 2
    assert 0.0 <= row["whole_score"] <= 1.0 and isinstance(row["composition"], float)
    for alt in row["alternatives"]:
        assert set(alt) == {"crop", "score", "composition"} and all(isinstance(v, int) for v in alt["crop"])
        if not row["keep_whole"]:
            assert alt["score"] <= row["score"]
    if row["keep_whole"]:
        assert row["crop"] == [0, 0, 512, 512] and row["composition"] == 0.0
        assert row["score"] == row["whole_score"]
    else:
        assert row["score"] >= row["whole_score"] and row["composition"] > 0


def test_search_on_a_missing_or_broken_file_raises_a_photo_error(search, tmp_path: Path):
    from selfie_desk.core.formats.decoding import PhotoError

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.raises(PhotoError):
        search.search_path(broken)


# ---- shared-feature scores vs one pass per crop ------------------------------------------------------------------

AGREEMENT_PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "china.jpg"]


@pytest.fixture(scope="module")
def agreement(search) -> dict[str, float]:
    """Spearman rank correlation, per demo photo, between the score head's content part pooled from the shared
    features for 48 of the search's candidates and the convnet's scores of the same crops each seen on its own
    (the search ranked by content alone, as before issue 26: what CONTENT_WEIGHT adds to the ranking)."""
    search = CropSearch(search.scorer, composer=search.composer, composition_weight=0.0, content_weight=1.0)
    rng = np.random.default_rng(0)
    out = {}
    for name in AGREEMENT_PHOTOS:
        prepared = search.prepare(DEMO / name)
        boxes, estimates, _, _ = search.scored_candidates(prepared, "original")
        pick = rng.choice(len(boxes), 48, replace=False)
        exact = search.crop_scores(prepared.image, boxes[pick, :4], prepared.width, prepared.height)
        out[name] = spearman(estimates[pick], exact)
    print("agreement (spearman per photo):", {k: round(v, 3) for k, v in out.items()})
    return out


def test_shared_feature_scores_rank_crops_like_separate_passes(agreement):
    # The level reached (docs/cropping.md: median 0.57 on 17 photos with the two-level pyramid), not the
    # issue's 0.9 (see the xfail below). On 48 candidates one photo's correlation is noisy (camera.png, whose
    # per-crop ranking is the least stable: -0.04 to 0.35 between samples), so the test asks for the median
    # and the mean over the four photos, and for the astronaut (one clear subject) near the ceiling. Boxes
    # pooled from the wrong place (a stride mistake) give a median near 0 and the astronaut -0.5.
    # With the score learned from people (issue 12) the astronaut's agreement is 0.84 (0.9+ with the first head):
    # the content part the boxes share is no longer trained on portraits alone.
    rhos = np.array(list(agreement.values()))
    assert np.median(rhos) >= 0.3 and rhos.mean() >= 0.3 and agreement["astronaut.png"] >= 0.75, agreement


@pytest.mark.xfail(reason="issue 4 asks for rank correlation >= 0.9 on real photos; not reached (docs/cropping.md)")
def test_shared_feature_scores_reach_the_issues_0_9(agreement):
    assert min(agreement.values()) >= 0.9, agreement


def test_exact_scores_are_the_photo_scale(search, scorer):
    """One score everywhere: the crop search's whole photo scores what the scoring pass gives it, and the
    exact scorer on the whole frame agrees (same input, same head)."""
    from selfie_desk.core.formats import decoding
    from selfie_desk.core.measures import look

    prepared = search.prepare(DEMO / "rocket.jpg")
    assert math.isclose(max(prepared.image.size), look.VIEW_EDGE, rel_tol=0.25)
    result = search.search(prepared, "original", top=1)
    own = scorer.score_images([decoding.decode(DEMO / "rocket.jpg", look.DETAIL_EDGE).image])[0].score
    assert result.whole_score == pytest.approx(own, abs=1e-5)
    features = search.features(prepared.image, prepared.looks)
    whole = search.crop_scores(prepared.image, np.array([[0, 0, prepared.width, prepared.height]], float),
                               prepared.width, prepared.height, quality=features.quality)[0]
    assert whole == pytest.approx(own, abs=1e-4)


def test_the_whole_frame_is_always_a_candidate_and_wins_without_a_clear_margin(search):
    """A crop is proposed only when its ranking beats the uncropped photo's by KEEP_MARGIN; otherwise "keep as
    is", on the photo's own score."""
    for name in ("astronaut.png", "rocket.jpg", "coffee.png", "china.jpg"):
        result = search.search_path(DEMO / name, "original", 2)
        if result.keep_whole:
            assert result.best.box == (0.0, 0.0, float(result.width), float(result.height))
            assert result.best.score == pytest.approx(result.whole_score) and result.best.composition == 0.0
            assert all(a.gain < KEEP_MARGIN for a in result.alternatives)
        else:
            assert result.best.gain >= KEEP_MARGIN and result.best.score >= result.whole_score
            assert result.best.composition > 0
    # in a fixed-ratio preset the whole frame (another ratio) cannot be the proposal
    square = search.search_path(DEMO / "rocket.jpg", "1:1", 1)
    assert not square.keep_whole and square.best.box[2] - square.best.box[0] == pytest.approx(
        square.best.box[3] - square.best.box[1], abs=1.0)


# ---- composition: crops people would draw ------------------------------------------------------------------------


def framed(name: str, pad: tuple[float, float, float, float], colour=(12, 12, 12)) -> tuple[Image.Image, tuple]:
    """A demo photo on a larger flat canvas (shares of its width/height added left, top, right, bottom): the frame
    people would draw is the photo itself, returned with it."""
    im = Image.open(DEMO / name).convert("RGB")
    w, h = im.size
    left, top = round(pad[0] * w), round(pad[1] * h)
    canvas = Image.new("RGB", (w + left + round(pad[2] * w), h + top + round(pad[3] * h)), colour)
    canvas.paste(im, (left, top))
    return canvas, (left, top, left + w, top + h)


@pytest.mark.parametrize(("name", "pad"), [("china.jpg", (0.0, 0.0, 0.6, 0.0)), ("rocket.jpg", (0.0, 0.5, 0.0, 0.0)),
                                           ("coffee.png", (0.4, 0.0, 0.0, 0.3))])
def test_a_flat_dark_border_is_cropped_away(search, name, pad):
    canvas, truth = framed(name, pad)
    result = search.search(search.prepare_image(canvas), "free", top=2)
    assert not result.keep_whole
    overlap = float(iou(np.array([result.best.box]), np.array([truth], float))[0, 0])
    assert overlap >= 0.6, (result.best.box, truth, overlap)
    assert result.best.composition > 0 and result.best.score >= result.whole_score


def test_a_tight_detail_never_beats_a_balanced_frame(search):
    """The issue's complaint: ranked by the photo score, the best crop was a small region of detail. Now the
    proposal keeps most of a well-framed demo photo, and small corner crops rank below it."""
    for name in ("rocket.jpg", "china.jpg", "chelsea.png", "coffee.png"):
        prepared = search.prepare(DEMO / name)
        result = search.search(prepared, "free", top=1)
        x0, y0, x1, y1 = result.best.box
        assert (x1 - x0) * (y1 - y0) >= 0.45 * prepared.width * prepared.height, (name, result.best.box)
        features = search.features(prepared.image, prepared.looks)
        w, h = prepared.width, prepared.height
        corners = np.array([[0, 0, 0.35 * w, 0.35 * h], [0.65 * w, 0.65 * h, w, h], [0.65 * w, 0, w, 0.35 * h]])
        gains = search.gains(features, corners, w, h)
        assert (gains < result.best.gain).all() and (gains < KEEP_MARGIN).all(), (name, gains, result.best.gain)
