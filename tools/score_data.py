"""The training sources of the score and their cached features, for tools/train_score.py and the evaluations.

Each source is a folder of photos (or BIQ2021's CSV of names) with, where people rated them, their mean
opinion scores. ``tools/score_features.py`` caches the backbone's features and the faces per source; this
module adds the looks (core/measures/look.py: view, focus, detail), cached by a digest of the code that makes them, so
a change to the looks recomputes them and nothing else.
"""

from __future__ import annotations

import csv
import hashlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from score_features import open_photo

from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import EMBEDDING_DIM, STATS_DIM

ROOT = Path(__file__).resolve().parents[1]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bucket(name: str, mod: int) -> int:
    return hashlib.blake2b(name.encode(), digest_size=4).digest()[0] % mod


def look_version() -> str:
    """A digest of the code the looks come from: cached looks are reused only while it is unchanged."""
    h = hashlib.sha256()
    for part in ("look.py", "focus.py"):
        h.update((ROOT / "selfie_desk" / "core" / part).read_bytes())
    return h.hexdigest()[:10]


def _one_look(args: tuple[Path, np.ndarray]) -> np.ndarray:
    path, faces = args
    im = open_photo(path)
    lk = look.Look(im)
    boxes = [tuple(f[:4]) for f in faces]
    return lk.values(boxes, im.size)


def looks(cache: Path, name: str, threads: int = 1) -> np.ndarray:
    """The looks (N_VIEW + N_FOCUS + N_DETAIL per photo) of a cached source, computed once per look version."""
    src = np.load(cache / f"{name}.npz", allow_pickle=True)
    out = cache / f"{name}_looks_{look_version()}.npz"
    if out.exists():
        return np.load(out)["looks"]
    root = Path(str(src["root"]))
    paths = []
    for n in src["names"].astype(str):
        p = root / n
        if not p.exists() and p.with_suffix(p.suffix.upper()).exists():
            p = p.with_suffix(p.suffix.upper())
        paths.append(p)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        vals = list(pool.map(_one_look, zip(paths, src["faces"], strict=True)))
    arr = np.stack(vals).astype(np.float32)
    np.savez(out, looks=arr)
    log(f"looks of {name}: {len(arr)} photos in {time.perf_counter() - t0:.0f} s")
    return arr


def features(cache: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(features in the embedding's layout: pooled last layer, stage statistics, looks; file names)."""
    src = np.load(cache / f"{name}.npz", allow_pickle=True)
    x = np.concatenate([src["emb"], src["stats"], looks(cache, name)], axis=1).astype(np.float32)
    assert x.shape[1] == EMBEDDING_DIM + STATS_DIM + look.N_VIEW + look.N_FOCUS + look.N_DETAIL
    return x, src["names"].astype(str)


def faces_of(cache: Path, name: str) -> np.ndarray:
    return np.load(cache / f"{name}.npz", allow_pickle=True)["faces"]


def biq_mos(biq: Path, split: str) -> dict[str, float]:
    name = {"train": "Train (Images and MOS).csv", "test": "Test (Images and MOS).csv"}[split]
    with open(biq / name, newline="") as fh:
        return {r[0].strip(): float(r[1]) for r in csv.reader(fh) if r and r[0] and r[0] != "Image Name"}


def livec_mos(folder: Path) -> dict[str, float]:
    """LIVE-C's opinion scores (0-100) as 0-1."""
    with open(folder / "mos.csv", newline="") as fh:
        return {r["file"]: float(r["mos"]) / 100.0 for r in csv.DictReader(fh)}
