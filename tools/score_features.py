"""The expensive half of training the score: each photo of a source through the frozen backbone and the face
detector, exactly as the scoring pass sees it, cached per source so that every later fit, look and
cross-validation reruns in seconds.

    nice -n 10 .venv/bin/python tools/score_features.py --source livec ../shared/real/livec_half \\
        --cache /work/cache/judge/features

A source is a folder (every photo under it) or a CSV of file names (BIQ2021's splits). Per photo the cache
holds the pooled last layer (1280), the stage statistics (752) and the faces (boxes in the photo's own
pixels, confidences). The looks (core/measures/look.py) are computed apart (``tools/fit_score.py``), from the files:
they are cheap, and they are what changes while the head is designed.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from selfie_desk.core import weights
from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import FACES_FILE, face_input, model_input
from selfie_desk.neural.faces import FaceDetector
from selfie_desk.neural.model import Backbone

ROOT = Path(__file__).resolve().parents[1]

FACE_EDGE = 384
EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def open_photo(path: Path) -> Image.Image:
    """The photo upright, reduced as the pass reduces it (a decode of at most look.DETAIL_EDGE)."""
    with Image.open(path) as im:
        im.draft("RGB", (look.DETAIL_EDGE, look.DETAIL_EDGE))
        im = ImageOps.exif_transpose(im).convert("RGB")
    return look.reduce_to(im, look.DETAIL_EDGE)


def list_files(source: Path) -> list[str]:
    if source.suffix.lower() == ".csv":
        with open(source, newline="") as fh:
            return [r[0].strip() for r in csv.reader(fh) if r and r[0] and r[0] != "Image Name"]
    return sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.suffix.lower() in EXTS)


class Extractor:
    def __init__(self) -> None:
        self.backbone = Backbone().eval()
        self.detector = FaceDetector.from_file(weights.bundled_file(FACES_FILE)).eval()
        self.detector.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run(self, images: list[Image.Image]) -> dict[str, list]:
        views = [look.reduce_to(im, look.VIEW_EDGE) for im in images]
        model_in = torch.from_numpy(np.stack([model_input(v) for v in views])).permute(0, 3, 1, 2)
        fmap, stats = self.backbone.forward_with_stats(model_in)
        emb = Backbone.pool(fmap)
        fins = [face_input(v, FACE_EDGE) for v in views]
        h, w = max(f.shape[0] for f in fins), max(f.shape[1] for f in fins)
        batch = np.zeros((len(fins), h, w, 3), np.uint8)
        for i, f in enumerate(fins):
            batch[i, : f.shape[0], : f.shape[1]] = f
        sizes = [(f.shape[1], f.shape[0]) for f in fins]
        found = self.detector.detect(torch.from_numpy(batch).permute(0, 3, 1, 2), sizes)
        faces = []
        for im, fs, (fw, fh) in zip(images, found, sizes, strict=True):
            sx, sy = im.size[0] / fw, im.size[1] / fh
            faces.append([[*(f.scaled(sx, sy).box), f.confidence] for f in fs])
        return {"emb": list(emb.numpy()), "stats": list(stats.numpy()), "faces": faces,
                "size": [im.size for im in images]}


def extract(root: Path, names: list[str], out: Path, batch: int = 16) -> None:
    ex = Extractor()
    acc: dict[str, list] = {"emb": [], "stats": [], "faces": [], "size": []}
    t0 = time.perf_counter()
    for k in range(0, len(names), batch):
        chunk = names[k : k + batch]
        images = []
        for n in chunk:
            p = root / n
            if not p.exists() and p.with_suffix(p.suffix.upper()).exists():  # BIQ2021's one .JPG
                p = p.with_suffix(p.suffix.upper())
            images.append(open_photo(p))
        got = ex.run(images)
        for key in acc:
            acc[key] += got[key]
        done = k + len(chunk)
        if (k // batch) % 25 == 0:
            rate = done / (time.perf_counter() - t0)
            log(f"{out.stem}: {done}/{len(names)} ({rate:.1f}/s, {(len(names) - done) / rate / 60:.1f} min left)")
    faces = np.array([np.array(f, np.float32).reshape(-1, 5) for f in acc["faces"]] + [None], dtype=object)[:-1]
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez(tmp, names=np.array(names), emb=np.stack(acc["emb"]).astype(np.float32),
             stats=np.stack(acc["stats"]).astype(np.float32), faces=faces,
             size=np.array(acc["size"], np.int32), root=str(root))
    tmp.replace(out)
    log(f"{out}: {len(names)} photos in {(time.perf_counter() - t0) / 60:.1f} min")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", nargs=2, action="append", metavar=("NAME", "PATH"), required=True,
                        help="a folder of photos, or a CSV of file names beside their Images/ folder")
    parser.add_argument("--cache", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.cache.mkdir(parents=True, exist_ok=True)
    for name, path in args.source:
        out = args.cache / f"{name}.npz"
        if out.exists():
            log(f"{out} cached")
            continue
        src = Path(path)
        root = src.parent / "Images" if src.suffix.lower() == ".csv" else src
        extract(root, list_files(src), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
