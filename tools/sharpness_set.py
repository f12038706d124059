"""The synthetic half of what teaches the sharpness aspect: photos people rated well (or the portraits), each
with copies blurred as cameras blur (tools/blur_synth.py): soft ones (a missed focus, motion, camera shake, a
Gaussian of 4-16 judged px), copies blurred too little to see (under 1.5 px: still sharp), the subject kept sharp
in front of a defocused background (still sharp: what a photographer wants) or of a background smeared by a pan
that followed the subject (still sharp), and noise added to a sharp photo (still sharp: noise is not focus).
Only the looks are computed (the aspect reads the looks, not the convnet).

    nice -n 10 .venv/bin/python tools/sharpness_set.py --cache /work/cache/judge/features --livec LIVEC
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blur_synth
import numpy as np
import score_data as sd
from PIL import Image
from score_features import open_photo

from selfie_desk.core.measures import look

HERE = Path(__file__).resolve().parent

VARIANTS = ("original", "soft", "light", "shallow", "pan", "noisy")


def _subject(im: Image.Image, faces: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """The region kept sharp in a shallow-focus copy: the largest face widened to head and shoulders, else a
    random central box of 15-40 % of the frame."""
    w, h = im.size
    if len(faces):
        x0, y0, x1, y1 = max(faces[:, :4].tolist(), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        fw, fh = x1 - x0, y1 - y0
        return (max(0, x0 - 0.6 * fw), max(0, y0 - 0.4 * fh), min(w, x1 + 0.6 * fw), min(h, y1 + 1.2 * fh))
    frac = rng.uniform(0.15, 0.4) ** 0.5
    cw, ch = w * frac, h * frac
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)
    return (max(0, cx - cw / 2), max(0, cy - ch / 2), min(w, cx + cw / 2), min(h, cy + ch / 2))


def variants(job: tuple[Path, np.ndarray, int]) -> list[tuple[np.ndarray, int, str, float]]:
    """(looks, soft label, variant, blur extent) of a photo's original and its copies."""
    path, faces, seed = job
    rng = np.random.default_rng(seed)
    im = open_photo(path)
    boxes = [tuple(f[:4]) for f in faces]
    out = []

    def add(image: Image.Image, soft: int, kind: str, extent: float) -> None:
        out.append((look.Look(image).values(boxes, image.size), soft, kind, extent))

    add(im, 0, "original", 0.0)
    blurred, kind, extent = blur_synth.random_blur(im, rng, soft=True)
    add(blurred, 1, f"soft-{kind}", extent)
    blurred, kind, extent = blur_synth.random_blur(im, rng, soft=False)
    add(blurred, 0, f"light-{kind}", extent)
    extent = float(rng.uniform(6, 20))
    background = "motion" if rng.random() < 0.5 else "defocus"  # a pan, or a shallow depth of field
    add(blur_synth.shallow_focus(im, _subject(im, faces, rng), extent, background, rng), 0,
        "pan" if background == "motion" else "shallow", extent)
    if rng.random() < 0.4:
        a = np.asarray(im, np.float32)
        noisy = np.clip(a + rng.normal(0, rng.uniform(4, 14), a.shape[:2] + (1,)), 0, 255).astype(np.uint8)
        add(Image.fromarray(noisy), 0, "noisy", 0.0)
    return out


def build(cache: Path, sources: dict[str, list[int]], seed: int = 0, threads: int = 2) -> dict[str, np.ndarray]:
    """``sources``: cached source name -> indices of its photos to use (sharp originals)."""
    code = hashlib.sha256(b"".join((HERE / f).read_bytes() for f in ("sharpness_set.py", "blur_synth.py")))
    out_path = cache / f"sharpness_set_{sd.look_version()}_{code.hexdigest()[:8]}.npz"
    if out_path.exists():
        return dict(np.load(out_path))
    jobs, owners = [], []
    for name, idx in sources.items():
        src = np.load(cache / f"{name}.npz", allow_pickle=True)
        root = Path(str(src["root"]))
        names = src["names"].astype(str)
        for i in idx:
            p = root / names[i]
            if not p.exists() and p.with_suffix(p.suffix.upper()).exists():
                p = p.with_suffix(p.suffix.upper())
            jobs.append((p, src["faces"][i], seed * 100003 + len(jobs)))
            owners.append(f"{name}:{names[i]}")
    sd.log(f"sharpness set: {len(jobs)} photos")
    with ThreadPoolExecutor(threads) as pool:
        rows = list(pool.map(variants, jobs))
    x, y, kind, extent, owner = [], [], [], [], []
    for o, rs in zip(owners, rows, strict=True):
        for v, s, k, e in rs:
            x.append(v)
            y.append(s)
            kind.append(k)
            extent.append(e)
            owner.append(o)
    arrays = {"looks": np.stack(x).astype(np.float32), "soft": np.array(y, np.int8), "kind": np.array(kind),
              "extent": np.array(extent, np.float32), "owner": np.array(owner)}
    np.savez(out_path, **arrays)
    sd.log(f"sharpness set: {len(x)} images -> {out_path}")
    return arrays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--livec", type=Path, required=True)
    args = parser.parse_args()
    build(args.cache, default_sources(args.cache, args.livec))
    return 0


def default_sources(cache: Path, livec: Path, biq_count: int = 0) -> dict[str, list[int]]:
    """The photos blurred for the set: the portraits of the training half (sharp Pixabay portraits), and the
    LIVE-C photos people rated in the better half (LIVE-C's worse half has real blur of its own)."""
    portraits = np.load(cache / "portraits.npz", allow_pickle=True)["names"].astype(str)
    train_p = [i for i, n in enumerate(portraits) if sd.bucket(n, 5) != 0]
    names = np.load(cache / "livec.npz", allow_pickle=True)["names"].astype(str)
    mos = sd.livec_mos(livec)
    m = np.array([mos[n] for n in names])
    good = [i for i in range(len(names)) if m[i] >= np.median(m)]
    rng = np.random.default_rng(0)
    return {"portraits": sorted(rng.choice(train_p, min(500, len(train_p)), replace=False).tolist()),
            "livec": good}


if __name__ == "__main__":
    sys.exit(main())
