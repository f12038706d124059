"""The folder's map as one picture (`selfie-desk map`): each photo's thumbnail in its grid cell, as the Map view
draws it far out, for sharing. Thumbnails come from the on-disk cache the scan filled (a photo without one is
decoded at thumbnail size and cached); originals are only ever read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from selfie_desk.core.formats import decoding
from selfie_desk.core.map.layout import MapLayout
from selfie_desk.core.storage import thumbnails

BACKGROUND = (30, 30, 32)
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


def thumbnail_of(photo: Any) -> Image.Image | None:
    """A photo's cached thumbnail, or its decode at thumbnail size (cached then); None when it cannot be read."""
    im = thumbnails.load(photo.fingerprint) if photo.fingerprint else None
    if im is not None:
        return im
    try:
        im = decoding.decode(Path(photo.path), thumbnails.THUMBNAIL_EDGE,
                             pair=getattr(photo, "pair", None)).image
    except (decoding.PhotoError, OSError):
        return None
    if photo.fingerprint:
        try:
            thumbnails.save(photo.fingerprint, im)
        except OSError:
            pass
    return im


def render_mosaic(layout: MapLayout, photos: Mapping[int, Any], size: int,
                  load: Callable[[Any], Image.Image | None] = thumbnail_of) -> Image.Image:
    """The map at `size` px on its long side (cells of size // max(cols, rows) px; at least 2)."""
    tile = max(2, size // max(layout.cols, layout.rows))
    canvas = Image.new("RGB", (layout.cols * tile, layout.rows * tile), BACKGROUND)
    pad = max(0, tile // 24)
    inner = tile - 2 * pad
    for pid, (c, r) in zip(layout.ids, layout.cells.tolist(), strict=True):
        photo = photos.get(pid)
        im = load(photo) if photo is not None else None
        if im is None:
            continue
        im = im.convert("RGB")
        im.thumbnail((inner, inner), Image.Resampling.LANCZOS, reducing_gap=2.0)
        x = c * tile + pad + (inner - im.width) // 2
        y = r * tile + pad + (inner - im.height) // 2
        canvas.paste(im, (x, y))
    return canvas
