"""The scoring pass on a folder where every photo has a face (issue 14: what eyes and focus cost).

    PYTHONPATH=. .venv/bin/python tools/faces_benchmark.py [--folder DIR]

Makes (once) 48 portraits of 2500 x 2500 px from the bundled astronaut (enlarged, shifted, mirrored, with
sensor-like noise; the face ~330 px wide at the detail scale), then times `pipeline.score` on a fresh catalog
after a 4-photo warm-up, one JSON line: photos/s and CPU ms per photo. Another checkout's selfie_desk (e.g.
main's, `git worktree add --detach /tmp/main-before main`) is measured with PYTHONPATH=/tmp/main-before and this
interpreter, so that runs of the two can be interleaved in one session.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_folder(folder: Path, n: int = 48) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    big = Image.open(ROOT / "resources" / "demo" / "astronaut.png").convert("RGB")
    big = big.resize((3000, 3000), Image.Resampling.LANCZOS)
    for i in range(n):
        im = big.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if i % 2 else big
        x, y = int(rng.integers(0, 500)), int(rng.integers(0, 300))
        a = np.asarray(im.crop((x, y, x + 2500, y + 2500)), np.int16)
        a = a + rng.normal(0, 3, a.shape).astype(np.int16)
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(folder / f"p{i:02d}.jpg", quality=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "selfie-desk-faces-bench")
    args = ap.parse_args()
    if not args.folder.is_dir() or len(list(args.folder.iterdir())) < 48:
        make_folder(args.folder)
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.model import Scorer

    scorer = Scorer(device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        with Catalog(Path(tmp) / "warm.db") as cat:
            pipeline.score(sorted(args.folder.iterdir())[:4], cat, scorer, thumbnail_root=Path(tmp) / "t0")
        with Catalog(Path(tmp) / "c.db") as cat:
            r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            s = pipeline.score([args.folder], cat, scorer, thumbnail_root=Path(tmp) / "t")
            dt, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
            faces = sum(len(p.faces) for p in cat.photos(scorer.model_name, folder=str(args.folder.resolve())))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"code": str(args.code), "photos": s.scored, "faces": faces, "seconds": round(dt, 2),
                      "per_s": round(s.scored / dt, 2), "cpu_ms_per_photo": round(1000 * cpu / s.scored, 1),
                      "load": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
