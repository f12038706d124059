"""Why a photo scores as it does, in words a photographer uses, only where they hold.

From the aspects (ASPECTS, made by neural.model.AspectHeads, each in [0, 1], higher is better), the faces
and the view's exposure statistics. Torch-free: the window and the command line read it. A reason is given
only when its aspect is clearly bad (below BAD) or a geometric fact is plain (a face touching the frame's edge).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from selfie_desk.core.measures import look

Box = tuple[float, float, float, float]

ASPECTS = ("sharpness", "noise", "exposure", "framing")  # what `score --json` reports, in this order

BAD = 0.35  # an aspect below this is worth a reason
MID_GREY = 0.42  # the median luma of a well-exposed photo, roughly (sRGB)
EDGE = 0.005  # a face box within this share of the frame's side from an edge touches it
SMALL_FACE = 0.012  # the largest face covering less of the frame than this: the subject is small
MIN_FACE_CONFIDENCE = 0.8

SOFT = "soft focus"
SOFT_FACE = "soft focus on the face"
MISSED_FACE = "missed focus on the face"
MOTION = "motion blur"
SHAKE = "camera shake"
NOISY = "noisy"
COMPRESSED = "heavily compressed"
FACE_CUT = "face cut by the frame"
SMALL = "subject small in the frame"
FRAMING = "awkward framing"
DARK = "dark"
BRIGHT = "bright"
CLOSED_EYES = "closed eyes"
# Filters in the window name these families (a reason's text may carry a number, e.g. "2 stops dark").
FAMILIES = {
    "soft focus": (SOFT, SOFT_FACE, MISSED_FACE, MOTION, SHAKE),
    "noisy": (NOISY,),
    "badly exposed": (DARK, BRIGHT),
    "framing": (FACE_CUT, SMALL, FRAMING),
    "compressed": (COMPRESSED,),
    "closed eyes": (CLOSED_EYES,),
}


def stops_off(view_stats: Sequence[float] | np.ndarray) -> float:
    """How many stops the photo's median luma sits from mid grey (negative: dark), in linear light."""
    p50 = max(float(view_stats[look.VIEW_NAMES.index("lum_p50")]), 1e-3)
    return 2.2 * math.log2(p50 / MID_GREY)


def _stops(n: float) -> str:
    n = round(abs(n) * 2) / 2
    return f"{n:g} stop{'s' if n != 1 else ''}"


# How a soft photo is said (the focus looks, core/measures/focus.py, passed in the aspects by neural.model.AspectHeads).
# A face at a common size (~112 px) whose focus is under FACE_SOFT is soft however sharp the rest: the 1st
# percentile of 1,755 sharp faces (synthetic set and real tuning photos, tools/fit_score.py), rounded down to 0.05.
# Blur that removes detail along one direction in most judged blocks (AGREE) is the camera's: 87 % of synthetic
# linear smears and 50 % of hand-held shake paths reach it, 10 % of missed focus; blur along one direction in a
# block (DIRECTIONAL, the anisotropy of core/measures/focus.py) without that agreement is a moving subject.
FACE_SOFT = 0.35
AGREE = 0.6
DIRECTIONAL = 0.55


def soft_words(aspects: dict[str, float], detail_on_face: bool) -> str | None:
    """The photographer's word for a soft photo, or None when it is sharp: "camera shake" (the whole frame
    smeared one way), "motion blur" (a subject or the face smeared), "missed focus on the face" (the face soft,
    the rest sharp), or "soft focus" (on the face) when the blur has no direction."""
    photo_soft = aspects.get("sharpness", 1.0) < BAD
    has_face = aspects.get("focus_has_face", 0.0) > 0.5
    face_soft = has_face and aspects.get("focus_face", 1.0) < FACE_SOFT
    if not photo_soft and not face_soft:
        return None
    if photo_soft and aspects.get("focus_dir_agree", 0.0) >= AGREE:
        return SHAKE
    # A soft face whose blur has no direction is not motion blur, whatever the blocks say: the face is where the
    # photographer looks, and when the whole frame is smeared evenly the few strong edges left read directional
    # (a Gaussian blur of 6-10 px on the 512-px astronaut: the blocks' anisotropy 0.48-0.51, the face's 0.65-0.83).
    face_even = face_soft and aspects.get("focus_face_aniso", 1.0) >= DIRECTIONAL
    if (face_soft and not face_even) or (
            photo_soft and not face_even and aspects.get("focus_aniso", 1.0) < DIRECTIONAL):
        return MOTION
    if face_soft and aspects.get("sharpness", 1.0) >= BAD:
        return MISSED_FACE
    return SOFT_FACE if detail_on_face else SOFT


def explain(aspects: dict[str, float], faces: Sequence[Box], width: int, height: int,
            view_stats: Sequence[float] | np.ndarray, detail_on_face: bool, eyes: Sequence[str] = ()) -> list[str]:
    """`eyes`: each trusted face's eyes (core.measures.eyes.EyeState values); "closed eyes" only where one is closed."""
    out: list[str] = []
    soft = soft_words(aspects, detail_on_face)
    if soft is not None:
        out.append(soft)
    if aspects.get("noise", 1.0) < BAD:
        out.append(NOISY)
    off = stops_off(view_stats)
    if aspects.get("dark", 1.0) < BAD:
        out.append(f"{_stops(off)} {DARK}" if off <= -1 else f"too {DARK}")
    elif aspects.get("bright", 1.0) < BAD:
        clipped = float(view_stats[look.VIEW_NAMES.index("clip_bright")])
        if off >= 1:
            out.append(f"{_stops(off)} {BRIGHT}")
        else:
            out.append("highlights blown" if clipped > 0.05 else f"too {BRIGHT}")
    if aspects.get("compression", 1.0) < BAD:
        out.append(COMPRESSED)
    if "closed" in eyes:
        out.append(CLOSED_EYES)
    # `faces`: the ones the caller trusts (confidence >= MIN_FACE_CONFIDENCE)
    if faces and width and height:
        if any(_touches_edge(f, width, height) for f in faces):
            out.append(FACE_CUT)
        largest = max((f[2] - f[0]) * (f[3] - f[1]) for f in faces) / (width * height)
        if largest < SMALL_FACE:
            out.append(SMALL)
        elif aspects.get("framing", 1.0) < BAD and FACE_CUT not in out:
            out.append(FRAMING)
    return out


def _touches_edge(face: Box, width: int, height: int) -> bool:
    x0, y0, x1, y1 = face
    if (x1 - x0) * (y1 - y0) < 0.002 * width * height:
        return False  # a face in the crowd at the edge is not the subject cut off
    mx, my = EDGE * width, EDGE * height
    return x0 <= mx or y0 <= my or x1 >= width - mx or y1 >= height - my


def family_of(reason: str) -> str | None:
    for family, members in FAMILIES.items():
        if any(reason == m or reason.endswith(" " + m) or reason.startswith(m) for m in members):
            return family
    if reason == "highlights blown":
        return "badly exposed"
    return None
