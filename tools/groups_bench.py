"""Grouping 10,000 photos from stored data (issue 14's goal: < 2 s), on a real SQLite catalog: reading the
embeddings, times and exposure biases, grouping, storing the groups, and reading them back ranked; then what
the window does with them on its UI thread (the group index, the badges, the grid's stacked rows).

The photos are synthetic records (400 scenes of 25 frames, all within one minute: the worst case for a
time window), not decoded files: only stored data is read.

    .venv/bin/python tools/groups_bench.py [--photos 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selfie_desk.core.catalog import Catalog, Result  # noqa: E402
from selfie_desk.core.embedding import EMBEDDING_DIM, FEATURE_DIM  # noqa: E402
from selfie_desk.core.groups import GroupIndex, group_shots, ranked_groups, regroup, shots_from_catalog  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=10_000)
    n = ap.parse_args().photos
    rng = np.random.default_rng(0)
    scenes = np.abs(rng.normal(size=(n // 25 + 1, FEATURE_DIM))).astype(np.float32)
    start = datetime(2026, 6, 1, 9, 0, 0)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp) / "catalog.db")
        with catalog.transaction():
            ids = [catalog.add_file(f"/shoot/{i:05d}.jpg", 1, 1, f"fp{i}") for i in range(n)]
        results = []
        for i, pid in enumerate(ids):
            vec = scenes[i // 25].copy()
            vec[EMBEDDING_DIM:] = 0.5  # one brightness: the looks are not what is measured here
            vec[:EMBEDDING_DIM] += 0.1 * np.abs(rng.normal(size=EMBEDDING_DIM)).astype(np.float32)
            when = (start + timedelta(seconds=60 * i / n)).isoformat()
            results.append(Result(pid, 4000, 3000, when, 0.5, vec, embedding_id="x"))
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
        print(f"{n} photos, {len(groups)} groups")
        for name, s in t.items():
            print(f"  {name:<45} {s:6.3f} s")
        catalog.close()


if __name__ == "__main__":
    main()
