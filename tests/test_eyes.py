"""Eye state and face focus on real faces: the converted networks, the open/closed/unknown rule, sharpness."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from selfie_desk.core import paths
from selfie_desk.core.measures import eyes
from selfie_desk.core.measures.eyes import EyeLandmarks, EyeState, eye_state
from selfie_desk.core.measures.face import Face
from selfie_desk.core.measures.focus import face_sharpness, sharpness
from selfie_desk.core.weights import ModelMissingError, bundled_file
from selfie_desk.neural.faces import FaceDetector

DATA = Path(__file__).parent / "data"
# Tuning-half Pixabay portraits whose eyes are closed (looked at by eye; tools/eyes_eval.py OPEN_LABEL_FIXES).
CLOSED_PORTRAITS = ("woman-person-1053543_1280.jpg", "woman-person-864804_1280.jpg", "man-man-890880_1280.jpg")


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.open(paths.demo_photos_dir() / "astronaut.png").convert("RGB")


@pytest.fixture(scope="module")
def astronaut_face(astronaut) -> Face:
    detector = FaceDetector.from_file(bundled_file("retinaface_mobilenet0.25.pth"))
    t = torch.from_numpy(np.array(astronaut)).permute(2, 0, 1)[None]
    (face,) = detector.detect(t, [astronaut.size])[0]
    return face


@pytest.fixture(scope="module")
def landmarker():
    from selfie_desk.neural.eyes import EyeLandmarker

    return EyeLandmarker.from_files()


def _stored(name: str) -> EyeLandmarks:
    """Landmarks measured on a real face (the numbers only, not the photo: tests/data/README.md)."""
    raw = json.loads((DATA / "eyes_landmarks.json").read_text())[name]
    eye = np.zeros((71, 2), np.float32)
    right, left = eye.copy(), eye.copy()
    right[:16], left[:16] = raw["right_eye"], raw["left_eye"]
    five = np.zeros((5, 2), np.float32)
    return EyeLandmarks((0, 0, 0, 0), raw["presence"], np.zeros((468, 2), np.float32), right, left, five, five)


def test_the_rule_and_focus_import_no_torch():
    code = ("import sys, selfie_desk.core.measures.eyes, selfie_desk.core.measures.focus; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.slow
def test_converted_networks_match_litert_reference(landmarker):
    """The outputs LiteRT gave for the TFLite originals on the astronaut's crops (tools/mediapipe_eyes_check.py)."""
    from selfie_desk.neural.eyes import to_batch

    ref = np.load(DATA / "eyes_reference.npz")
    with torch.inference_mode():
        mesh, flag = landmarker.mesh(to_batch([ref["mesh_input"]], landmarker.device))
        contours, iris = landmarker.iris(to_batch([ref["iris_input"]], landmarker.device))
    np.testing.assert_allclose(mesh[0].numpy(), ref["mesh_output"], atol=2e-3)
    np.testing.assert_allclose(flag[0].numpy(), ref["flag_output"], atol=2e-3)
    np.testing.assert_allclose(contours[0].numpy(), ref["contour_output"], atol=2e-3)
    np.testing.assert_allclose(iris[0].numpy(), ref["iris_output"], atol=2e-3)


@pytest.mark.slow
def test_open_eyes_on_the_astronaut(landmarker, astronaut, astronaut_face):
    (lm,) = landmarker.landmarks(astronaut, [astronaut_face])
    verdict = eye_state(lm)
    assert verdict.state == EyeState.OPEN, verdict
    # The eyes lie inside the face box, the subject's right eye on the image's left.
    x0, y0, x1, y1 = astronaut_face.box
    for contour in (lm.right_eye, lm.left_eye):
        assert x0 < contour[:16, 0].min() and contour[:16, 0].max() < x1
        assert y0 < contour[:16, 1].min() and contour[:16, 1].max() < y1
    assert lm.right_eye[:16, 0].mean() < lm.left_eye[:16, 0].mean()
    # The iris network's eye centres agree with the detector's to a fraction of the eye's width.
    for iris, point in ((lm.right_iris, astronaut_face.landmarks[0]), (lm.left_iris, astronaut_face.landmarks[1])):
        assert np.hypot(*(iris[0] - np.array(point))) < 6.0


@pytest.mark.slow
def test_numpy_input_and_batching_give_the_same_landmarks(landmarker, astronaut, astronaut_face):
    """Two real faces in one call (the astronaut twice, side by side) equal one face per call."""
    w, h = astronaut.size
    pair = Image.new("RGB", (2 * w, h))
    pair.paste(astronaut, (0, 0))
    pair.paste(astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (w, 0))
    x0, y0, x1, y1 = astronaut_face.box
    (rx, ry), (lx, ly), nose, mr, ml = astronaut_face.landmarks
    mirrored = Face(
        box=(2 * w - x1, y0, 2 * w - x0, y1),
        confidence=astronaut_face.confidence,
        landmarks=((2 * w - lx, ly), (2 * w - rx, ry), (2 * w - nose[0], nose[1]), (2 * w - ml[0], ml[1]),
                   (2 * w - mr[0], mr[1])),
    )
    both = landmarker.landmarks(np.array(pair), [astronaut_face, mirrored])
    alone = landmarker.landmarks(pair, [mirrored])[0]
    np.testing.assert_allclose(both[1].right_eye, alone.right_eye, atol=1e-3)
    assert [eye_state(lm).state for lm in both] == [EyeState.OPEN, EyeState.OPEN]
    assert landmarker.landmarks(astronaut, []) == []


@pytest.mark.slow
def test_a_tiny_face_is_unknown(landmarker, astronaut, astronaut_face):
    small = astronaut.resize((astronaut.width // 6, astronaut.height // 6), Image.Resampling.BOX)
    (lm,) = landmarker.landmarks(small, [astronaut_face.scaled(1 / 6, 1 / 6)])
    verdict = eye_state(lm)
    assert verdict.state == EyeState.UNKNOWN and verdict.reason == "face too small"


def test_closed_eyes_on_real_landmarks():
    """Three portraits with closed eyes and the astronaut's open ones, measured by the converted networks."""
    for name in CLOSED_PORTRAITS:
        verdict = eye_state(_stored(name))
        assert verdict.state == EyeState.CLOSED, (name, verdict)
    opened = eye_state(_stored("astronaut"))
    assert opened.state == EyeState.OPEN and opened.reason == "both eyes open"
    assert min(opened.right_ear, opened.left_ear) > eyes.OPEN_FROM


def test_the_cut_offs_come_from_open_eyes_alone():
    """The rule's two cut-offs are what its documented recipe makes of the tuning half's open faces (no closed-eye
    data in it), and on those faces it raises almost no false alarm and decides most."""
    values = np.array(json.loads((DATA / "eyes_open_tuning.json").read_text())["openness"])
    assert values.shape == (449, 2)
    assert eyes.openness_cutoffs(values) == (eyes.CLOSED_BELOW, eyes.OPEN_FROM)
    assert eyes.CLOSED_BELOW < eyes.OPEN_FROM
    states = [eyes._one(right) if eyes._one(right) == eyes._one(left) else EyeState.UNKNOWN
              for right, left in values]
    assert states.count(EyeState.CLOSED) / len(values) <= 0.01
    assert states.count(EyeState.OPEN) / len(values) >= 0.85


def _with_openness(lm: EyeLandmarks, right: float, left: float) -> EyeLandmarks:
    """The same face with each eye's lids squeezed towards their corner line to the given openness."""
    def squeezed(contour: np.ndarray, target: float) -> np.ndarray:
        a, b = contour[0].astype(np.float64), contour[8].astype(np.float64)
        e = (b - a) / np.linalg.norm(b - a)
        rel = contour[:16] - a
        along = np.outer(rel @ e, e)
        lo, hi = 0.0, 2.0
        for _ in range(60):  # the gaps are not quite perpendicular to the corner line: bisect the squeeze
            out = contour.astype(np.float64).copy()
            out[:16] = a + along + (rel - along) * (lo + hi) / 2
            lo, hi = ((lo + hi) / 2, hi) if eyes.aspect_ratio(out) < target else (lo, (lo + hi) / 2)
        return out

    return EyeLandmarks(lm.face_box, lm.presence, lm.mesh, squeezed(lm.right_eye, right), squeezed(lm.left_eye, left),
                        lm.right_iris, lm.left_iris)


def test_half_open_or_disagreeing_eyes_are_unknown():
    lm = _stored("astronaut")
    below, above = eyes.CLOSED_BELOW - 0.01, eyes.OPEN_FROM + 0.01
    middle = (eyes.CLOSED_BELOW + eyes.OPEN_FROM) / 2
    assert eye_state(_with_openness(lm, below, below)).state == EyeState.CLOSED
    assert eye_state(_with_openness(lm, above, above)).state == EyeState.OPEN
    assert eye_state(_with_openness(lm, middle, above)).reason == "eyes half open"
    assert eye_state(_with_openness(lm, below, above)).reason == "eyes disagree"
    verdict = eye_state(_with_openness(lm, 0.12, 0.14))
    assert verdict.state == EyeState.CLOSED and verdict.right_ear == pytest.approx(0.12, abs=1e-6)


def test_a_face_turned_away_or_not_a_face_is_unknown():
    lm = _stored("astronaut")
    narrow = lm.left_eye.copy()
    centre = narrow[:16].mean(axis=0)
    narrow[:16] = centre + (narrow[:16] - centre) * np.array([0.4, 1.0])  # the far eye foreshortened
    turned = EyeLandmarks(lm.face_box, lm.presence, lm.mesh, lm.right_eye, narrow, lm.right_iris, lm.left_iris)
    assert eye_state(turned).reason == "face turned away"
    ghost = EyeLandmarks(lm.face_box, 0.1, lm.mesh, lm.right_eye, lm.left_eye, lm.right_iris, lm.left_iris)
    assert eye_state(ghost).state == EyeState.UNKNOWN


def test_missing_weights_give_a_clear_error(tmp_path, monkeypatch):
    from selfie_desk.neural.eyes import EyeLandmarker

    with pytest.raises(ModelMissingError, match="nothing.pth"):
        EyeLandmarker.from_files(mesh_path=tmp_path / "nothing.pth")
    monkeypatch.setenv("SELFIE_DESK_MODELS", str(tmp_path))
    with pytest.raises(ModelMissingError, match="face_mesh.pth"):
        EyeLandmarker.from_files()


def test_face_sharpness_falls_as_a_real_face_is_blurred(astronaut):
    box = (177.75, 56.89, 273.05, 177.29)  # the detector's box (tests/test_faces.py)
    figures = [face_sharpness(astronaut.filter(ImageFilter.GaussianBlur(r)) if r else astronaut, box)
               for r in (0, 0.5, 1, 1.5, 2, 3, 4)]
    assert all(0.0 <= f <= 1.0 for f in figures)
    assert all(a > b for a, b in itertools.pairwise(figures)), figures
    assert figures[0] > 0.6 and figures[-1] < 0.3
    # Comparable across a burst whose exposure drifts: darker, same focus, nearly the same figure.
    darker = Image.eval(astronaut, lambda v: int(v * 0.6))
    assert face_sharpness(darker, box) == pytest.approx(figures[0], abs=0.03)


def test_eye_sharpness_uses_the_eyes():
    lm = _stored("astronaut")
    image = Image.open(paths.demo_photos_dir() / "astronaut.png").convert("RGB")
    box = (177.75, 56.89, 273.05, 177.29)
    sharp = face_sharpness(image, box, (lm.right_eye, lm.left_eye))
    soft = face_sharpness(image.filter(ImageFilter.GaussianBlur(1.5)), box, (lm.right_eye, lm.left_eye))
    assert sharp is not None and soft is not None and sharp > soft + 0.1
    assert sharpness(np.zeros((8, 8))) is None
    assert sharpness(np.full((40, 40), 100.0)) == 0.0


@pytest.mark.slow
def test_eye_crops_from_the_detectors_points_match_the_mesh(landmarker, astronaut, astronaut_face):
    """The pass cuts the iris crops from RetinaFace's eye points (no face mesh): the lids land where the mesh's
    crops put them, to a small fraction of the eye's width, with the same verdict."""
    (direct,) = landmarker.landmarks(astronaut, [astronaut_face])
    (meshed,) = landmarker.landmarks(astronaut, [astronaut_face], mesh=True)
    for a, b in ((direct.right_eye, meshed.right_eye), (direct.left_eye, meshed.left_eye)):
        width = float(np.linalg.norm(b[0] - b[8]))
        assert np.abs(a[:16] - b[:16]).max() < 0.1 * width
    assert eye_state(direct).state == eye_state(meshed).state == EyeState.OPEN
    assert direct.presence == pytest.approx(astronaut_face.confidence) and meshed.mesh.shape == (468, 2)


@pytest.mark.slow
def test_the_lid_head_alone_gives_the_same_contours(landmarker, astronaut, astronaut_face):
    """Without iris points only the iris network's lid head runs; the contours are the same numbers."""
    with_iris = landmarker.landmarks_of_photos([astronaut], [[astronaut_face]])[0][0]
    lids_only = landmarker.landmarks_of_photos([astronaut], [[astronaut_face]], iris_points=False)[0][0]
    np.testing.assert_allclose(lids_only.right_eye, with_iris.right_eye, atol=1e-4)
    np.testing.assert_allclose(lids_only.left_eye, with_iris.left_eye, atol=1e-4)
    assert lids_only.right_iris.shape == (0, 2) and with_iris.right_iris.shape == (5, 2)
    ops = landmarker.iris.needed(landmarker.iris.outputs[:1])
    assert 0 < len(ops) < len(landmarker.iris.ops) and not any(op[1].endswith("conv_iris") for op in ops)


def test_a_subjects_closed_eyes_count_a_passer_bys_do_not():
    """What the checks write into the embedding (the score's closed-eyes penalty reads it): a sure face at least
    half as wide as the largest sure face is a subject; an unsure or small face's eyes do not count."""
    from selfie_desk.core.measures.face import Face
    from selfie_desk.core.measures.face_check import FaceCheck, face_check_values, subjects

    big, small = Face((0, 0, 200, 240), 0.99, ()), Face((500, 0, 560, 70), 0.95, ())
    unsure = Face((300, 0, 500, 240), 0.6, ())
    closed, opened = FaceCheck(EyeState.CLOSED, 0.5), FaceCheck(EyeState.OPEN, 0.5)
    assert subjects([f.box for f in (big, small, unsure)], [0.99, 0.95, 0.6]) == [True, False, False]
    assert face_check_values([big, small], [opened, closed]).tolist() == [0.0]
    assert face_check_values([big, small], [closed, opened]).tolist() == [1.0]
    assert face_check_values([big, unsure], [opened, closed]).tolist() == [0.0]
    assert face_check_values([], []).tolist() == [0.0]


def test_unknown_eyes_are_said_as_cant_tell():
    assert eyes.EYE_WORDS[EyeState.UNKNOWN.value] == "can't tell"
    assert {eyes.EYE_WORDS[s.value] for s in EyeState} == {"eyes open", "eyes closed", "can't tell"}
