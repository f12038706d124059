"""Grouping measured: pairwise precision, recall and F1 on moments built from real photos.

No real shoot with bursts was available here, so the set is built from single real photos:
- a burst: 4-6 frames of one photo with camera shake (shifts of a few px, rotation < 1 deg, zoom <= 2 %),
  subject motion (the centre moved a few px), exposure jitter (+-0.07 EV) and JPEG noise, EXIF times
  0.1-0.5 s apart (DateTimeOriginal + SubSecTimeOriginal); one frame of each burst blurred (1.5-3 px: missed
  focus), which must stay in its burst so that it can lose to the sharp frames;
- a bracket two minutes later: 3 frames at -s, 0, +s EV (s = 1 or 2), the same second; half of the brackets
  carry EXIF ExposureBiasValue, half do not (then only the brightness step tells them);
- hard cases: the same photo reframed (zoom 15 %, moved) three minutes after the burst: another moment;
  and a different photo one second after that: different people seconds apart.

Tuning (--tune) uses the demo photos and crops of them; the evaluation uses /work/shared/photos/portraits/
(never in tests). Embeddings come from the real scoring pass on CPU.

    .venv/bin/python tools/groups_eval.py [--bases 30] [--tune]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EDGE = 640
EXIF_IFD = 0x8769


def _exif(when: datetime, bias: float | None) -> Image.Exif:
    exif = Image.Exif()
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    ifd[0x9291] = f"{when.microsecond // 1000:03d}"
    if bias is not None:
        from PIL.TiffImagePlugin import IFDRational

        ifd[0x9204] = IFDRational(int(round(bias * 3)), 3)
    return exif


def _ev(a: np.ndarray, ev: float) -> np.ndarray:
    lin = (a / 255.0) ** 2.2 * (2.0 ** ev)
    return np.clip(lin ** (1 / 2.2) * 255.0, 0, 255)


def _frame(base: Image.Image, rng: random.Random, shake: float = 3.0) -> Image.Image:
    w, h = base.size
    angle = rng.uniform(-0.8, 0.8)
    zoom = rng.uniform(1.0, 1.02)
    dx, dy = rng.uniform(-shake, shake), rng.uniform(-shake, shake)
    im = base.rotate(angle, resample=Image.Resampling.BILINEAR, translate=(dx, dy))
    cw, ch = w / zoom, h / zoom
    im = im.crop(((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)).resize((w, h), Image.Resampling.BILINEAR)
    # subject motion: the centre third moved a few pixels
    box = (w // 3, h // 3, 2 * w // 3, 2 * h // 3)
    patch = im.crop(box)
    im.paste(patch, (box[0] + rng.randint(-4, 4), box[1] + rng.randint(-4, 4)))
    a = _ev(np.asarray(im, np.float32), rng.uniform(-0.07, 0.07))
    a = a + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 2.0, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def build(bases: list[Image.Image], folder: Path, seed: int = 0) -> dict[str, int]:
    """Write the set under `folder`; returns each file's moment id (the truth)."""
    rng = random.Random(seed)
    truth: dict[str, int] = {}
    moment = 0
    start = datetime(2026, 6, 1, 9, 0, 0)

    def save(im: Image.Image, when: datetime, bias: float | None, kind: str) -> None:
        path = folder / f"m{moment:04d}_{kind}_{len(truth):05d}.jpg"
        im.save(path, quality=90, exif=_exif(when, bias))
        truth[str(path)] = moment

    for k, base in enumerate(bases):
        slot = start + timedelta(minutes=10 * k)
        when = slot
        frames = rng.randint(4, 6)
        soft = rng.randrange(frames)  # one frame of each burst missed focus: it must stay in the burst
        for i in range(frames):
            frame = _frame(base, rng)
            if i == soft:
                frame = frame.filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 3.0)))
            save(frame, when, None, "burst")
            when += timedelta(seconds=rng.uniform(0.1, 0.5))
        moment += 1
        step = rng.choice((1.0, 2.0))
        with_bias = k % 2 == 0
        when = slot + timedelta(minutes=2, microseconds=250_000)
        frame = _frame(base, rng, shake=1.0)
        for ev in (0.0, -step, step):
            a = _ev(np.asarray(frame, np.float32), ev)
            save(Image.fromarray(a.astype(np.uint8)), when, ev if with_bias else None, "bracket")
        moment += 1
        # hard: the same scene three minutes later, reframed
        w, h = base.size
        later = base.crop((int(0.1 * w), int(0.05 * h), int(0.97 * w), int(0.92 * h))).resize((w, h))
        when = slot + timedelta(minutes=3)
        save(_frame(later, rng), when, None, "later")
        moment += 1
        # hard: different people one second later
        other = bases[(k + 1) % len(bases)].transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        save(_frame(other, rng), when + timedelta(seconds=1), None, "other")
        moment += 1
    return truth


def pairwise(groups: list[list[str]], truth: dict[str, int]) -> tuple[float, float, float]:
    pred = {p: i for i, g in enumerate(groups) for p in g}
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        same_pred, same_true = pred[a] == pred[b], truth[a] == truth[b]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((EDGE, EDGE))
        return im


def shots_for(truth: dict[str, int], folder: Path):
    from selfie_desk.cli.common import load_scorer
    from selfie_desk.core.catalog import Catalog
    from selfie_desk.core.groups import shots_from_catalog
    from selfie_desk.neural import pipeline

    scorer = load_scorer("default", "cpu")
    catalog = Catalog(folder / "catalog.db")
    t0 = time.perf_counter()
    pipeline.score([folder], catalog, scorer, thumbnail_root=folder / "thumbs")
    print(f"scored {len(truth)} photos in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    ids = catalog.photo_ids_by_path(truth)
    shots = shots_from_catalog(catalog, list(ids.values()))
    return shots, {v: k for k, v in ids.items()}, catalog


def evaluate(shots, names, truth, params) -> tuple[float, float, float, dict[str, int]]:
    from selfie_desk.core.groups import group_shots

    groups = group_shots(shots, params)
    kinds: dict[str, int] = {}
    for g in groups:
        kinds[g.kind] = kinds.get(g.kind, 0) + 1
    return (*pairwise([[names[i] for i in g.ids] for g in groups], truth), kinds)


def main() -> None:
    from selfie_desk.core.groups import GroupingParams

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bases", type=int, default=30, help="portraits used for the evaluation")
    ap.add_argument("--tune", action="store_true", help="sweep the thresholds on the demo-photo set")
    args = ap.parse_args()
    os.environ.setdefault("SELFIE_DESK_HOME", tempfile.mkdtemp(prefix="groups-eval-home-"))
    if args.tune:
        bases = []
        for p in sorted((ROOT / "resources/demo").iterdir()):
            if p.suffix.lower() in (".jpg", ".png"):
                im = _load(p)
                w, h = im.size
                bases += [im, im.crop((0, 0, w * 2 // 3, h * 2 // 3)).resize((w, h)),
                          im.crop((w // 3, h // 3, w, h)).resize((w, h))]
        name = "tuning (demo photos and crops of them)"
    else:
        files = sorted(Path("/work/shared/photos/portraits").glob("*.jpg"))
        bases = [_load(p) for p in random.Random(1).sample(files, args.bases)]
        name = f"evaluation ({args.bases} portraits from /work/shared/photos/portraits)"
    with tempfile.TemporaryDirectory(prefix="groups-eval-") as tmp:
        folder = Path(tmp)
        truth = build(bases, folder)
        shots, names, catalog = shots_for(truth, folder)
        defaults = GroupingParams()
        p, r, f1, kinds = evaluate(shots, names, truth, defaults)
        print(f"{name}: {len(truth)} photos, {len(set(truth.values()))} moments")
        print(f"defaults: precision {p:.3f}  recall {r:.3f}  pairwise F1 {f1:.3f}  kinds {kinds}")
        if args.tune:
            rows = []
            for bs, br, bb, ss in itertools.product((0.6, 0.7, 0.8, 0.85, 0.9), (0.4, 0.5, 0.6, 0.7),
                                                    (0.2, 0.35, 0.5), (0.85, 0.9, 0.95)):
                params = replace(defaults, burst_similarity=bs, bracket_similarity=br, bracket_brightness=bb,
                                 similar_similarity=ss)
                rows.append((evaluate(shots, names, truth, params)[2], bs, br, bb, ss))
            rows.sort(reverse=True)
            for f1, bs, br, bb, ss in rows[:8]:
                print(f"  F1 {f1:.3f}  burst_similarity {bs}  bracket_similarity {br}  "
                      f"bracket_brightness {bb}  similar_similarity {ss}")
            worst = min(rows)
            print(f"  worst of the sweep: F1 {worst[0]:.3f} at {worst[1:]}")
        catalog.close()


if __name__ == "__main__":
    main()
