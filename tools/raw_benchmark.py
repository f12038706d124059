"""Camera raws against JPEGs: opening and scoring a folder, and the loupe's screen-size image, in one run.

    .venv/bin/python tools/raw_benchmark.py [--photos 16] [--pairs 3] [--device cpu] [--json]

The raws are 12 MP DNGs (4000 x 3000 Bayer mosaic, 24 MB as a camera's uncompressed raw; the mosaic is a
sparse hole: reading the preview never touches it, as on a real raw) whose embedded preview is a full-size
12 MP JPEG of ~3 MB, as most cameras embed. The JPEG folder holds the SAME previews as .jpg files: the photos
the camera would write beside the raws. Each scoring run is `pipeline.score` on a fresh catalog and a fresh
thumbnail cache (indexing, fingerprints, decode, thumbnails, the models, catalog writes), runs interleaved
JPEG, raw, JPEG, raw... so that a machine loaded by others weighs on both alike. The goal (issue 17): raws
score at >= 0.8 of the JPEGs' rate. The loupe: `workers.images.load_image` at the loupe's preview edge
(ui.photo_pane.PREVIEW_EDGE) plus the QImage it is shown as, per photo, interleaved the same way; goal < 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_folders(root: Path, n: int) -> tuple[Path, Path]:
    from benchmark import make_photos

    from selfie_desk.core.formats.dng import write_dng

    jpegs = make_photos(root / "jpeg", n)
    raws = root / "raw"
    raws.mkdir(parents=True, exist_ok=True)
    for jpeg in jpegs:
        write_dng(raws / (jpeg.stem + ".DNG"), 4000, 3000, preview=jpeg.read_bytes(), sparse=True)
    return root / "jpeg", raws


def score_once(folder: Path, scorer, home: Path) -> float:
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    home.mkdir(parents=True)
    with Catalog(home / "catalog.sqlite3") as catalog:
        t = time.perf_counter()
        summary = pipeline.score([folder], catalog, scorer, thumbnail_root=home / "thumbs")
        took = time.perf_counter() - t
    assert summary.failed == 0 and summary.scored > 0, summary
    return summary.scored / took


def loupe_once(files: list[Path], lanczos: bool = False) -> list[float]:
    """ms per photo to the QImage the loupe shows; `lanczos`: as main's load_image did it before this change (the
    same decode, then a Lanczos resize to exactly the loupe's edge)."""
    from PIL import Image

    from selfie_desk.core.formats import decoding
    from selfie_desk.ui.photo_pane import PREVIEW_EDGE
    from selfie_desk.workers.images import ImageRequest, load_image, to_qimage

    out = []
    for path in files:
        t = time.perf_counter()
        if lanczos:
            im = decoding.decode(path, PREVIEW_EDGE).image.copy()
            im.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE), Image.Resampling.LANCZOS, reducing_gap=2.0)
            image = to_qimage(im)
        else:
            image = to_qimage(load_image(ImageRequest(str(path), str(path), "", PREVIEW_EDGE, thumbnail=False)))
        out.append((time.perf_counter() - t) * 1000)
        assert PREVIEW_EDGE <= max(image.width(), image.height()) < 2 * PREVIEW_EDGE
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from selfie_desk.neural.model import Scorer

    with tempfile.TemporaryDirectory(prefix="raw-bench-") as tmp:
        root = Path(tmp)
        jpeg_dir, raw_dir = make_folders(root / "photos", args.photos)
        scorer = Scorer(device=args.device)
        score_once(jpeg_dir, scorer, root / "warm")  # warm-up: the models, the page cache
        rates: dict[str, list[float]] = {"jpeg": [], "raw": []}
        loupe: dict[str, list[float]] = {"jpeg": [], "raw": [], "jpeg, Lanczos as before": []}
        for i in range(args.pairs):
            for kind, folder in (("jpeg", jpeg_dir), ("raw", raw_dir)):
                rates[kind].append(score_once(folder, scorer, root / f"{kind}-{i}"))
                loupe[kind] += loupe_once(sorted(folder.iterdir()))
                if kind == "jpeg":
                    loupe["jpeg, Lanczos as before"] += loupe_once(sorted(folder.iterdir()), lanczos=True)
                print(f"pair {i + 1} {kind}: {rates[kind][-1]:.2f} photos/s, loupe median "
                      f"{statistics.median(loupe[kind][-args.photos:]):.0f} ms", file=sys.stderr)
    ratios = [r / j for r, j in zip(rates["raw"], rates["jpeg"], strict=True)]
    result = {
        "photos": args.photos, "pairs": args.pairs, "device": scorer.label,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "jpeg_rate": [round(r, 2) for r in rates["jpeg"]], "raw_rate": [round(r, 2) for r in rates["raw"]],
        "raw_over_jpeg": [round(r, 3) for r in ratios], "raw_over_jpeg_median": round(statistics.median(ratios), 3),
        "loupe_ms_median": {k: round(statistics.median(v), 1) for k, v in loupe.items()},
        "loupe_ms_max": {k: round(max(v), 1) for k, v in loupe.items()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
