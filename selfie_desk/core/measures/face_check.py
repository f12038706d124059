"""What the scoring pass measures on each found face besides its box: the eyes (open, closed or unknown,
``selfie_desk.core.measures.eyes``) and the focus (``selfie_desk.core.measures.focus``, on the sharper eye when the
landmarks are known). Torch-free: the landmarks come from ``selfie_desk.neural.eyes``; the rules are here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from selfie_desk.core.measures import focus
from selfie_desk.core.measures.eyes import EyeLandmarks, EyeState, eye_state

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceCheck:
    """One face's eyes and sharpness in [0, 1] (None when the face is too small to tell)."""

    eyes: EyeState
    sharpness: float | None


def check_face(gray: np.ndarray, box: Box, landmarks: EyeLandmarks | None) -> FaceCheck:
    """``gray``: the photo's luma at the resolution ``box`` and ``landmarks`` are in (the detail decode).

    Only the face's neighbourhood is read, so a face costs its own pixels, not the photo's."""
    x0, y0, x1, y1 = box
    pad = 0.25 * max(x1 - x0, y1 - y0)
    h, w = gray.shape[:2]
    ox, oy = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    region = gray[oy : min(h, int(np.ceil(y1 + pad))), ox : min(w, int(np.ceil(x1 + pad)))]
    local = (x0 - ox, y0 - oy, x1 - ox, y1 - oy)
    if landmarks is None:
        return FaceCheck(EyeState.UNKNOWN, focus.face_sharpness(region, local))
    shift = np.array([ox, oy], dtype=np.float64)
    contours = (landmarks.right_eye - shift, landmarks.left_eye - shift)
    return FaceCheck(eye_state(landmarks).state, focus.face_sharpness(region, local, contours))


# A face counts as a subject (its closed eyes spoil the photo) when the detector is sure of it and it is at least
# this share of the largest sure face's width: a passer-by's blink in the background does not.
SUBJECT_CONFIDENCE = 0.8
SUBJECT_WIDTH = 0.5


def subjects(boxes: Sequence[Box], confidences: Sequence[float]) -> list[bool]:
    """Which faces are the photo's subjects (sure, and not much smaller than the largest sure face)."""
    sure = [c >= SUBJECT_CONFIDENCE for c in confidences]
    widths = [b[2] - b[0] for b in boxes]
    largest = max((w for w, ok in zip(widths, sure, strict=True) if ok), default=0.0)
    return [ok and w >= SUBJECT_WIDTH * largest for w, ok in zip(widths, sure, strict=True)]


def face_check_values(faces: Sequence[Any], checks: Sequence[FaceCheck]) -> np.ndarray:
    """What the checks add to a photo's embedding (core.measures.embedding.CHECK_NAMES): 1.0 when a subject's eyes are
    closed, else 0.0. ``faces``: objects with ``box`` and ``confidence`` (core.measures.face.Face), as ``checks``."""
    main = subjects([f.box for f in faces], [f.confidence for f in faces])
    closed = any(m and c.eyes == EyeState.CLOSED for m, c in zip(main, checks, strict=False))
    return np.array([1.0 if closed else 0.0], np.float32)
