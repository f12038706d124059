"""False merges on real photos: a folder of unrelated real portraits, grouped by the app's own path.

No real shoot with bursts could be had here, but real photos that are NOT of one moment can: the portraits in
/work/shared/photos/portraits (Pixabay, tightly framed head-and-shoulders, no EXIF). Every one of them is its
own moment, except the few that are the same picture twice (found here by their pixels, not their names) and
the frames of one shoot that the set holds more than one of (the same person, the same light, Pixabay ids a
few apart: uploaded together; looked at, they are what a burst 1 s apart would be), so any other link grouping
makes is a false merge, and "keep the best, reject the rest" would reject a good photo of someone else.

The folder is built the way such folders come to be: the photos copied (downloads, a messenger's export, a
card copied without keeping dates), no EXIF, their file times seconds apart in name order (`--gap` s). It is
scored by `pipeline.score` on the CPU in a fresh SELFIE_DESK_HOME and grouped by `groups.regroup`, as the window
and `selfie-desk groups` do. The portraits are split in two halves by a hash of the name (`--half tune|test`):
choose thresholds on the tuning half only, and report the test half.

    .venv/bin/python tools/groups_real.py --half test [--gap 0.2] [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

PORTRAITS = Path("/work/shared/photos/portraits")
SHOOT = 20  # Pixabay ids at most this far apart: one upload, one shoot
SAME_PICTURE = 6.0  # mean absolute difference of 32 x 32 grey thumbnails (0-255) below which two files are one picture


def pixabay_id(name: str) -> int | None:
    found = re.search(r"-(\d{5,})_1280", name)
    return int(found.group(1)) if found else None


def half_of(name: str) -> str:
    return "tune" if hashlib.blake2b(name.encode()).digest()[0] % 2 == 0 else "test"


def tiny(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L").resize((32, 32), Image.Resampling.BOX), np.float32)


def build(folder: Path, names: list[str], gap: float, exif: bool) -> None:
    """The copies, `gap` s apart: as file times, or (`exif`) as a camera's EXIF DateTimeOriginal + SubSecTime
    (each photo saved again at quality 95 to carry it): a photographer going from one person to the next."""
    from datetime import datetime, timedelta

    folder.mkdir(parents=True)
    start = time.time() - 86_400
    when = datetime(2026, 6, 1, 15, 0, 0)
    for k, name in enumerate(names):
        target = folder / name
        if exif:
            shot = when + timedelta(seconds=k * gap)
            tags = Image.Exif()
            ifd = tags.get_ifd(0x8769)
            ifd[0x9003], ifd[0x9291] = shot.strftime("%Y:%m:%d %H:%M:%S"), f"{shot.microsecond // 1000:03d}"
            with Image.open(PORTRAITS / name) as im:
                im.convert("RGB").save(target.with_suffix(".jpg"), quality=95, exif=tags)
            continue
        shutil.copyfile(PORTRAITS / name, target)
        stamp = start + k * gap
        os.utime(target, (stamp, stamp))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tune", "test", "all"), default="test")
    ap.add_argument("--gap", type=float, default=0.2, help="seconds between the copies' file times")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos of the half (by name)")
    ap.add_argument("--exif", action="store_true", help="the times as EXIF capture times, not file times")
    ap.add_argument("--keep", type=Path, help="keep the folder and the catalog here")
    args = ap.parse_args()
    if not PORTRAITS.is_dir():
        sys.exit(f"{PORTRAITS} is not here")
    names = sorted(n for n in os.listdir(PORTRAITS) if n.lower().endswith((".jpg", ".jpeg", ".png"))
                   and (args.half == "all" or half_of(n) == args.half))
    if args.limit:
        names = names[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="groups-real-")) if args.keep is None else args.keep
    os.environ["SELFIE_DESK_HOME"] = str(work / "home")

    from selfie_desk.core import paths
    from selfie_desk.core.culling.groups import regroup
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.model import Scorer

    folder = work / "copied"
    build(folder, names, args.gap, args.exif)
    scorer = Scorer(device="cpu")
    t0 = time.perf_counter()
    with Catalog(paths.catalog_path()) as catalog:
        summary = pipeline.score([folder], catalog, scorer)
        scored = time.perf_counter() - t0
        photos = catalog.photos(scorer.model_name, folder=str(folder))
        ids = [p.id for p in photos]
        t1 = time.perf_counter()
        groups = regroup(catalog, ids)
        grouped = time.perf_counter() - t1
    by_id = {p.id: Path(p.path).name for p in photos}
    thumbs = {pid: tiny(folder / by_id[pid]) for pid in ids}  # the same picture twice: by its pixels

    def same_picture(a: int, b: int) -> bool:
        return float(np.abs(thumbs[a] - thumbs[b]).mean()) < SAME_PICTURE

    def same_shoot(a: int, b: int) -> bool:
        ia, ib = pixabay_id(by_id[a]), pixabay_id(by_id[b])
        return ia is not None and ib is not None and abs(ia - ib) <= SHOOT

    true_pairs = {(a, b) for a, b in combinations(sorted(ids), 2) if same_picture(a, b)}
    shoot_pairs = {(a, b) for a, b in combinations(sorted(ids), 2) if same_shoot(a, b)} - true_pairs
    linked = {(a, b) for g in groups for a, b in combinations(sorted(g.ids), 2)}
    shoot_linked = linked & shoot_pairs
    false = linked - true_pairs - shoot_pairs
    found = linked & true_pairs
    multi = [g for g in groups if len(g.ids) > 1]
    in_wrong = {pid for a, b in false for pid in (a, b)}
    clock = "EXIF capture times" if args.exif else "file times, no EXIF"
    print(f"{len(names)} real portraits ({args.half} half), {clock} {args.gap} s apart; "
          f"scored {summary.scored} in {scored:.0f} s, grouped in {grouped:.2f} s")
    print(f"groups of more than one photo: {len(multi)} holding {sum(len(g.ids) for g in multi)} photos "
          f"(kinds: {sorted({g.kind for g in multi})}); the largest {max((len(g.ids) for g in groups), default=0)}")
    print(f"false merges: {len(false)} pairs, {len(in_wrong)} photos ({len(in_wrong) / len(names):.1%}) "
          f"grouped with a different picture")
    print(f"the same picture twice: {len(true_pairs)} pairs, {len(found)} grouped; frames of one shoot: "
          f"{len(shoot_pairs)} pairs, {len(shoot_linked)} grouped (not counted either way)")
    for g in multi[:12]:
        print(f"  {g.kind}: {', '.join(by_id[i] for i in g.ids[:6])}{' ...' if len(g.ids) > 6 else ''}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
