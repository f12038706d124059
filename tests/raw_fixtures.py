"""Helpers for the raw tests: JPEG previews with structure, truncated files; the DNGs themselves are written by
selfie_desk.core.formats.dng (the self-test uses it too)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from selfie_desk.core.formats.dng import write_dng

__all__ = ["jpeg_bytes", "truncate", "write_dng"]


def jpeg_bytes(width: int, height: int, seed: int = 0, quality: int = 85) -> bytes:
    """A JPEG with structure (a gradient, a disc, noise), so that it is not trivially small."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                    np.full_like(xx, 120)], axis=-1).astype(np.float32)
    disc = (xx - width * 0.6) ** 2 + (yy - height * 0.4) ** 2 < (min(width, height) * 0.2) ** 2
    img[disc] = (240, 220, 60)
    img += rng.normal(0, 6, img.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def truncate(path: Path, keep: float = 0.3) -> Path:
    """Cut a file to a fraction of its bytes, as a card pulled out mid-copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: max(16, int(len(data) * keep))])
    return path
