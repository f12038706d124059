"""Blur as cameras make it, for teaching the sharpness aspect beside the real blurred photos: a missed focus
(a disc: the lens's circle of confusion, not a Gaussian), motion blur of the subject or of the camera along a
line, camera shake along a random hand-held path, and the shallow depth of field a photographer wants (a sharp
subject, the rest defocused: must stay sharp). Extents are in pixels at the judging scale
(``core.measures.focus.JUDGE_EDGE``), the scale sharpness is judged at, so that a 12 MP photo and a video frame get
blur a person would see the same way.

Used by tools/train_score.py only; the app never makes blur.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from selfie_desk.core.measures import focus

Rng = np.random.Generator
KINDS = ("defocus", "motion", "shake", "gauss")
# a blur this large (kernel extent in judged pixels) is called soft; under VISIBLE_BELOW it is not
SOFT_FROM = 4.0
VISIBLE_BELOW = 1.5


def _scale(im: Image.Image) -> float:
    """Photo pixels per judged pixel."""
    return float(focus.judging_factor(im.size))


def _convolve(im: Image.Image, kernel: np.ndarray) -> Image.Image:
    """``im`` (RGB) convolved with ``kernel`` (normalised), by FFT per channel, edges reflected."""
    from scipy.signal import fftconvolve

    a = np.asarray(im, np.float32)
    kh, kw = kernel.shape
    padded = np.pad(a, ((kh, kh), (kw, kw), (0, 0)), mode="reflect")
    out = fftconvolve(padded, (kernel / kernel.sum())[:, :, None], mode="same", axes=(0, 1))
    out = out[kh : kh + a.shape[0], kw : kw + a.shape[1]]
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def disc(radius: float) -> np.ndarray:
    r = max(radius, 0.5)
    n = int(np.ceil(r)) * 2 + 1
    y, x = np.mgrid[:n, :n] - n // 2
    # anti-aliased edge: coverage of each pixel by the disc, approximated by the distance to its centre
    return np.clip(r + 0.5 - np.sqrt(x * x + y * y), 0, 1).astype(np.float32)


def path_kernel(points: np.ndarray) -> np.ndarray:
    """A motion kernel from a path (n x 2, pixels): the time the image spends at each point, splatted."""
    pts = points - points.min(axis=0)
    n = int(np.ceil(pts.max())) + 3
    k = np.zeros((n, n), np.float32)
    fine = np.concatenate([np.linspace(a, b, 8, endpoint=False) for a, b in zip(pts[:-1], pts[1:], strict=True)]
                          + [pts[-1:]]) + 1
    for x, y in fine:
        x0, y0 = int(x), int(y)
        fx, fy = x - x0, y - y0
        k[y0, x0] += (1 - fx) * (1 - fy)
        k[y0, x0 + 1] += fx * (1 - fy)
        k[y0 + 1, x0] += (1 - fx) * fy
        k[y0 + 1, x0 + 1] += fx * fy
    return k


def line(length: float, angle: float) -> np.ndarray:
    t = np.linspace(-0.5, 0.5, max(2, int(length * 2)))[:, None]
    return path_kernel(t * length * np.array([[np.cos(angle), np.sin(angle)]]))


def shake(extent: float, rng: Rng) -> np.ndarray:
    """A hand-held camera's path during the exposure: a smooth random walk with a drift (Boracchi & Foi's
    trajectories, simplified), scaled to ``extent`` pixels end to end."""
    n = 64
    v = np.cumsum(rng.normal(0, 1, (n, 2)), axis=0) * 0.3 + rng.normal(0, 1, 2)
    p = np.cumsum(v, axis=0)
    span = float(np.ptp(p, axis=0).max()) or 1.0
    return path_kernel(p * extent / span)


def blur(im: Image.Image, kind: str, extent: float, rng: Rng) -> Image.Image:
    """``im`` blurred by ``kind`` with ``extent`` judged pixels (the kernel's size end to end)."""
    e = extent * _scale(im)
    if kind == "defocus":
        return _convolve(im, disc(e / 2))
    if kind == "motion":
        return _convolve(im, line(e, rng.uniform(0, np.pi)))
    if kind == "shake":
        return _convolve(im, shake(e, rng))
    if kind == "gauss":
        return im.filter(ImageFilter.GaussianBlur(e / 4))
    raise ValueError(kind)


def shallow_focus(im: Image.Image, subject: tuple[float, float, float, float], extent: float,
                  kind: str = "defocus", rng: Rng | None = None) -> Image.Image:
    """A sharp subject (the box, feathered) in front of a background blurred by ``extent`` judged pixels:
    defocused (a shallow depth of field) or smeared along a line (``kind="motion"``: a pan that followed the
    subject)."""
    soft = blur(im, kind, extent, rng if rng is not None else np.random.default_rng(0))
    w, h = im.size
    mask = Image.new("L", (w, h), 0)
    x0, y0, x1, y1 = subject
    mask.paste(255, (int(x0), int(y0), int(x1), int(y1)))
    mask = mask.filter(ImageFilter.GaussianBlur(max(2.0, 0.04 * max(w, h))))
    return Image.composite(im, soft, mask)


def random_blur(im: Image.Image, rng: Rng, soft: bool) -> tuple[Image.Image, str, float]:
    """A copy blurred a person would call soft (``soft``) or not (a blur under VISIBLE_BELOW)."""
    kind = str(rng.choice(KINDS, p=[0.3, 0.3, 0.3, 0.1]))
    extent = float(rng.uniform(SOFT_FROM, 16.0) if soft else rng.uniform(0.3, VISIBLE_BELOW))
    return blur(im, kind, extent, rng), kind, extent
