"""Do alike photos sit together on the map? On a folder whose file names carry a label (the part before the
first '-': `woman-123.jpg`, `man-456.jpg`), the share of each photo's 8 grid neighbours with its own label,
against what a map in random order would give (the labels' base rate). Scores the folder first (CPU, in a
temporary SELFIE_DESK_HOME unless one is set), lays it out as the window does, and writes the mosaic.

    .venv/bin/python tools/map_eval.py FOLDER [--limit 500] [--out /tmp/map.jpg]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=500, help="N photos spread over the names (default 500)")
    parser.add_argument("--out", type=Path, help="write the mosaic there (4000 px)")
    args = parser.parse_args()
    os.environ.setdefault("SELFIE_DESK_HOME", tempfile.mkdtemp(prefix="selfie-desk-mapeval-"))
    work = Path(tempfile.mkdtemp(prefix="map-eval-")) / args.folder.name
    work.mkdir(parents=True)
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(files) > args.limit:  # spread over the names, so every label is in
        files = [files[i] for i in np.linspace(0, len(files) - 1, args.limit).round().astype(int)]
    for f in files:
        shutil.copy2(f, work / f.name)
    from selfie_desk.core import paths
    from selfie_desk.core.map.layout import layout_for
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.model import Scorer

    catalog = Catalog(paths.catalog_path())
    t = time.perf_counter()
    pipeline.score([work], catalog, Scorer(device="cpu"))
    scored = time.perf_counter() - t
    photos = {p.id: p for p in catalog.photos("default", folder=str(work))}
    report = layout_for(catalog, str(work), list(photos))
    again = layout_for(catalog, str(work), list(photos))
    label = {pid: Path(p.path).name.split("-")[0] for pid, p in photos.items()}
    at = {cell: pid for pid, cell in report.layout.cell_of().items()}
    same = total = 0
    for (c, r), pid in at.items():
        for dc in (-1, 0, 1):
            for dr in (-1, 0, 1):
                other = at.get((c + dc, r + dr))
                if (dc or dr) and other is not None:
                    same += label[other] == label[pid]
                    total += 1
    counts = Counter(label[pid] for pid in at.values())
    chance = sum((n / len(at)) * ((n - 1) / (len(at) - 1)) for n in counts.values())
    print(f"{len(files)} photos of {args.folder}: scored in {scored:.0f} s; map of {len(report.layout)} "
          f"({report.layout.cols} x {report.layout.rows}) laid out in {report.seconds:.2f} s, from the cache in "
          f"{again.seconds:.3f} s ({again.how}); load average {os.getloadavg()[0]:.1f}")
    print(f"labels {dict(counts)}: grid neighbours with the same label {same / max(total, 1):.3f} "
          f"(random order: {chance:.3f})")
    if args.out:
        from selfie_desk.core.map.mosaic import render_mosaic

        render_mosaic(report.layout, photos, 4000).save(args.out, quality=88)
        print(f"wrote {args.out}")
    catalog.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    return 0 if np.isfinite(same) else 1


if __name__ == "__main__":
    sys.exit(main())
