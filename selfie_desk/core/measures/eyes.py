"""Open, closed or unknown eyes per face, from eye landmarks (numpy only: no torch here).

Each eye's openness is its lid gap over its width (the eye aspect ratio of Soukupova & Cech 2016, here the
mean of five upper-to-lower lid distances of the iris network's 16-point lid contour over the corner-to-corner
span): rotation and scale invariant, and a closed eye's lids meet. Both eyes below ``CLOSED_BELOW`` is closed,
both at or above ``OPEN_FROM`` is open, anything else unknown (a half-open eye, or eyes that disagree); a face
too small in pixels, turned far away or not looking like a face (detector or mesh) is unknown too: a blink
flagged on an open-eyed face costs a user a good frame, so this says unknown rather than guess. Not handled yet:
a face looking down with lowered lids is called closed, and so may be sunglasses (models/README.md).

The two cut-offs were set from open eyes only, those of the Pixabay portraits of the tuning half
(``tools/eyes_eval.py --fit-open``): no closed-eye data set was used to fit or to choose anything. Closed Eyes
in the Wild (research terms) only measures the rule afterwards, on the held-out half (models/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class EyeState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


# What the window says of a face's eyes (the JSON keeps the states' values): "unknown" is said as what it is, a
# face whose eyes the rule cannot tell (too small, turned away, half open), never as nothing (which read as open).
EYE_WORDS = {EyeState.OPEN.value: "eyes open", EyeState.CLOSED.value: "eyes closed",
             EyeState.UNKNOWN.value: "can't tell"}


# Openness (lid gap / eye width) cut-offs, from the tuning half's open faces alone (tools/eyes_eval.py
# --fit-open): CLOSED_BELOW is the 1st percentile of an open face's wider eye, rounded down (so about 1 open face
# in 200 there has both eyes below it); OPEN_FROM sits two standard deviations of one eye's measurement noise
# above it (the noise read from the spread between the two eyes of open faces), so a closed eye rarely reaches it.
CLOSED_BELOW = 0.16
OPEN_FROM = 0.21
# Narrower eyes (in the photo's pixels) carry too few pixels to tell. 12 px was set before any data; 8 px (issue 27)
# on the tuning halves of the open portraits and of Closed Eyes in the Wild: the faces with 8-12 px eyes were
# decided as accurately as larger ones there (0.3 % more missed blinks, no more false alarms on the open faces),
# and a person tells an 8-px eye's blink on a screen (models/README.md).
MIN_EYE_WIDTH_PX = 8.0
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
    right_ear: float  # each eye's openness (lid gap / width): what the verdict comes from
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


def _one(openness: float) -> EyeState:
    if openness < CLOSED_BELOW:
        return EyeState.CLOSED
    if openness >= OPEN_FROM:
        return EyeState.OPEN
    return EyeState.UNKNOWN


def openness_cutoffs(open_faces: np.ndarray) -> tuple[float, float]:
    """(CLOSED_BELOW, OPEN_FROM) from open-eyed faces alone: ``open_faces`` is (n, 2), each face's two eyes'
    openness, for faces the rule would judge (tools/eyes_eval.py --fit-open; tests/data/eyes_open_tuning.json).

    The closed cut is the 1st percentile of each face's wider eye, rounded down to 0.01; the open cut adds two
    standard deviations of one eye's measurement noise (the two eyes' difference: its MAD, scaled to a normal
    standard deviation, over sqrt 2), rounded up to 0.01.
    """
    faces = np.asarray(open_faces, dtype=np.float64)
    closed_below = float(np.floor(np.percentile(faces.max(axis=1), 1) * 100 + 1e-9) / 100)
    d = faces[:, 0] - faces[:, 1]
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2)
    open_from = float(np.ceil((closed_below + 2 * noise) * 100 - 1e-9) / 100)
    return closed_below, open_from


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

