"""The looks (core/measures/look.py) and the reasons (core/measures/reasons.py): what the score reads beside the
convnet, and
what it says about a photo. Real photos (the bundled demo) degraded at their own resolution."""

import numpy as np
import pytest
from conftest import DEMO
from PIL import Image, ImageFilter

from selfie_desk.core.measures import degrade, focus, look, reasons


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.open(DEMO / "astronaut.png").convert("RGB")


def view(im: Image.Image, name: str) -> float:
    return float(look.view_stats(np.asarray(im))[look.VIEW_NAMES.index(name)])


def detail(im: Image.Image, name: str, faces=()) -> float:
    stats, _ = look.detail_stats(np.asarray(im.convert("L")), faces)
    return float(stats[look.DETAIL_NAMES.index(name)])


def test_noise_added_at_the_photos_own_resolution_is_seen(astronaut):
    rng = np.random.default_rng(0)
    noisy = degrade.noise(astronaut, rng)
    assert view(noisy, "view_noise") > view(astronaut, "view_noise") + 1.0  # log sigma: e^1 = 2.7x
    assert detail(noisy, "detail_noise") > detail(astronaut, "detail_noise") + 1.0


def test_blur_lowers_sharpness_in_the_view_and_on_the_face(astronaut):
    face = [(178, 57, 273, 177)]
    soft = astronaut.filter(ImageFilter.GaussianBlur(3))
    assert view(soft, "view_lap") < view(astronaut, "view_lap") - 1.0
    assert detail(soft, "detail_lap", face) < detail(astronaut, "detail_lap", face) - 1.0
    assert detail(astronaut, "detail_on_face", face) == 1.0 and detail(astronaut, "detail_on_face") == 0.0


def test_the_detail_look_is_on_the_largest_face_else_the_most_detailed_region():
    im = np.full((400, 600), 128, np.uint8)
    im[250:350, 400:500] = np.random.default_rng(0).integers(0, 255, (100, 100))  # the only texture
    _, box = look.detail_stats(im, [(10, 10, 30, 30), (100, 50, 200, 170)])
    assert 100 <= (box[0] + box[2]) / 2 <= 200 and 50 <= (box[1] + box[3]) / 2 <= 170  # the larger face
    x0, y0, x1, y1 = look.most_detailed_box(look.luminance(im), 64)
    assert 380 <= x0 and x1 <= 520 and 230 <= y0 and y1 <= 370


def test_the_look_of_a_decode_keeps_the_view_and_the_detail_apart():
    big = Image.new("RGB", (2000, 1500), (90, 120, 150))
    lk = look.Look(big)
    assert max(lk.view.size) >= look.VIEW_EDGE and max(lk.view.size) < 2 * look.VIEW_EDGE
    assert lk.detail_gray.shape == (1500, 2000) and lk.detail_scale == pytest.approx(2000 / lk.view.size[0])
    stats, _ = lk.detail([])
    assert stats.shape == (look.N_DETAIL,) and lk.view_stats.shape == (look.N_VIEW,)
    assert np.isfinite(stats).all() and np.isfinite(lk.view_stats).all()


def test_stops_are_measured_in_linear_light(astronaut):
    rng = np.random.default_rng(3)
    a = np.asarray(astronaut, np.float32) / 255
    two_down = Image.fromarray(np.clip((a**2.2 * 0.25) ** (1 / 2.2) * 255, 0, 255).astype(np.uint8))
    before = reasons.stops_off(look.view_stats(np.asarray(astronaut)))
    after = reasons.stops_off(look.view_stats(np.asarray(two_down)))
    assert after - before == pytest.approx(-2.0, abs=0.25)
    assert reasons.stops_off(look.view_stats(np.asarray(degrade.dark(astronaut, rng)))) < before - 1.5


GOOD = {"sharpness": 0.9, "noise": 0.9, "dark": 0.9, "bright": 0.9, "compression": 0.9, "framing": 0.9}
MID = np.array([0.42 if n == "lum_p50" else 0.0 for n in look.VIEW_NAMES])


def test_a_good_photo_has_no_reasons():
    assert reasons.explain(GOOD, [(400, 300, 700, 650)], 1200, 1000, MID, True) == []


def test_each_bad_aspect_gives_its_reason_in_a_photographers_words():
    assert reasons.explain({**GOOD, "sharpness": 0.1}, [(400, 300, 700, 650)], 1200, 1000, MID, True) == [
        "soft focus on the face"]
    assert reasons.explain({**GOOD, "sharpness": 0.1}, [], 1200, 1000, MID, False) == ["soft focus"]
    assert reasons.explain({**GOOD, "noise": 0.2}, [], 1200, 1000, MID, False) == ["noisy"]
    dark = MID.copy()
    dark[look.VIEW_NAMES.index("lum_p50")] = 0.42 * 2 ** (-2 / 2.2)  # two stops under
    assert reasons.explain({**GOOD, "dark": 0.1}, [], 1200, 1000, dark, False) == ["2 stops dark"]


def test_framing_reasons_come_from_the_faces():
    cut = reasons.explain(GOOD, [(0, 300, 250, 650)], 1200, 1000, MID, True)
    assert cut == ["face cut by the frame"]
    small = reasons.explain(GOOD, [(600, 500, 700, 600)], 1200, 1000, MID, True)  # 0.8 % of the frame
    assert small == ["subject small in the frame"]
    crowd = reasons.explain(GOOD, [(0, 10, 30, 40), (400, 300, 700, 650)], 1200, 1000, MID, True)
    assert crowd == []  # a face in the crowd at the edge is not the subject cut off


def test_reasons_map_to_the_windows_filter_families():
    assert reasons.family_of("soft focus on the face") == "soft focus"
    assert reasons.family_of("2 stops dark") == "badly exposed"
    assert reasons.family_of("highlights blown") == "badly exposed"
    assert reasons.family_of("face cut by the frame") == "framing"
    assert reasons.family_of("noisy") == "noisy"
    assert reasons.family_of("something else") is None


# ---- focus (core/measures/focus.py): what the sharpness aspect and the soft-focus words read ---------------------
def focus_of(im: Image.Image, faces=()) -> dict[str, float]:
    return dict(zip(focus.FOCUS_NAMES, focus.focus_stats(np.asarray(im.convert("L")), faces).tolist(), strict=True))


def motion(im: Image.Image, length: int, axis: int) -> Image.Image:
    """A real photo smeared along one axis (a box kernel: the camera or the subject moving)."""
    a = np.asarray(im, np.float32)
    out = sum(np.roll(a, k - length // 2, axis=axis) for k in range(length)) / length
    return Image.fromarray(out.astype(np.uint8))


def test_focus_falls_with_any_blur_and_motion_blur_has_a_direction(astronaut):
    face = [(178, 57, 273, 177)]
    sharp = focus_of(astronaut, face)
    soft = focus_of(astronaut.filter(ImageFilter.GaussianBlur(2)), face)
    assert soft["focus_top"] < sharp["focus_top"] - 0.3 and soft["focus_face"] < sharp["focus_face"] - 0.2
    for axis in (0, 1):  # smeared down, then across: the weakest direction is the motion's, in most blocks
        smeared = focus_of(motion(astronaut, 15, axis), face)
        assert smeared["focus_top"] < sharp["focus_top"] - 0.15
        assert smeared["focus_aniso"] < sharp["focus_aniso"] - 0.25 and smeared["focus_dir_agree"] >= 0.8
        assert smeared["focus_face_aniso"] < sharp["focus_face_aniso"] - 0.3
    assert sharp["focus_has_face"] == 1.0 and focus_of(astronaut)["focus_has_face"] == 0.0


def test_a_sharp_subject_on_a_blurred_background_stays_sharp_where_it_is_detailed(astronaut):
    """Shallow depth of field: the face and shoulders kept, the rest defocused. The most detailed blocks are the
    subject's, so the photo's focus stays near the sharp photo's while the median block falls."""
    soft = astronaut.filter(ImageFilter.GaussianBlur(5))
    mask = Image.new("L", astronaut.size, 0)
    mask.paste(255, (130, 30, 330, 330))
    shallow = Image.composite(astronaut, soft, mask)
    sharp, kept, gone = focus_of(astronaut), focus_of(shallow), focus_of(soft)
    assert kept["focus_top"] > sharp["focus_top"] - 0.12 and gone["focus_top"] < sharp["focus_top"] - 0.35
    assert kept["focus_p50"] < sharp["focus_p50"]


def test_focus_is_judged_at_a_screens_scale_and_a_face_at_a_common_size(astronaut):
    """The same photo at 4x its pixels is judged at <= 1024 px: about the same figures, not sharper or softer
    because it has more pixels; a face's focus is measured with the face brought to ~112 px."""
    big = astronaut.resize((2048, 2048), Image.Resampling.LANCZOS)
    small, large = focus_of(astronaut, [(178, 57, 273, 177)]), focus_of(big, [(712, 228, 1092, 708)])
    assert focus.judging_factor(big.size) == 2
    assert abs(large["focus_face"] - small["focus_face"]) < 0.15
    assert np.isfinite(list(large.values())).all()


def test_the_look_keeps_the_focus_between_the_view_and_the_detail(astronaut):
    lk = look.Look(astronaut)
    values = lk.values([(178, 57, 273, 177)], astronaut.size)
    assert values.shape == (look.N_VIEW + look.N_FOCUS + look.N_DETAIL,)
    at = look.N_VIEW
    np.testing.assert_allclose(values[at : at + look.N_FOCUS], focus.focus_stats(
        np.asarray(astronaut.convert("L")), [(178, 57, 273, 177)]), atol=0.05)  # blocks chosen on the view
    assert values[-1] == 1.0  # the detail's "on a face" flag stays last


def test_soft_photos_are_said_in_a_photographers_words():
    soft = {**GOOD, "sharpness": 0.1, "focus_aniso": 0.9, "focus_dir_agree": 0.3}
    assert reasons.soft_words(soft, False) == "soft focus"
    assert reasons.soft_words(soft, True) == "soft focus on the face"
    assert reasons.soft_words({**soft, "focus_dir_agree": 0.9}, False) == "camera shake"  # one way everywhere
    assert reasons.soft_words({**soft, "focus_aniso": 0.3, "focus_dir_agree": 0.4}, False) == "motion blur"
    face = {**GOOD, "focus_has_face": 1.0, "focus_face": 0.1, "focus_face_aniso": 0.9}
    assert reasons.soft_words(face, True) == "missed focus on the face"  # the rest of the photo sharp
    assert reasons.soft_words({**face, "focus_face_aniso": 0.3}, True) == "motion blur"
    assert reasons.soft_words({**face, "focus_face": 0.6}, True) is None
    # the whole frame smeared evenly: the face says there is no direction, the blocks' few edges read directional
    evenly = {**face, "sharpness": 0.0, "focus_aniso": 0.48, "focus_dir_agree": 0.4}
    assert reasons.soft_words(evenly, True) == "soft focus on the face"
    assert reasons.soft_words({**evenly, "focus_face_aniso": 0.3}, True) == "motion blur"
    for word in ("motion blur", "camera shake", "missed focus on the face"):
        assert reasons.family_of(word) == "soft focus"
