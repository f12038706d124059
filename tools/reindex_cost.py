"""What re-indexing an unchanged folder costs (issue 31: the inode and change-time check that catches a photo
replaced by another of the same name, size and time must cost nothing where nothing changed).

    .venv/bin/python tools/reindex_cost.py [--photos 3000] [--folder DIR]

Writes DIR (default: a temporary folder) with N small distinct JPEGs once, indexes it into a fresh catalog, then
indexes it five times more and prints the first time and the median of the others. Run it against two checkouts
with PYTHONPATH, interleaved, to compare (docs/reliability.md). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=3000)
    parser.add_argument("--folder", type=Path, help="where the photos are (made there the first time)")
    args = parser.parse_args()
    import io

    from PIL import Image

    from selfie_desk.core.formats import indexing
    from selfie_desk.core.storage.catalog import Catalog

    folder = args.folder or Path(tempfile.mkdtemp(prefix="reindex-")) / "shoot"
    if not folder.exists():
        folder.mkdir(parents=True)
        for i in range(args.photos):
            buf = io.BytesIO()
            Image.new("RGB", (320, 240), (i % 256, (i // 256) % 256, 90)).save(buf, format="JPEG", quality=85)
            (folder / f"IMG_{i:05d}.jpg").write_bytes(buf.getvalue() + i.to_bytes(4, "big"))
    home = Path(tempfile.mkdtemp(prefix="reindex-home-"))
    try:
        with Catalog(home / "catalog.sqlite3") as catalog:
            t = time.perf_counter()
            indexing.index([folder], catalog, "default")
            first = time.perf_counter() - t
            again = []
            for _ in range(5):
                t = time.perf_counter()
                indexing.index([folder], catalog, "default")
                again.append(time.perf_counter() - t)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"{args.photos} photos: first index {first:.2f} s, re-index median {statistics.median(again):.3f} s "
          f"(min {min(again):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
