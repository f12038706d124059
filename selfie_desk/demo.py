"""Sets made from the bundled demo photos, for measuring and showing what the app does with them (the tests, the
benchmarks and the docs' pictures use them; nothing here is downloaded).

A taste the default model does not have: black-and-white versions preferred to the colour versions of the same
pictures. Each colour demo photo (camera.png is grey already) gives several distinct pictures (crops, flips, a small
rotation, an exposure change), each saved twice: in colour and in black and white. Small files (long edge 320 px)
keep the real scoring pass cheap (tests/test_taste.py, tools/taste_eval.py, tools/screenshot_models.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from selfie_desk.core import paths

SOURCES = ("astronaut.png", "chelsea.png", "china.jpg", "coffee.png", "flower.jpg", "rocket.jpg")
EDGE = 320


def variants(im: Image.Image, n: int, rng: np.random.Generator) -> list[Image.Image]:
    out = []
    w, h = im.size
    for k in range(n):
        s = rng.uniform(0.6, 0.95)
        cw, ch = int(w * s), int(h * s * rng.uniform(0.85, 1.15))
        ch = min(ch, h)
        x0, y0 = int(rng.uniform(0, w - cw)), int(rng.uniform(0, h - ch))
        v = im.crop((x0, y0, x0 + cw, y0 + ch))
        if k % 2:
            v = ImageOps.mirror(v)
        if k % 3 == 1:
            v = v.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR, expand=False)
        v = ImageEnhance.Brightness(v).enhance(rng.uniform(0.8, 1.2))
        v.thumbnail((EDGE, EDGE), Image.Resampling.LANCZOS)
        out.append(v)
    return out


def make_taste_folder(folder: Path, per_source: int = 10, seed: int = 0,
                      sources: tuple[str, ...] = SOURCES) -> dict[str, bool]:
    """Write colour/black-and-white pairs into `folder`; returns {file name: is black and white}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, bool] = {}
    for source in sources:
        im = Image.open(paths.demo_photos_dir() / source).convert("RGB")
        for k, v in enumerate(variants(im, per_source, rng)):
            stem = f"{Path(source).stem}-{k:02d}"
            v.save(folder / f"{stem}-colour.jpg", quality=90)
            ImageOps.grayscale(v).convert("RGB").save(folder / f"{stem}-bw.jpg", quality=90)
            made[f"{stem}-colour.jpg"] = False
            made[f"{stem}-bw.jpg"] = True
    return made
