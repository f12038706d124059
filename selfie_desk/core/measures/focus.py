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

from collections.abc import Sequence

import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]

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

    With the two eyes' contours (``selfie_desk.core.measures.eyes.EyeLandmarks.right_eye`` / ``left_eye``) it is the
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


# ---- the photo's focus, as a person judges it on a screen (the look's focus statistics) ------------------------
# Sharpness is judged on the photo at a screen's size: the detail decode reduced to at most JUDGE_EDGE on its long
# edge (a 12 MP photo at ~1/4, a video frame or a 500-px photo as it is). A blur of a few pixels at 100 % of a
# 12 MP photo is invisible there; a smear of 1-2 % of the frame, the kind people call blurred, is 10-20 px.
JUDGE_EDGE = 1024
BLOCK = 48  # pixels of one judged block at that scale
TOP_BLOCKS = 24  # the most detailed blocks are judged: where the eye goes, and where the subject usually is
DIR_REBLUR = 5  # the directional re-blur's box length
FACE_JUDGE_PX = 112  # a face is judged with its box brought to this width (if larger): blur relative to the face
MIN_FACE_JUDGE_PX = 24
BLOCK_NAMES = (
    "focus_top", "focus_p75", "focus_p50", "focus_top_min", "focus_top_max", "focus_aniso", "focus_dir_agree",
    "focus_half_top", "focus_blocks",
)
FACE_FOCUS_NAMES = ("focus_face", "focus_face_aniso", "focus_has_face")
FOCUS_NAMES = BLOCK_NAMES + FACE_FOCUS_NAMES
N_FOCUS = len(FOCUS_NAMES)
# The four directions, as pixel steps: along x, along y and the two diagonals.
_STEPS = ((0, 1), (1, 0), (1, 1), (1, -1))


def directional_sharpness(blocks: np.ndarray) -> np.ndarray:
    """(K, H, W) float luma blocks -> (K, 4) sharpness along x, y and both diagonals: the share of the
    neighbour-to-neighbour variation that a short blur along that direction removes (the re-blur test of
    Crete-Roffet et al. 2007, per direction). Motion blur removes it along the motion only, a missed focus in
    every direction. In [0, 1], independent of the block's contrast and brightness."""
    a = np.asarray(blocks, np.float32)
    half = DIR_REBLUR // 2
    _, h, w = a.shape

    def part(x: np.ndarray, oy: int, ox: int, pad: int) -> np.ndarray:  # a shifted view, no copy
        return x[:, pad + oy : x.shape[1] - pad + oy, pad + ox : x.shape[2] - pad + ox]

    out = np.zeros((len(a), 4), np.float32)
    if min(h, w) <= 2 * half + 3:
        return out
    for k, (dy, dx) in enumerate(_STEPS):
        b = part(a, -half * dy, -half * dx, half).copy()  # valid where the blur's whole line is inside
        for j in range(-half + 1, half + 1):
            b += part(a, j * dy, j * dx, half)
        b *= 1 / DIR_REBLUR
        d_b = np.abs(part(b, dy, dx, 1) - part(b, 0, 0, 1))
        d_f = np.abs(part(a, dy, dx, half + 1) - part(a, 0, 0, half + 1))
        s_f = d_f.sum(axis=(1, 2))
        s_v = np.maximum(d_f - d_b, 0.0).sum(axis=(1, 2))
        out[:, k] = np.where(s_f > 1e-6, s_v / np.maximum(s_f, 1e-6), 0.0)
    return out


def anisotropy(d: np.ndarray) -> np.ndarray:
    """(K, 4) directional sharpness -> (K,) how evenly sharp across directions, in (0, 1]: the lower ratio of the
    two pairs of equal step length (x against y, one diagonal against the other; a diagonal step is 1.4 px, so
    an even blur reads differently along the diagonals than along the axes). 1 for an even blur or none, low for
    blur along one direction."""
    axes = np.minimum(d[:, 0], d[:, 1]) / np.maximum(np.maximum(d[:, 0], d[:, 1]), 1e-6)
    diagonals = np.minimum(d[:, 2], d[:, 3]) / np.maximum(np.maximum(d[:, 2], d[:, 3]), 1e-6)
    out: np.ndarray = np.minimum(axes, diagonals)
    return out


def weakest_direction(d: np.ndarray) -> np.ndarray:
    """(K, 4) -> (K,) the direction blur removed most detail along, within the more uneven pair (so that the
    diagonals' longer step does not make them the weakest for every even blur)."""
    axes = np.minimum(d[:, 0], d[:, 1]) / np.maximum(np.maximum(d[:, 0], d[:, 1]), 1e-6)
    diagonals = np.minimum(d[:, 2], d[:, 3]) / np.maximum(np.maximum(d[:, 2], d[:, 3]), 1e-6)
    out: np.ndarray = np.where(axes <= diagonals, np.argmin(d[:, :2], axis=1), 2 + np.argmin(d[:, 2:], axis=1))
    return out


def judging_factor(size: tuple[int, int]) -> int:
    """Source pixels per judged pixel for a photo (or decode) of ``size``: the integer that brings its long
    edge to at most JUDGE_EDGE."""
    return max(1, -(-max(size) // JUDGE_EDGE))


def _reduce(a: np.ndarray, k: int) -> np.ndarray:
    """Box-reduce the last two axes of ``a`` (uint8, (N, H, W)) by ``k``: float32 in [0, 1]. The stack goes
    through Pillow's reduce as one tall image (numpy's mean over strided axes cost 10x more)."""
    n, h, w = a.shape
    if k > 1:
        h, w = (h // k) * k, (w // k) * k
        tall = Image.fromarray(np.ascontiguousarray(a[:, :h, :w]).reshape(n * h, w)).reduce(k)
        a = np.asarray(tall).reshape(n, h // k, w // k)
    return a.astype(np.float32) * (1 / 255.0)


def top_blocks(gray: np.ndarray, energy: np.ndarray, per_cell: float, count: int = TOP_BLOCKS) -> np.ndarray:
    """The ``count`` blocks of ``gray`` (the detail luma, uint8) with the most gradient energy, each BLOCK x BLOCK
    at the judging scale (K, BLOCK, BLOCK; float in [0, 1]). ``energy``: a gradient-magnitude image of the same
    photo at any scale (the view's, already computed), ``per_cell`` detail pixels per one of its pixels. Only
    the chosen blocks are cut out and reduced: judging the whole decode at 1024 px cost ~10 ms more."""
    h, w = gray.shape
    k = judging_factor((w, h))
    side = BLOCK * k  # detail pixels of one block
    cell = max(1, int(round(side / per_cell)))  # energy pixels of one block
    eh, ew = energy.shape
    ny, nx = min(eh // cell, h // side), min(ew // cell, w // side)
    if ny == 0 or nx == 0:
        return _reduce(gray[None, : min(h, side), : min(w, side)], k)
    sums = energy[: ny * cell, : nx * cell].reshape(ny, cell, nx, cell).sum(axis=(1, 3)).ravel()
    order = np.argsort(-sums)[:count]
    tiles = np.stack([gray[(i // nx) * side : (i // nx + 1) * side, (i % nx) * side : (i % nx + 1) * side]
                      for i in order])
    return _reduce(tiles, k)


def _face_region(gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
    """The inner part of a face box (detail pixels), reduced so the face is at most FACE_JUDGE_PX wide."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = FACE_INNER * (x1 - x0) / 2, FACE_INNER * (y1 - y0) / 2
    h, w = gray.shape
    ya, yb = max(0, int(cy - hh)), min(h, int(np.ceil(cy + hh)))
    xa, xb = max(0, int(cx - hw)), min(w, int(np.ceil(cx + hw)))
    k = max(1, int((x1 - x0) // FACE_JUDGE_PX))
    if min(yb - ya, xb - xa) < MIN_FACE_JUDGE_PX * k:
        return None
    region: np.ndarray = _reduce(gray[None, ya:yb, xa:xb], k)[0]
    return region


def block_stats(gray: np.ndarray, energy: np.ndarray | None = None, per_cell: float = 1.0) -> np.ndarray:
    """The photo's focus where it is most detailed (BLOCK_NAMES), from its luma (uint8, the detail decode).
    Judged on the most detailed blocks (a sharp subject on a blurred background is sharp where it matters),
    per direction (motion blur and camera shake smear one direction, a missed focus every one), and at half
    that scale too (large blur). ``energy``/``per_cell``: a gradient image to choose the blocks on
    (``top_blocks``: the view's, in the pass); without it one is made from the luma."""
    if energy is None:
        step = max(1, judging_factor(gray.shape[::-1]) * 2)
        small = gray[::step, ::step].astype(np.float32)
        energy = np.abs(np.diff(small, axis=1))[:-1] + np.abs(np.diff(small, axis=0))[:, :-1]
        per_cell = float(step)
    blocks = top_blocks(gray, energy, per_cell)
    d = directional_sharpness(blocks)  # (K, 4)
    mean = d.mean(axis=1)
    ranked = np.sort(mean)
    top = np.argsort(-mean)[: max(1, len(mean) // 8)]
    ratio = np.sort(anisotropy(d))
    weakest = weakest_direction(d)
    n, bh, bw = blocks.shape
    half = _halve(blocks)
    dh = np.sort(directional_sharpness(half).mean(axis=1)) if half is not None else ranked
    out = np.array([
        float(mean[top].mean()), float(ranked[(3 * n) // 4]), float(ranked[n // 2]),
        float(d[top].min(axis=1).mean()), float(d[top].max(axis=1).mean()), float(ratio[n // 2]),
        float(np.bincount(weakest, minlength=4).max() / n), float(dh[-max(1, n // 8):].mean()),
        float(n) / TOP_BLOCKS,
    ], np.float32)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def _halve(blocks: np.ndarray) -> np.ndarray | None:
    n, h, w = blocks.shape
    if min(h, w) < 16:
        return None
    half: np.ndarray = 0.25 * (blocks[:, 0 : h - 1 : 2, 0 : w - 1 : 2] + blocks[:, 1:h:2, 0 : w - 1 : 2]
                               + blocks[:, 0 : h - 1 : 2, 1:w:2] + blocks[:, 1:h:2, 1:w:2])
    return half


def face_focus_stats(gray: np.ndarray, faces: Sequence[Box] = ()) -> np.ndarray:
    """The largest face's focus (FACE_FOCUS_NAMES) brought to a common size (blur relative to the face: a
    missed focus on the face), from the detail luma (uint8) and faces in its pixels; zeros without a face
    large enough to judge."""
    if len(faces):
        region = _face_region(gray, max(faces, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])))
        if region is not None:
            fd = directional_sharpness(region[None])[0]
            return np.array([fd.mean(), float(anisotropy(fd[None])[0]), 1.0], np.float32)
    return np.array([0.0, 1.0, 0.0], np.float32)


def focus_stats(gray: np.ndarray, faces: Sequence[Box] = ()) -> np.ndarray:
    """Both (FOCUS_NAMES) for a luma image alone (tools, tests); the pass computes them apart
    (core/measures/look.py)."""
    return np.concatenate([block_stats(gray), face_focus_stats(gray, faces)])
