"""Worse versions of a good photo: the self-supervised teacher of the score head.

Each function takes a real photo and returns a version a person would rank lower: technically worse
(blurred, noisy, under/over-exposed, heavily compressed) or worse framed in the ways the 2015 selfie net
found mattered (the face cut by the frame edge, the subject tiny in a corner of a larger scene, the face
far too close). Framings are made by compositing the photo into a larger scene, never by inventing
pixels of the subject. The same code makes the held-out evaluation and the tests' degraded copies.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageFilter

Box = tuple[float, float, float, float]
Rng = np.random.Generator

QUALITY_KINDS = ("blur", "noise", "dark", "bright", "jpeg")
FRAMING_KINDS = ("cut", "tiny", "close")
KINDS = QUALITY_KINDS + FRAMING_KINDS


def blur(im: Image.Image, rng: Rng, **_: object) -> Image.Image:
    """Out of focus or shaken: a Gaussian blur of 1-3 % of the long edge."""
    radius = max(im.size) * rng.uniform(0.010, 0.03)
    return im.filter(ImageFilter.GaussianBlur(radius))


def noise(im: Image.Image, rng: Rng, **_: object) -> Image.Image:
    """High-ISO sensor noise: luminance and some chroma noise."""
    a = np.asarray(im, np.float32)
    sigma = rng.uniform(18, 40)
    lum = rng.normal(0, sigma, a.shape[:2] + (1,))
    chroma = rng.normal(0, sigma * 0.4, a.shape)
    return Image.fromarray(np.clip(a + lum + chroma, 0, 255).astype(np.uint8))


def dark(im: Image.Image, rng: Rng, **_: object) -> Image.Image:
    """Underexposed by 2-4 stops, with the shadows crushed."""
    a = np.asarray(im, np.float32) / 255
    gain = 2 ** -rng.uniform(2.0, 4.0)
    out = (a**2.2 * gain) ** (1 / 2.2)
    return Image.fromarray(np.clip(out * 255, 0, 255).astype(np.uint8))


def bright(im: Image.Image, rng: Rng, **_: object) -> Image.Image:
    """Overexposed by 1.5-3 stops: highlights blown to white."""
    a = np.asarray(im, np.float32) / 255
    gain = 2 ** rng.uniform(1.5, 3.0)
    out = np.clip(a**2.2 * gain, 0, 1) ** (1 / 2.2)
    return Image.fromarray((out * 255).astype(np.uint8))


def jpeg(im: Image.Image, rng: Rng, **_: object) -> Image.Image:
    """Heavily compressed: JPEG quality 4-12, blocking and ringing."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(rng.integers(4, 13)))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def scene(size: tuple[int, int], rng: Rng, backgrounds: Sequence[Image.Image]) -> Image.Image:
    """A larger scene to composite into: an enlarged region of another photo, softened like depth of field."""
    w, h = size
    if not backgrounds:
        top, bottom = rng.integers(40, 220, 3), rng.integers(40, 220, 3)
        ramp = np.linspace(0, 1, h)[:, None, None]
        return Image.fromarray((top * (1 - ramp) + bottom * ramp).repeat(w, axis=1).astype(np.uint8))
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    bw, bh = bg.size
    frac = rng.uniform(0.4, 0.8)
    cw, ch = int(bw * frac), int(bh * frac)
    x, y = int(rng.integers(0, bw - cw + 1)), int(rng.integers(0, bh - ch + 1))
    region = bg.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BILINEAR)
    return region.filter(ImageFilter.GaussianBlur(max(w, h) * rng.uniform(0.002, 0.01)))


def _feathered_paste(canvas: Image.Image, im: Image.Image, xy: tuple[int, int]) -> Image.Image:
    """Paste with a soft edge so that the seam is not a straight hard line."""
    w, h = im.size
    mask = Image.new("L", (w, h), 0)
    border = max(1, min(w, h) // 25)
    mask.paste(255, (border, border, w - border, h - border))
    mask = mask.filter(ImageFilter.GaussianBlur(border / 2))
    canvas.paste(im, xy, mask)
    return canvas


def _face_or_centre(im: Image.Image, face: Box | None) -> Box:
    if face is not None:
        return face
    w, h = im.size
    return (w * 0.3, h * 0.2, w * 0.7, h * 0.65)


def composite(
    im: Image.Image, rng: Rng, backgrounds: Sequence[Image.Image], subject_frac: float, corner: bool
) -> Image.Image:
    """The photo placed, at `subject_frac` of the scene's width, into a scene of the same size and aspect."""
    w, h = im.size
    canvas = scene((w, h), rng, backgrounds)
    sw, sh = max(8, int(w * subject_frac)), max(8, int(h * subject_frac))
    small = im.resize((sw, sh), Image.Resampling.LANCZOS)
    if corner:
        margin = int(min(w, h) * rng.uniform(0.0, 0.06))
        x = margin if rng.random() < 0.5 else w - sw - margin
        y = margin if rng.random() < 0.5 else h - sh - margin
    else:
        x, y = (w - sw) // 2 + int(rng.integers(-w // 20, w // 20 + 1)), int((h - sh) * rng.uniform(0.3, 0.6))
    return _feathered_paste(canvas, small, (x, y))


def tiny(im: Image.Image, rng: Rng, backgrounds: Sequence[Image.Image] = (), **_: object) -> Image.Image:
    """The subject tiny in a corner of a larger scene: 12-25 % of the frame's width."""
    return composite(im, rng, backgrounds, rng.uniform(0.12, 0.25), corner=True)


def cut(
    im: Image.Image, rng: Rng, face: Box | None = None, backgrounds: Sequence[Image.Image] = (), **_: object
) -> Image.Image:
    """The face cut by the frame edge: the photo slid sideways or up so 35-60 % of the face leaves the frame."""
    w, h = im.size
    x0, y0, x1, y1 = _face_or_centre(im, face)
    fw, fh = x1 - x0, y1 - y0
    share = rng.uniform(0.35, 0.6)
    side = rng.choice(["left", "right", "top"])
    dx = dy = 0
    if side == "left":
        dx = -int(x0 + fw * share)
    elif side == "right":
        dx = int((w - x1) + fw * share)
    else:
        dy = -int(y0 + fh * share)
    canvas = scene((w, h), rng, backgrounds)
    canvas.paste(im, (dx, dy))
    return canvas


def close(im: Image.Image, rng: Rng, face: Box | None = None, **_: object) -> Image.Image:
    """The face far too close: the frame filled by 85-110 % of the face's own width, chin or brow cut."""
    w, h = im.size
    x0, y0, x1, y1 = _face_or_centre(im, face)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cw = (x1 - x0) * rng.uniform(0.85, 1.1)
    ch = cw * h / w
    box = (cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2)
    left, top, right, bottom = (int(round(v)) for v in box)
    return im.crop((left, top, right, bottom)).resize((w, h), Image.Resampling.BICUBIC)


DEGRADATIONS: dict[str, Callable[..., Image.Image]] = {
    "blur": blur,
    "noise": noise,
    "dark": dark,
    "bright": bright,
    "jpeg": jpeg,
    "cut": cut,
    "tiny": tiny,
    "close": close,
}


def degrade(
    kind: str, im: Image.Image, rng: Rng, face: Box | None = None, backgrounds: Sequence[Image.Image] = ()
) -> Image.Image:
    return DEGRADATIONS[kind](im.convert("RGB"), rng, face=face, backgrounds=backgrounds)
