"""What a photo looks like to a person, in numbers the score head reads beside the convnet's features.

Two looks, both torch-free and cheap (numpy on at most a few hundred thousand pixels):

- The **view**: the photo as it is seen whole on a screen, the reduced decode the model input comes from
  (long edge ~500 px, the size at which BIQ2021's observers rated their photos). Exposure (luminance
  percentiles, clipped fractions), colour, contrast, and sharpness and noise at that scale.
- The **detail**: a patch at (near) the photo's own resolution where a person zooms in to check focus:
  the largest face, else the most detailed region. Noise and missed focus that vanish at 224 px (and
  mostly at 500 px) are measured there. JPEGs are decoded at 1/2 scale for it: 41.9 vs 31.6 ms per 12 MP
  photo on one core for the 1/8 decode the pass used before (a full decode: 73 ms), docs/benchmarks.md.

The statistics are logs of scale-free measures so that one standardisation fits photos of any content.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from selfie_desk.core.measures import focus

Box = tuple[float, float, float, float]
# Luma, gradient and Laplacian images: float32 (numpy's stubs widen float32 arithmetic to floating[Any]).
FloatImage = npt.NDArray[np.floating[Any]]

DETAIL_PATCH = 256  # pixels of the detail look (at the detail scale)
_EPS = 1e-6

VIEW_NAMES = (
    "lum_mean", "lum_std", "lum_p01", "lum_p05", "lum_p25", "lum_p50", "lum_p75", "lum_p95", "lum_p99",
    "clip_dark", "clip_bright", "colorfulness", "saturation", "view_lap", "view_noise", "view_grad50",
    "view_grad90", "view_grad99", "view_lap_half", "view_hf_ratio",
)
DETAIL_NAMES = (
    "detail_lap", "detail_noise", "detail_grad50", "detail_grad90", "detail_grad99", "detail_hf_ratio",
    "detail_edge_lap", "detail_on_face",
)
N_VIEW = len(VIEW_NAMES)
N_DETAIL = len(DETAIL_NAMES)
FOCUS_NAMES = focus.FOCUS_NAMES  # between the view and the detail in a look's values
N_FOCUS = len(FOCUS_NAMES)


def luminance(image: np.ndarray) -> FloatImage:
    """H x W x 3 (RGB) or H x W (already luma) uint8 -> H x W float32 in [0, 1] (Rec. 601 luma, as JPEG
    stores it and as Pillow's convert("L") computes it)."""
    if image.ndim == 2:
        return image.astype(np.float32) * (1 / 255.0)
    a = image.astype(np.float32)
    luma: FloatImage = (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) * (1 / 255.0)
    return luma


def _quantiles(values: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles by selection on at most ~65k samples (a regular subsample): np.percentile sorts, which
    cost 15 ms on a 512 x 512 view."""
    flat = values.ravel()
    step = max(1, flat.size // 65536)
    sample = flat[::step].copy()
    ks = [min(len(sample) - 1, max(0, int(round(q * (len(sample) - 1))))) for q in qs]
    part = np.partition(sample, sorted(set(ks)))
    return [float(part[k]) for k in ks]


def _laplacian(g: FloatImage) -> FloatImage:
    return g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]


def _gradient(g: FloatImage) -> FloatImage:
    gx = g[1:-1, 2:] - g[1:-1, :-2]
    gy = g[2:, 1:-1] - g[:-2, 1:-1]
    return np.sqrt(gx * gx + gy * gy)


def noise_sigma(g: np.ndarray, grad: np.ndarray | None = None, median_grad: float | None = None) -> float:
    """Immerkaer's fast noise estimate (1996): the mean absolute response to a mask that cancels a plane
    and a ramp, over the flattest 50 % of the picture so that texture is not counted as noise. The mask is
    the outer product of (1, -2, 1) with itself, applied as two 1-D passes (4 array operations, not 16: a
    third of the look's cost of it). `median_grad`: the gradient's median, when already known."""
    if min(g.shape) < 8:
        return 0.0
    rows = g[:, :-2] - 2 * g[:, 1:-1] + g[:, 2:]
    m = rows[:-2] - 2 * rows[1:-1] + rows[2:]
    grad = _gradient(g) if grad is None else grad
    cut = _quantiles(grad, (0.5,))[0] if median_grad is None else median_grad
    flat = np.abs(m)[grad <= cut]
    return float(np.sqrt(np.pi / 2) / 6 * flat.mean()) if flat.size else 0.0


def _sharpness(g: np.ndarray, grad: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """log Laplacian variance, gradient percentiles (log), the high-frequency share of the variance, and the
    gradient's median itself (noise_sigma's cut)."""
    lap = _laplacian(g)
    p50, p90, p99 = _quantiles(grad, (0.5, 0.9, 0.99))
    lap_var = float(lap.var())
    return (
        float(np.log(lap_var + _EPS)),
        float(np.log(p50 + 1e-4)),
        float(np.log(p90 + 1e-4)),
        float(np.log(p99 + 1e-4)),
        float(np.log(lap_var / (float(g.var()) + _EPS) + _EPS)),
        p50,
    )


def _half(g: FloatImage) -> FloatImage:
    h, w = (g.shape[0] // 2) * 2, (g.shape[1] // 2) * 2
    return 0.25 * (g[:h:2, :w:2] + g[1:h:2, :w:2] + g[:h:2, 1:w:2] + g[1:h:2, 1:w:2])


def view_stats(rgb: np.ndarray, gray: np.ndarray | None = None,
               keep: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The view's statistics (VIEW_NAMES), float32; `gray` its luma (uint8) when already at hand. `keep`
    receives the luma and gradient images for reuse (the most detailed region is found on them)."""
    g = luminance(rgb if gray is None else gray)
    pct = _quantiles(g, (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99))
    a = rgb[::3, ::3].astype(np.float32) * (1 / 255.0)  # colour statistics need no full resolution
    r, gr, b = a[..., 0], a[..., 1], a[..., 2]
    rg = r - gr
    yb = 0.5 * (r + gr) - b
    colorfulness = np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    # the channels' max and min two at a time: numpy's reduction over a last axis of 3 was 5x slower
    mx, mn = np.maximum(np.maximum(r, gr), b), np.minimum(np.minimum(r, gr), b)
    saturation = float(((mx - mn) / (mx + _EPS)).mean())
    grad = _gradient(g)
    if keep is not None:
        keep["luma"], keep["gradient"] = g, grad
    lap, g50, g90, g99, hf, median_grad = _sharpness(g, grad)
    lap_half = float(np.log(_laplacian(_half(g)).var() + _EPS))
    out = np.array(
        [g.mean(), g.std(), *pct, (g < 0.02).mean(), (g > 0.98).mean(), colorfulness, saturation,
         lap, np.log(noise_sigma(g, grad, median_grad) + 1e-4), g50, g90, g99, lap_half, hf],
        np.float32,
    )
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=-20.0)  # degenerate shapes must not poison a score


def most_detailed_box(g: np.ndarray, size: int, grad: np.ndarray | None = None) -> Box:
    """The size x size window (in g's pixels) with the most gradient energy, on a coarse grid: where a
    person zooms in when there is no face. `grad`: g's gradient image, when already computed."""
    h, w = g.shape
    if h <= size or w <= size:
        return (0.0, 0.0, float(w), float(h))
    grad = _gradient(g) if grad is None else grad
    step = max(4, size // 4)
    # a summed-area table makes each window's energy four lookups, all windows at once
    sat = np.pad(grad, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    n = size - 2  # the gradient image is 2 pixels smaller
    ys = np.arange(0, sat.shape[0] - n, step)
    xs = np.arange(0, sat.shape[1] - n, step)
    energy = sat[np.ix_(ys + n, xs + n)] - sat[np.ix_(ys, xs + n)] - sat[np.ix_(ys + n, xs)] + sat[np.ix_(ys, xs)]
    iy, ix = np.unravel_index(int(np.argmax(energy)), energy.shape)
    y, x = float(ys[iy]), float(xs[ix])
    return (x, y, x + size, y + size)


def detail_box(detail_size: tuple[int, int], faces: Sequence[Box], g: np.ndarray | None = None) -> tuple[Box, bool]:
    """Where to look at full scale, in the detail image's pixels: the largest face (its inner part, where
    the eyes and skin are), else the most detailed region. Returns the box and whether it is a face."""
    w, h = detail_size
    if faces:
        x0, y0, x1, y1 = max(faces, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = max(8.0, min(DETAIL_PATCH, 0.8 * max(x1 - x0, y1 - y0)) / 2)
        return (max(0.0, cx - half), max(0.0, cy - half), min(float(w), cx + half), min(float(h), cy + half)), True
    if g is None:
        return (0.0, 0.0, float(w), float(h)), False
    return most_detailed_box(g, DETAIL_PATCH), False


def detail_stats(gray: np.ndarray, faces: Sequence[Box] = (), fallback: Box | None = None) -> tuple[np.ndarray, Box]:
    """The detail look (DETAIL_NAMES) of `gray`, the photo's luma (uint8) at its detail scale, with faces
    in its pixels. Without faces the patch is `fallback` (the most detailed region, found on the view: on
    the detail image itself the search costs 50 ms), else found here. Returns the statistics and the box."""
    h, w = gray.shape
    if faces or fallback is None:
        box, on_face = detail_box((w, h), faces, None if faces else luminance(gray))
    else:
        box, on_face = fallback, False
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    g = luminance(gray[max(0, y0):y1, max(0, x0):x1])
    if min(g.shape) < 8:
        g = luminance(gray)
    grad = _gradient(g)
    lap, g50, g90, g99, hf, median_grad = _sharpness(g, grad)
    lap_abs = np.abs(_laplacian(g))
    edges = grad >= _quantiles(grad, (0.9,))[0]
    edge_lap = float(np.log(lap_abs[edges].mean() + 1e-4)) if edges.any() else float(np.log(1e-4))
    stats = np.array([lap, np.log(noise_sigma(g, grad, median_grad) + 1e-4), g50, g90, g99, hf, edge_lap,
                      float(on_face)],
                     np.float32)
    return np.nan_to_num(stats, nan=0.0, posinf=0.0, neginf=-20.0), box


# The reduced decode the pass reads: the detail look comes from a decode with this long edge (JPEG DCT
# scaling lands a 12-24 MP photo at 1/2), the view from it reduced by an integer factor to >= VIEW_EDGE.
DETAIL_EDGE = 2000
VIEW_EDGE = 480
MIN_SIDE = 16  # smaller photos are looked at enlarged (nearest neighbour)


def reduce_to(image: Image.Image, long_edge: int) -> Image.Image:
    """`image` (PIL) reduced by the largest integer factor that keeps its long edge >= long_edge (a box
    filter: cheap and alias-free)."""
    factor = max(1, max(image.size) // max(1, long_edge))
    return image.reduce(factor) if factor > 1 else image


class Look:
    """What the pass keeps of one decoded photo for the looks: the view (PIL RGB), the detail luma (uint8,
    at the detail scale), its colour at half that scale (for the eye networks: ``detail_rgb``), the view's
    statistics, and the most detailed region in detail pixels."""

    __slots__ = ("view", "detail_gray", "detail_color", "view_stats", "fallback", "detail_scale", "block_focus")

    def __init__(self, detail_image: Image.Image) -> None:
        if min(detail_image.size) < MIN_SIDE:  # a photo of a few pixels: enlarged so every statistic has pixels
            w, h = detail_image.size
            detail_image = detail_image.resize((max(w, MIN_SIDE), max(h, MIN_SIDE)), Image.Resampling.NEAREST)
        # None once let go: the scoring pass keeps only the statistics of the photos in flight
        self.view: Image.Image | None = reduce_to(detail_image, VIEW_EDGE)
        if min(self.view.size) < MIN_SIDE:  # a long thin strip, reduced: its short side enlarged again
            w, h = self.view.size
            self.view = self.view.resize((max(w, MIN_SIDE), max(h, MIN_SIDE)), Image.Resampling.NEAREST)
        self.detail_gray = np.asarray(detail_image.convert("L"))
        # Colour at half the detail scale (3/4 of the luma's bytes, where the whole RGB image would be 3x): a
        # JPEG stores its colour at half resolution (4:2:0) anyway, so little is lost; the luma stays full.
        rgb = detail_image if detail_image.mode == "RGB" else detail_image.convert("RGB")
        self.detail_color: Image.Image = rgb.reduce(2) if min(rgb.size) >= 4 else rgb
        view_gray = np.asarray(self.view.convert("L"))
        kept: dict[str, np.ndarray] = {}
        self.view_stats = view_stats(np.asarray(self.view), view_gray, kept)
        # detail pixels per view pixel
        self.detail_scale = detail_image.size[0] / self.view.size[0]
        size = max(8, int(DETAIL_PATCH / self.detail_scale))
        x0, y0, x1, y1 = most_detailed_box(kept["luma"], size, kept["gradient"])
        s = self.detail_scale
        self.fallback = (x0 * s, y0 * s, x1 * s, y1 * s)
        # the focus where the photo is most detailed, the blocks chosen on the view's gradient (face-free)
        self.block_focus = focus.block_stats(self.detail_gray, kept["gradient"], s)

    def held_view(self) -> Image.Image:
        """The view; only the scoring pass lets it go, once it has made the model's inputs from it."""
        assert self.view is not None, "this look's view was let go"
        return self.view

    def detail_rgb(self, region: Box, reduce: int = 1) -> tuple[Image.Image, tuple[int, int]]:
        """The part ``region`` (detail pixels, clamped to the image) of the detail image in colour, reduced
        ``reduce`` times: at 1 the full-resolution luma with the colour of ``detail_color`` brought back up, at
        2 or more ``detail_color`` itself (nothing to rebuild). Returns the image and its top-left corner in
        detail pixels."""
        h, w = self.detail_gray.shape
        x0, y0 = int(max(0, region[0])), int(max(0, region[1]))
        x1, y1 = int(min(w, np.ceil(region[2]))), int(min(h, np.ceil(region[3])))
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        fx, fy = self.detail_color.size[0] / w, self.detail_color.size[1] / h
        if reduce >= 2:
            size = (max(1, (x1 - x0) // reduce), max(1, (y1 - y0) // reduce))
            return self.detail_color.resize(size, Image.Resampling.BOX,
                                            box=(x0 * fx, y0 * fy, x1 * fx, y1 * fy)), (x0, y0)
        luma = Image.fromarray(self.detail_gray[y0:y1, x0:x1])
        colour = self.detail_color.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR,
                                          box=(x0 * fx, y0 * fy, x1 * fx, y1 * fy))
        _, cb, cr = colour.convert("YCbCr").split()
        return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB"), (x0, y0)

    def detail(self, faces_in_detail_pixels: Sequence[Box]) -> tuple[np.ndarray, Box]:
        return detail_stats(self.detail_gray, faces_in_detail_pixels, self.fallback)

    def values(self, faces: Sequence[Box], frame: tuple[int, int]) -> np.ndarray:
        """The view's statistics, the focus and the detail's statistics, one vector (N_VIEW + N_FOCUS +
        N_DETAIL), with `faces` given in the pixels of a `frame` (width, height) of the same photo (the full
        resolution, a face input...)."""
        sx = self.detail_gray.shape[1] / frame[0]
        sy = self.detail_gray.shape[0] / frame[1]
        boxes = [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in faces]
        stats, _ = self.detail(boxes)
        face_focus = focus.face_focus_stats(self.detail_gray, boxes)
        return np.concatenate([self.view_stats, self.block_focus, face_focus, stats])

