"""Train the default score model: people's opinions (BIQ2021) plus the self-supervised pairs.

    .venv/bin/python tools/train_score.py --biq PATH/TO/BIQ2021 --portraits ../shared/photos/portraits

One command rebuilds `models/score_head.pt` and `models/score_head.json` (its card). Stages:

1. **Looks** (cached under --cache, ~25 min on 2 CPU cores the first time): every BIQ2021 photo (train and
   test) and every self-supervised pair (the 941 portraits and 700 BIQ2021 train photos, degraded at
   their own resolution) go through exactly what the app computes per photo: the frozen MobileNetV2 at
   224 px (pooled last layer + stage statistics), the view and detail looks (`core/look.py`), faces.
2. **Fit** on BIQ2021's train split only, a validation set carved out of it by a hash of the file name;
   every choice (which features, the weights, the epochs) is made on that validation set.
3. **Report** BIQ2021's official test split once, per subset, and the pairs' held-out accuracy.

The BIQ2021 images are never copied into the project; only the fitted head ships.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from fit_score import add_fit_args, bucket, fit_and_write, is_val, log  # the fitting half
from PIL import Image

from selfie_desk.core import degrade, look, weights
from selfie_desk.core.embedding import FACES_FILE, model_input
from selfie_desk.neural.faces import FaceDetector
from selfie_desk.neural.model import Backbone

ROOT = Path(__file__).resolve().parents[1]



FACE_EDGE = 384


def is_heldout_portrait(name: str) -> bool:
    """The portraits' fixed held-out split (the same as the first head's)."""
    return bucket(name, 5) == 0


class Looker:
    """Computes, for a batch of PIL images at their own (detail) resolution, what the app computes."""

    def __init__(self) -> None:
        self.backbone = Backbone().eval()
        self.detector = FaceDetector.from_file(weights.bundled_file(FACES_FILE)).eval()
        self.detector.to(memory_format=torch.channels_last)
        self.pool = ThreadPoolExecutor(2)

    @staticmethod
    def _prep(im: Image.Image):
        lk = look.Look(im.convert("RGB"))
        face = lk.view.copy()
        face.thumbnail((FACE_EDGE, FACE_EDGE), Image.Resampling.BILINEAR)
        return lk, model_input(lk.view), np.asarray(face)

    @torch.inference_mode()
    def run(self, images: list[Image.Image]) -> dict[str, np.ndarray]:
        preps = list(self.pool.map(self._prep, images))
        model_in = torch.from_numpy(np.stack([p[1] for p in preps])).permute(0, 3, 1, 2)
        fmap, stats = self.backbone.forward_with_stats(model_in)
        emb = Backbone.pool(fmap)
        h = max(p[2].shape[0] for p in preps)
        w = max(p[2].shape[1] for p in preps)
        faces_in = np.zeros((len(preps), h, w, 3), np.uint8)
        for i, p in enumerate(preps):
            faces_in[i, : p[2].shape[0], : p[2].shape[1]] = p[2]
        sizes = [(p[2].shape[1], p[2].shape[0]) for p in preps]
        faces = self.detector.detect(torch.from_numpy(faces_in).permute(0, 3, 1, 2), sizes)
        details, face_frac = [], []
        for (lk, _, fin), fs in zip(preps, faces, strict=True):
            frame = (fin.shape[1], fin.shape[0])
            boxes = [f.box for f in fs]
            details.append(lk.values(boxes, frame)[look.N_VIEW:])
            area = max(((b[2] - b[0]) * (b[3] - b[1]) for b in boxes), default=0.0)
            face_frac.append([len(boxes), area / (frame[0] * frame[1])])
        return {
            "emb": emb.numpy().astype(np.float32),
            "stats": stats.numpy().astype(np.float32),
            "view": np.stack([p[0].view_stats for p in preps]),
            "detail": np.stack(details),
            "faces": np.array(face_frac, np.float32),
        }


def run_all(looker: Looker, images, total: int, label: str, batch: int = 32) -> dict[str, np.ndarray]:
    parts: list[dict[str, np.ndarray]] = []
    buf: list[Image.Image] = []
    t0 = time.perf_counter()
    done = 0
    for im in images:
        buf.append(im)
        if len(buf) == batch:
            parts.append(looker.run(buf))
            done += len(buf)
            buf = []
            if (done // batch) % 20 == 0:
                rate = done / (time.perf_counter() - t0)
                log(f"  {label}: {done}/{total} ({rate:.1f}/s, {(total - done) / rate / 60:.1f} min left)")
    if buf:
        parts.append(looker.run(buf))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def read_split(biq: Path, split: str) -> list[tuple[str, float]]:
    name = {"train": "Train (Images and MOS).csv", "test": "Test (Images and MOS).csv"}[split]
    rows = []
    with open(biq / name, newline="") as fh:
        for row in csv.reader(fh):
            if row and row[0] and row[0] != "Image Name":
                rows.append((row[0].strip(), float(row[1])))
    return rows


def biq_file(biq: Path, name: str) -> Path:
    p = biq / "Images" / name
    if p.exists():
        return p
    alt = p.with_suffix(p.suffix.upper())  # `ss02 (1014).jpg` is .JPG on disk
    return alt if alt.exists() else p


def extract_biq(biq: Path, looker: Looker, out: Path) -> None:
    rows = [(n, m, "train") for n, m in read_split(biq, "train")] + [(n, m, "test") for n, m in read_split(biq, "test")]
    log(f"BIQ2021: {len(rows)} photos")

    def images():
        for n, _, _ in rows:
            with Image.open(biq_file(biq, n)) as im:
                yield im.convert("RGB")

    feats = run_all(looker, images(), len(rows), "BIQ2021")
    np.savez(out, names=np.array([r[0] for r in rows]), mos=np.array([r[1] for r in rows], np.float32),
             split=np.array([r[2] for r in rows]), **feats)


def extract_pairs(sources: list[tuple[str, Image.Image | Path]], kinds: tuple[str, ...], variants: int,
                  looker: Looker, out: Path, seed: int, label: str, framed: bool) -> None:
    """Each source photo, optionally a well-framed composite of it, and `variants` degraded copies per
    kind, all at the photo's own resolution; pairs (better index, worse index, kind)."""
    rng = np.random.default_rng(seed)
    loaded = [(n, (Image.open(p).convert("RGB") if isinstance(p, Path) else p)) for n, p in sources]
    # the face for framing degradations: RetinaFace on each photo, as the first head did
    faces: list = []
    for k in range(0, len(loaded), 32):
        chunk = [im for _, im in loaded[k : k + 32]]
        feats = []
        for im in chunk:
            arr = torch.from_numpy(np.asarray(im)).permute(2, 0, 1)[None]
            with torch.inference_mode():
                fs = looker.detector.detect(arr, [im.size], threshold=0.6)[0]
            feats.append(max(fs, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])).box if fs else None)
        faces.extend(feats)
    images: list[Image.Image] = []
    owner: list[int] = []
    pairs: list[tuple[int, int, str]] = []
    originals: list[int] = []
    for i, ((_, im), face) in enumerate(zip(loaded, faces, strict=True)):
        others = [loaded[j][1] for j in rng.choice(len(loaded), 6, replace=False) if j != i][:5]
        good = len(images)
        images.append(im)
        owner.append(i)
        originals.append(good)
        framed_idx = None
        if framed:
            framed_idx = len(images)
            images.append(degrade.composite(im, rng, others, rng.uniform(0.6, 0.8), corner=False))
            owner.append(i)
        for kind in kinds:
            for _ in range(variants):
                worse = len(images)
                images.append(degrade.degrade(kind, im, rng, face=face, backgrounds=others))
                owner.append(i)
                pairs.append((good, worse, kind))
                if kind == "tiny" and framed_idx is not None:
                    pairs.append((framed_idx, worse, "tiny_vs_framed"))
    log(f"{label}: {len(loaded)} photos, {len(images)} images, {len(pairs)} pairs")
    feats = run_all(looker, iter(images), len(images), label)
    np.savez(out, names=np.array([n for n, _ in loaded]), owner=np.array(owner), originals=np.array(originals),
             pairs=np.array([(b, w) for b, w, _ in pairs]), kinds=np.array([k for _, _, k in pairs]), **feats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--biq", type=Path, required=True, help="a local copy of BIQ2021 (Images/ and the CSVs)")
    parser.add_argument("--portraits", type=Path, required=True, help="../shared/photos/portraits")
    parser.add_argument("--extract-only", action="store_true")
    parser.add_argument("--biq-pairs", type=int, default=700, help="BIQ2021 train photos degraded for the pairs")
    add_fit_args(parser)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    looker = None

    biq_cache = args.cache / "biq.npz"
    if not biq_cache.exists():
        looker = looker or Looker()
        extract_biq(args.biq, looker, biq_cache)
    for split in ("train", "heldout"):
        out = args.cache / f"portraits_{split}.npz"
        if out.exists():
            continue
        looker = looker or Looker()
        files = sorted(p for p in args.portraits.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        chosen = [f for f in files if is_heldout_portrait(f.name) == (split == "heldout")]
        extract_pairs([(f.name, f) for f in chosen], degrade.KINDS, 1 if split == "train" else 2, looker, out,
                      args.seed + (split == "heldout"), f"portraits {split}", framed=True)
    out = args.cache / "biq_pairs.npz"
    if not out.exists():
        looker = looker or Looker()
        train = [n for n, _ in read_split(args.biq, "train") if not is_val(n)]
        rng = np.random.default_rng(args.seed + 7)
        chosen = sorted(rng.choice(train, args.biq_pairs, replace=False).tolist())
        extract_pairs([(n, biq_file(args.biq, n)) for n in chosen], degrade.QUALITY_KINDS, 1, looker, out,
                      args.seed + 2, "BIQ2021 pairs", framed=False)
    if args.extract_only:
        return 0
    return fit_and_write(args)


if __name__ == "__main__":
    sys.exit(main())
