"""How sharp a face is, at the photo's native resolution (numpy only: no torch here).

The measure is the re-blur test of Crété-Roffet et al. (2007, "The blur effect"): blur the region once more
with an 11-pixel box and see how much of the variation between neighbouring pixels that removes. A sharp
region loses much of it, a region already out of focus hardly any. The ratio is independent of the region's
contrast and brightness, so the frames of a burst compare with each other even when the exposure drifts;
it does depend on the face's size in pixels, which is the same across a burst. ``sharpness`` is
``1 - blur effect``: in [0, 1], higher is sharper (sharp portraits ~0.6-0.8, a 2-px Gaussian blur ~0.3).
When eye landmarks are known, the eyes are what focus is judged on, as photographers do.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

REBLUR = 11  # the box filter's length, as in the paper
MIN_REGION_PX = 16  # smaller regions give no reliable figure
FACE_INNER = 0.8  # the central part of the detector's box: skin and features, little background


def _gray(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("L"), dtype=np.float64)
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[..., :3] @ np.array([0.299, 0.587, 0.114])
    return arr


def _box_blur(a: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Mean over ``size`` neighbours along one axis, edges replicated (a cumulative-sum box filter)."""
    half = size // 2
    padded = np.pad(a, [(half, half) if ax == axis else (0, 0) for ax in range(a.ndim)], mode="edge")
    c = np.cumsum(padded, axis=axis, dtype=np.float64)
    zero = np.zeros_like(np.take(c, [0], axis=axis))
    c = np.concatenate([zero, c], axis=axis)
    n = a.shape[axis]
    return (np.take(c, np.arange(size, size + n), axis=axis) - np.take(c, np.arange(n), axis=axis)) / size


def sharpness(region: Image.Image | np.ndarray) -> float | None:
    """Sharpness in [0, 1] of an image region (grey or RGB), or None when it is too small to tell."""
    f = _gray(region)
    if min(f.shape) < MIN_REGION_PX:
        return None
    blur = 0.0
    for axis in (0, 1):
        b = _box_blur(f, axis, REBLUR)
        d_f = np.abs(np.diff(f, axis=axis))
        d_b = np.abs(np.diff(b, axis=axis))
        s_f = float(d_f.sum())
        if s_f <= 1e-9:  # flat: nothing to be sharp about
            return 0.0
        s_v = float(np.maximum(d_f - d_b, 0.0).sum())
        blur = max(blur, (s_f - s_v) / s_f)
    return float(np.clip(1.0 - blur, 0.0, 1.0))


def _crop(gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = gray.shape
    x0, y0, x1, y1 = box
    return gray[max(0, int(y0)) : min(h, int(np.ceil(y1))), max(0, int(x0)) : min(w, int(np.ceil(x1)))]


def eye_box(contour: np.ndarray, margin: float = 0.35) -> tuple[float, float, float, float]:
    """The box around one eye's lid contour (its first 16 points), widened by ``margin`` of its width."""
    pts = np.asarray(contour)[:16]
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    m = margin * (x1 - x0)
    return float(x0 - m), float(y0 - m), float(x1 + m), float(y1 + m)


def face_sharpness(
    image: Image.Image | np.ndarray,
    box: tuple[float, float, float, float],
    eye_contours: tuple[np.ndarray, np.ndarray] | None = None,
) -> float | None:
    """Sharpness in [0, 1] of one face in ``image`` (native resolution, the box in its pixels).

    With the two eyes' contours (``selfie_desk.core.eyes.EyeLandmarks.right_eye`` / ``left_eye``) it is the
    sharper eye's figure (a shallow depth of field keeps one eye in focus, and that is what counts), falling back
    to the face when the eyes are too small; None when the face is too small too.
    """
    gray = _gray(image)
    if eye_contours is not None:
        figures = [sharpness(_crop(gray, eye_box(c))) for c in eye_contours]
        known = [f for f in figures if f is not None]
        if known:
            return max(known)
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, FACE_INNER * (x1 - x0) / 2, FACE_INNER * (y1 - y0) / 2
    return sharpness(_crop(gray, (cx - hw, cy - hh, cx + hw, cy + hh)))
