"""Open, closed or unknown eyes per face, from eye landmarks (numpy only: no torch here).

Each eye's lid contour (the iris network's 16 tight points) is put in the eye's own frame (outer corner at 0,
inner corner at 1, "up" the same for both eyes) and the heights of its 14 lid points feed a logistic model of
"closed" (14 weights and a bias, fitted by ``tools/eyes_eval.py --fit``). The plain eye aspect ratio (lid gap
over width) is reported beside it; alone (cut-offs 0.12 / 0.20) it left ~60 % of closed faces undecided,
against ~35 % with the lid model. Both eyes must agree
for a verdict; a face too small in pixels, turned far away, not looking like a face (detector or mesh), or whose
eyes disagree or sit between the two thresholds is ``unknown``: a blink flagged on an open-eyed face costs a
user a good frame, so this says unknown rather than guess. Not handled yet: a face looking down with lowered
lids is called closed, and so may be sunglasses (models/README.md has the measured cases).

The weights and cut-offs were chosen on the tuning half of the evaluation data only (``tools/eyes_eval.py``,
models/README.md): open eyes from Pixabay portraits, closed eyes from Closed Eyes in the Wild.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class EyeState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


# The closed-eye logit of one eye: CLOSED_WEIGHTS . lid heights (lower lid points 1-7, upper lid 9-15, in eye
# widths, up positive) + CLOSED_BIAS. At or above CLOSED_LOGIT closed, at or below OPEN_LOGIT open.
CLOSED_WEIGHTS = np.array(
    [1.644, 2.746, 3.188, 2.56, 1.429, 0.459, 0.233, -1.593, -3.364, -5.714, -7.483, -7.51, -4.913, -1.605]
)
CLOSED_BIAS = 4.574
CLOSED_LOGIT = 1.0
OPEN_LOGIT = -0.5
MIN_EYE_WIDTH_PX = 10.0  # narrower eyes (in the photo's pixels) carry too few pixels to tell
MIN_PRESENCE = 0.5  # the face score: the detector's confidence (or, via the face mesh, the mesh's own)
MAX_TURN = 0.45  # 1 - (narrower eye / wider eye): beyond this the face is turned too far
# Contour points (the iris network's first 16: 0 outer corner, 1-7 lower lid, 8 inner corner, 9-15 upper lid).
_OUTER, _INNER = 0, 8
_LID_PAIRS = ((2, 10), (3, 11), (4, 12), (5, 13), (6, 14))


@dataclass(frozen=True)
class EyeLandmarks:
    """One face's landmarks in photo pixels; eyes are the subject's (right eye on the image's left)."""

    face_box: tuple[float, float, float, float]
    presence: float  # the face score in [0, 1] (the detector's confidence, or the face mesh's)
    mesh: np.ndarray  # (468, 2) face mesh, or (0, 2) when the eyes were cut from the detector's points
    right_eye: np.ndarray  # (71, 2) eye and brow contour, the first 16 the lids
    left_eye: np.ndarray
    right_iris: np.ndarray  # (5, 2) centre then four edge points
    left_iris: np.ndarray

    def mapped(self, scale: float, dx: float, dy: float) -> EyeLandmarks:
        """The same landmarks in another image: each point times ``scale``, plus (dx, dy) (from a reduced crop
        back to its photo)."""
        d = np.array([dx, dy], dtype=np.float32)
        x0, y0, x1, y1 = self.face_box
        return EyeLandmarks((x0 * scale + dx, y0 * scale + dy, x1 * scale + dx, y1 * scale + dy), self.presence,
                            self.mesh * scale + d, self.right_eye * scale + d, self.left_eye * scale + d,
                            self.right_iris * scale + d, self.left_iris * scale + d)


@dataclass(frozen=True)
class EyeVerdict:
    state: EyeState
    right_ear: float  # eye aspect ratios, for display and tuning
    left_ear: float
    right_logit: float  # the closed-eye logits the verdict comes from
    left_logit: float
    reason: str  # why, in a few words (for "unknown" especially)


def eye_width(contour: np.ndarray) -> float:
    return float(np.linalg.norm(contour[_OUTER] - contour[_INNER]))


def aspect_ratio(contour: np.ndarray) -> float:
    """Lid gap over eye width for one eye's contour (rotation and scale invariant)."""
    width = eye_width(contour)
    if width <= 0:
        return 0.0
    gaps = [np.linalg.norm(contour[up] - contour[low]) for low, up in _LID_PAIRS]
    return float(np.mean(gaps) / width)


def lid_heights(contour: np.ndarray, mirrored: bool) -> np.ndarray:
    """The 14 lid points' heights above the corner-to-corner line, in eye widths, "up" positive.

    ``mirrored`` for the subject's left eye (outer corner on the image's right), so both eyes share one frame.
    """
    c = np.asarray(contour, dtype=np.float64)[:16]
    outer, inner = c[_OUTER], c[_INNER]
    width = float(np.linalg.norm(inner - outer))
    if width <= 0:
        return np.zeros(14)
    e = (inner - outer) / width
    up = np.array([-e[1], e[0]]) if mirrored else np.array([e[1], -e[0]])
    v = (c - outer) @ up / width
    return np.concatenate([v[1:8], v[9:16]])


def closed_logit(contour: np.ndarray, mirrored: bool) -> float:
    return float(lid_heights(contour, mirrored) @ CLOSED_WEIGHTS + CLOSED_BIAS)


def _one(logit: float) -> EyeState:
    if logit >= CLOSED_LOGIT:
        return EyeState.CLOSED
    if logit <= OPEN_LOGIT:
        return EyeState.OPEN
    return EyeState.UNKNOWN


def eye_state(lm: EyeLandmarks) -> EyeVerdict:
    """The face's eyes: open, closed or unknown, with the measured ratios and the reason."""
    right, left = aspect_ratio(lm.right_eye), aspect_ratio(lm.left_eye)
    lr, ll = closed_logit(lm.right_eye, False), closed_logit(lm.left_eye, True)
    wr, wl = eye_width(lm.right_eye), eye_width(lm.left_eye)

    def unknown(reason: str) -> EyeVerdict:
        return EyeVerdict(EyeState.UNKNOWN, right, left, lr, ll, reason)

    if lm.presence < MIN_PRESENCE:
        return unknown("not clearly a face")
    if max(wr, wl) < MIN_EYE_WIDTH_PX:
        return unknown("face too small")
    if 1.0 - min(wr, wl) / max(wr, wl, 1e-6) > MAX_TURN:
        return unknown("face turned away")
    sr, sl = _one(lr), _one(ll)
    if sr == sl and sr != EyeState.UNKNOWN:
        return EyeVerdict(sr, right, left, lr, ll, f"both eyes {sr.value}")
    if EyeState.UNKNOWN in (sr, sl):
        return unknown("eyes half open")
    return unknown("eyes disagree")


def eye_states(landmarks: list[EyeLandmarks]) -> list[EyeVerdict]:
    return [eye_state(lm) for lm in landmarks]
