"""How long the folder's map takes (issue 20): 10,000 photos laid out the first time, from the cache, and with
100 photos added; and what the grid snap costs at 10,000 (the recursive split, the greedy nearest free cell,
the exact linear assignment where it is still affordable).

    .venv/bin/python tools/map_bench.py [--photos 10000] [--rounds 3] [--full-tsne]

The photos are catalog rows with synthetic clustered embeddings (150 "scenes"), in a real SQLite catalog under
a temporary SELFIE_DESK_HOME: no photo is decoded, as none is when the window lays out a scored folder. The
rounds are interleaved (first time, cache, added; again...), so a load from other processes falls on all
three alike. Wall and CPU seconds of this process; a benchmark, not a test (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def fill(catalog, folder: str, n: int, seed: int = 0) -> list[int]:
    from selfie_desk.core.measures.embedding import EMBEDDING_ID, FEATURE_DIM
    from selfie_desk.core.storage.catalog import Result

    rng = np.random.default_rng(seed)
    centres = np.abs(rng.normal(0, 1, (150, FEATURE_DIM))) ** 2
    labels = rng.integers(0, 150, n)
    ids, results = [], []
    with catalog.transaction():
        for i in range(n):
            pid = catalog.add_file(f"{folder}/p{seed}-{i:05d}.jpg", 1000, 1, f"{seed:02d}{i:038d}")
            vec = np.abs(centres[labels[i]] + rng.normal(0, 0.6, FEATURE_DIM)).astype(np.float32)
            results.append(Result(pid, 640, 480, score=float(rng.random()), embedding=vec,
                                  embedding_id=EMBEDDING_ID))
            ids.append(pid)
    catalog.record(results, "default")
    return ids


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-tsne", action="store_true", help="also t-SNE on every photo (no landmarks): slow")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="selfie-desk-mapbench-")
    os.environ["SELFIE_DESK_HOME"] = scratch
    try:
        return run(args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # ~100 MB of catalog


def run(args: argparse.Namespace) -> int:
    from selfie_desk.core import paths
    from selfie_desk.core.map import layout as map_layout
    from selfie_desk.core.measures.embedding import EMBEDDING_ID
    from selfie_desk.core.storage.catalog import Catalog

    catalog = Catalog(paths.catalog_path())
    folder = "/photos/shoot"
    ids = fill(catalog, folder, args.photos)
    extra = fill(catalog, folder, 100, seed=1)
    print(f"{args.photos} photos in {catalog.path}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for r in range(args.rounds):
        catalog.forget_map_layouts()
        first, w1, c1 = timed(lambda: map_layout.layout_for(catalog, folder, ids))
        cached, w2, c2 = timed(lambda: map_layout.layout_for(catalog, folder, ids))
        added, w3, c3 = timed(lambda: map_layout.layout_for(catalog, folder, ids + extra))
        assert (first.how, cached.how, added.how) == ("tsne", "cache", "added"), (first.how, cached.how, added.how)
        rows.append((w1, c1, w2, c2, w3, c3))
        print(f"round {r + 1}: first time {w1:.2f} s (cpu {c1:.2f}) | from the cache {w2:.3f} s (cpu {c2:.3f}) | "
              f"100 added {w3:.2f} s (cpu {c3:.2f})", flush=True)
    med = np.median(np.array(rows), axis=0)
    print(f"median: first time {med[0]:.2f} s (cpu {med[1]:.2f}), cache {med[2]:.3f} s, 100 added {med[4]:.2f} s")

    layout = catalog.map_layout(folder, EMBEDDING_ID)
    assert layout is not None
    points = layout.points[: args.photos]
    cols, rows_ = map_layout.grid_shape(args.photos)
    target = np.stack([points[:, 0] * cols - 0.5, points[:, 1] * rows_ - 0.5], axis=1).astype(np.float64)

    def moved(cells) -> float:
        return float(np.sqrt(((cells + 0.0 - target) ** 2).sum(axis=1)).mean())

    split, w, c = timed(lambda: map_layout.snap_to_grid(points, cols, rows_))
    print(f"snap {args.photos}: recursive split {w:.2f} s (cpu {c:.2f}), mean move {moved(split):.2f} cells")
    greedy, w, c = timed(lambda: map_layout.greedy_snap(target, np.zeros((rows_, cols), dtype=bool)))
    print(f"snap {args.photos}: greedy nearest free cell {w:.2f} s (cpu {c:.2f}), mean move {moved(greedy):.2f} cells")
    for m in (1000, 2000):
        sub = points[:m]
        cm, rm = map_layout.grid_shape(m)
        saved = map_layout.EXACT_MAX
        map_layout.EXACT_MAX = m
        _, w, c = timed(lambda sub=sub, cm=cm, rm=rm: map_layout.snap_to_grid(sub, cm, rm))
        map_layout.EXACT_MAX = saved
        print(f"snap {m}: exact linear assignment {w:.2f} s (cpu {c:.2f}) (O(n^3): {args.photos} would take hours)")
    if args.full_tsne:
        feats = map_layout.features(np.stack([v for v, _ in catalog.embeddings(ids).values()]))
        _, w, c = timed(lambda: map_layout.project(feats, landmarks=len(ids)))
        print(f"t-SNE on all {args.photos} (no landmarks): {w:.1f} s (cpu {c:.1f})")
    catalog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
