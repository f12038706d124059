"""Open, closed or unknown eyes per face, from eye landmarks (numpy only: no torch here).

Each eye's opening is its eye aspect ratio on the iris network's tight lid contour: the mean gap between
the upper and lower lid at five points along the eye, over the corner-to-corner width. Both eyes must agree
for a verdict; a face too small in pixels, turned far away, not looking like a face to the mesh, or whose
eyes disagree or sit between the two thresholds is ``unknown``: a blink flagged on an open-eyed face costs a
user a good frame, so this says unknown rather than guess (looking down and laughing squints fall between the
thresholds; dark sunglasses give an unreliable contour and usually land there too).

The thresholds were chosen on the tuning half of the evaluation data only (``tools/eyes_eval.py``,
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


# Eye aspect ratio (lid gap / eye width): at or above OPEN_EAR open, at or below CLOSED_EAR closed.
OPEN_EAR = 0.20
CLOSED_EAR = 0.12
MIN_EYE_WIDTH_PX = 12.0  # narrower eyes (in the photo's pixels) carry too few pixels to tell
MIN_PRESENCE = 0.5  # the mesh network's own face score
MAX_TURN = 0.45  # 1 - (narrower eye / wider eye): beyond this the face is turned too far
# Contour points (the iris network's first 16: 0 outer corner, 1-7 lower lid, 8 inner corner, 9-15 upper lid).
_OUTER, _INNER = 0, 8
_LID_PAIRS = ((2, 10), (3, 11), (4, 12), (5, 13), (6, 14))


@dataclass(frozen=True)
class EyeLandmarks:
    """One face's landmarks in photo pixels; eyes are the subject's (right eye on the image's left)."""

    face_box: tuple[float, float, float, float]
    presence: float  # the mesh network's face score in [0, 1]
    mesh: np.ndarray  # (468, 2) face mesh
    right_eye: np.ndarray  # (71, 2) eye and brow contour, the first 16 the lids
    left_eye: np.ndarray
    right_iris: np.ndarray  # (5, 2) centre then four edge points
    left_iris: np.ndarray


@dataclass(frozen=True)
class EyeVerdict:
    state: EyeState
    right_ear: float
    left_ear: float
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


def _one(ear: float) -> EyeState:
    if ear >= OPEN_EAR:
        return EyeState.OPEN
    if ear <= CLOSED_EAR:
        return EyeState.CLOSED
    return EyeState.UNKNOWN


def eye_state(lm: EyeLandmarks) -> EyeVerdict:
    """The face's eyes: open, closed or unknown, with the measured ratios and the reason."""
    right, left = aspect_ratio(lm.right_eye), aspect_ratio(lm.left_eye)
    wr, wl = eye_width(lm.right_eye), eye_width(lm.left_eye)

    def unknown(reason: str) -> EyeVerdict:
        return EyeVerdict(EyeState.UNKNOWN, right, left, reason)

    if lm.presence < MIN_PRESENCE:
        return unknown("not clearly a face")
    if max(wr, wl) < MIN_EYE_WIDTH_PX:
        return unknown("face too small")
    if 1.0 - min(wr, wl) / max(wr, wl, 1e-6) > MAX_TURN:
        return unknown("face turned away")
    sr, sl = _one(right), _one(left)
    if sr == sl and sr != EyeState.UNKNOWN:
        return EyeVerdict(sr, right, left, f"both eyes {sr.value}")
    if EyeState.UNKNOWN in (sr, sl):
        return unknown("eyes half open")
    return unknown("eyes disagree")


def eye_states(landmarks: list[EyeLandmarks]) -> list[EyeVerdict]:
    return [eye_state(lm) for lm in landmarks]
