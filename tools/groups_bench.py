"""Grouping 10,000 photos from stored data (issue 14's goal: < 2 s), on a real SQLite catalog: reading the
embeddings, times and exposure biases, grouping, storing the groups, and reading them back ranked; then what
the window does with them on its UI thread (the group index, the badges, the grid's stacked rows).

The photos are synthetic records (400 scenes of 25 frames, all within one minute: the worst case for a
time window, since every neighbour is then a candidate for a panorama's registration), not decoded files: only
stored data is read. Each has a signature (catalog 8): a window of its scene's random picture, shaken by a pixel,
and one scene in ten is a pan (its frames a third of the frame apart), so the registration runs as it would.
--no-signatures stores none (photos scored before catalog 8).

    .venv/bin/python tools/groups_bench.py [--photos 10000] [--no-signatures] [--spacing 0.7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

from selfie_desk.core.culling.groups import GroupIndex, group_shots, ranked_groups, regroup, shots_from_catalog
from selfie_desk.core.measures.embedding import EMBEDDING_DIM, FEATURE_DIM
from selfie_desk.core.storage.catalog import Catalog, Result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=10_000)
    ap.add_argument("--no-signatures", action="store_true")
    ap.add_argument("--spacing", type=float, default=None,
                    help="seconds between consecutive photos (default: all within one minute); 0.7: past a camera's "
                         "burst mode, so every consecutive pair is a panorama's candidate (the worst case since "
                         "issue 28)")
    ap.add_argument("--borderline", action="store_true",
                    help="frames as alike as a soft frame of a burst (cosine ~0.9): every link gets the finer check")
    args = ap.parse_args()
    n = args.photos
    rng = np.random.default_rng(0)
    scenes = np.abs(rng.normal(size=(n // 25 + 1, FEATURE_DIM))).astype(np.float32)
    start = datetime(2026, 6, 1, 9, 0, 0)
    pictures: dict[int, np.ndarray] = {}
    noise = 0.75 if args.borderline else 0.1
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp) / "catalog.db")
        with catalog.transaction():
            ids = [catalog.add_file(f"/shoot/{i:05d}.jpg", 1, 1, f"fp{i}") for i in range(n)]
        results = []
        h, w = 48, 64
        for i, pid in enumerate(ids):
            sig = None
            if not args.no_signatures and hasattr(Result, "signature"):
                scene = i // 25
                if scene not in pictures:  # smooth random structure, three frames wide
                    coarse = np.random.default_rng(scene).uniform(0, 255, (h // 4, 3 * w // 4)).astype(np.uint8)
                    pictures[scene] = np.asarray(Image.fromarray(coarse).resize((3 * w, h), Image.Resampling.BICUBIC),
                                                 np.float32)
                pan = scene % 10 == 0
                x = (i % 25 % 6) * w // 3 if pan else w + int(rng.integers(-1, 2))
                sig = np.clip(pictures[scene][:, x:x + w] + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)
            vec = scenes[i // 25].copy()
            vec[EMBEDDING_DIM:] = 0.5  # one brightness: the looks are not what is measured here
            vec[:EMBEDDING_DIM] += noise * np.abs(rng.normal(size=EMBEDDING_DIM)).astype(np.float32)
            step = 60 / n if args.spacing is None else args.spacing
            when = (start + timedelta(seconds=step * i)).isoformat()
            extra = {} if sig is None else {"signature": sig}
            results.append(Result(pid, 4000, 3000, when, 0.5, vec, embedding_id="x", **extra))
        if args.borderline:
            a, b = results[0].embedding[:EMBEDDING_DIM], results[1].embedding[:EMBEDDING_DIM]
            print(f"neighbours' cosine {float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)):.3f}")
        catalog.record(results, "default")
        t = {}
        t0 = time.perf_counter()
        shots = shots_from_catalog(catalog, ids)
        t["read stored data"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        groups = group_shots(shots)
        t["group"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        regroup(catalog, ids)
        t["read + group + store (regroup)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        photos = catalog.photos("default", folder="/shoot")
        ranked = ranked_groups(catalog, photos)
        t["read back ranked (photos + ranked_groups)"] = time.perf_counter() - t0
        assert sum(len(g.members) for g in ranked) == n
        # what the window does on the UI thread with them (issue 14's window part): index, badges, the stacked grid
        t0 = time.perf_counter()
        index = GroupIndex(ranked)
        badged = sum(bool(index.badges(p)) for p in photos)
        t["grouping thread: GroupIndex + every badge"] = time.perf_counter() - t0
        from selfie_desk.ui.grid_model import PhotoGridModel  # Qt's model class; no window needed

        model = PhotoGridModel()
        model.set_photos(photos)
        t0 = time.perf_counter()
        model.set_groups(index)
        t["UI thread: the grid's rows, stacked"] = time.perf_counter() - t0
        assert badged == 0 and model.rowCount() == len(index.stacks()) + sum(len(g.members) == 1 for g in ranked)
        kinds = {k: sum(g.kind == k for g in groups) for k in sorted({g.kind for g in groups})}
        print(f"{n} photos, {len(groups)} groups {kinds}")
        for name, s in t.items():
            print(f"  {name:<45} {s:6.3f} s")
        catalog.close()


if __name__ == "__main__":
    main()
