"""The training and evaluation data of the crop model, read from local copies: FCDB's crops (the annotations of
yiling-chen/flickr-cropping-dataset, the photos of FeiHuang93/photo-composition's FCDB/ folder), GAICD's per-crop
human scores where its photos can be had, and the validation split carved from FCDB's training split.

FCDB's test split is read only by `tools/crop_eval.py --fcdb-test` (reported once); nothing here chooses on it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TRAIN_JSON = "cropping_training_set.json"
TEST_JSON = "cropping_testing_set.json"
RANKING_JSON = "ranking_annotation.json"
VALIDATION_SHARE = 5  # 1 in 5 of FCDB's training photos, by a hash of the file name


def bucket(name: str, mod: int) -> int:
    return hashlib.blake2b(name.encode(), digest_size=4).digest()[0] % mod


def is_validation(name: str) -> bool:
    """FCDB training photos held out to make every choice on (about 1 in 5)."""
    return bucket(name, VALIDATION_SHARE) == 0


@dataclass(frozen=True)
class HumanCrop:
    name: str  # the Flickr file name
    path: Path
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the photo's pixels, clipped to it
    width: int
    height: int


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def placeholders(photos: Path) -> set[str]:
    """Files that are Flickr's "This photo is no longer available" picture, not a photo: byte-identical files
    under several names (the download saved the same placeholder for each missing photo)."""
    sizes = Counter(p.stat().st_size for p in photos.iterdir() if p.is_file())
    suspects = [p for p in photos.iterdir() if p.is_file() and sizes[p.stat().st_size] > 2]
    digests = {p.name: _digest(p) for p in suspects}
    counts = Counter(digests.values())
    return {name for name, d in digests.items() if counts[d] > 2}


def fcdb(annotations: Path, photos: Path, split: str) -> tuple[list[HumanCrop], list[str]]:
    """FCDB's crops for `split` ("train", "validation", "train+validation" or "test"), and the names skipped as
    placeholders or missing. Crops are [x, y, w, h] in the Flickr size's pixels, which the photos have."""
    from PIL import Image

    source = TEST_JSON if split == "test" else TRAIN_JSON
    entries = json.loads((annotations / source).read_text())
    gone = placeholders(photos)
    out, skipped = [], []
    for e in entries:
        name = e["url"].rsplit("/", 1)[-1]
        if split == "train" and is_validation(name) or split == "validation" and not is_validation(name):
            continue
        path = photos / name
        if name in gone or not path.is_file():
            skipped.append(name)
            continue
        with Image.open(path) as im:
            w, h = im.size
        x, y, cw, ch = (float(v) for v in e["crop"])
        box = (max(0.0, x), max(0.0, y), min(float(w), x + cw), min(float(h), y + ch))
        out.append(HumanCrop(name, path, box, w, h))
    return out, skipped


def ranking_pairs(annotations: Path, names: set[str]) -> dict[str, list[tuple[np.ndarray, np.ndarray, int, int]]]:
    """FCDB's crop pairs voted on by five people each, for the photos named: name -> [(crop_0, crop_1, votes for
    0, votes for 1)], crops as x0, y0, x1, y1 in the photo's pixels."""
    out: dict[str, list] = {}
    for e in json.loads((annotations / RANKING_JSON).read_text()):
        name = e["url"].rsplit("/", 1)[-1]
        if name not in names:
            continue
        rows = []
        for c in e["crops"]:
            a, b = (np.array(c[k], np.float64) for k in ("crop_0", "crop_1"))
            a[2:] += a[:2]
            b[2:] += b[:2]
            rows.append((a, b, int(c["vote_for_0"]), int(c["vote_for_1"])))
        out[name] = rows
    return out


def boundary_displacement(box: np.ndarray, truth: np.ndarray, width: float, height: float) -> float:
    """The mean distance of the four edges from the human crop's, as shares of the photo's width or height."""
    d = np.abs(np.asarray(box, np.float64) - np.asarray(truth, np.float64)) / [width, height, width, height]
    return float(d.mean())
