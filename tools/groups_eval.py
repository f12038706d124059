"""Grouping measured: pairwise precision, recall and F1 on moments built from real photos.

No real shoot with bursts was available here, so the set is built from single real photos:
- a burst: 4-6 frames of one photo with camera shake (shifts of a few px, rotation < 1 deg, zoom <= 2 %),
  subject motion (the centre moved a few px), exposure jitter (+-0.07 EV) and JPEG noise, EXIF times
  0.1-0.5 s apart (DateTimeOriginal + SubSecTimeOriginal); one frame of each burst blurred (1.5-3 px: missed
  focus), which must stay in its burst so that it can lose to the sharp frames;
- a bracket two minutes later: 3 frames at -s, 0, +s EV (s = 1 or 2), the same second; half of the brackets
  carry EXIF ExposureBiasValue, half do not (then only the brightness step tells them);
- hard cases: the same photo reframed (zoom 15 %, moved) three minutes after the burst: another moment;
  and a different photo one second after that: different people seconds apart;
- a panorama six minutes after the burst: 3 overlapping windows cut out of the photo along its long side (each
  40-50 % of it, overlapping 25-60 %), 1 s apart, with a little drift across (+-1.5 %), exposure jitter and JPEG
  noise; then a different photo one second after the pan (not part of it);
- a shaken burst eight minutes after: 3 frames shaken by up to 1.5 % of the width, 0.3 s apart, which must stay
  a burst (the shift of a pan is much larger).

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


def _pan(base: Image.Image, rng: random.Random, frames: int = 3) -> list[Image.Image]:
    """Overlapping windows along the photo's long side, as a hand-held pan takes them."""
    w, h = base.size
    horizontal = w >= h
    along, across = (w, h) if horizontal else (h, w)
    f = int(rng.uniform(0.4, 0.5) * along)  # whole pixels: every frame of one camera has one size
    step = (along - f) / (frames - 1) * rng.uniform(0.8, 1.0)
    side = int(0.9 * across)
    out = []
    for i in range(frames):
        start = int(i * step)
        drift = int(rng.uniform(-0.015, 0.015) * side + 0.05 * across)
        box = (start, drift, start + f, drift + side) if horizontal else (drift, start, drift + side, start + f)
        im = base.crop(box)
        scale = EDGE / max(im.size)
        im = im.resize((round(im.size[0] * scale), round(im.size[1] * scale)), Image.Resampling.BICUBIC)
        a = _ev(np.asarray(im, np.float32), rng.uniform(-0.07, 0.07))
        a = a + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 2.0, a.shape)
        out.append(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)))
    return out


def build(bases: list[Image.Image], folder: Path, seed: int = 0) -> dict[str, int]:
    """Write the set under `folder`; returns each file's moment id (the truth; the file name says its kind)."""
    rng = random.Random(seed)
    truth: dict[str, int] = {}
    moment = 0
    start = datetime(2026, 6, 1, 9, 0, 0)

    def save(im: Image.Image, when: datetime, bias: float | None, kind: str) -> None:
        path = folder / f"m{moment:04d}_{kind}_{len(truth):05d}.jpg"
        if not path.exists():  # a set kept by --work is the same files: left as they are, not scored again
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
        # a panorama, and someone else a second after its last frame
        when = slot + timedelta(minutes=6)
        for frame in _pan(base, rng):
            save(frame, when, None, "pano")
            when += timedelta(seconds=1)
        moment += 1
        other = bases[(k + 2) % len(bases)].transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        save(_frame(other, rng), when, None, "other")
        moment += 1
        # hard: a burst shaken by up to 1.5 % of the width stays a burst
        when = slot + timedelta(minutes=8)
        for _ in range(3):
            save(_frame(base, rng, shake=0.015 * base.size[0]), when, None, "shaken")
            when += timedelta(seconds=0.3)
        moment += 1
    return truth


def kind_of(path: str) -> str:
    """The true kind of a file of the set, from its name (m0001_<kind>_00012.jpg)."""
    return Path(path).name.split("_")[1]


def pairwise(groups: list[list[str]], truth: dict[str, int], kind: str | None = None) -> tuple[float, float, float]:
    """Pairwise precision, recall, F1; with `kind`, over the pairs that hold a file of that kind only."""
    pred = {p: i for i, g in enumerate(groups) for p in g}
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        if kind is not None and kind not in (kind_of(a), kind_of(b)):
            continue
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
    from selfie_desk.core.culling.groups import shots_from_catalog
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    scorer = load_scorer("default", "cpu")
    catalog = Catalog(folder / "catalog.db")
    t0 = time.perf_counter()
    thumbs = Path(tempfile.mkdtemp(prefix="groups-eval-thumbs-"))  # outside the set: a kept set never scores them
    pipeline.score([folder], catalog, scorer, thumbnail_root=thumbs)
    print(f"scored {len(truth)} photos in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    ids = catalog.photo_ids_by_path(truth)
    shots = shots_from_catalog(catalog, list(ids.values()))
    return shots, {v: k for k, v in ids.items()}, catalog


def evaluate(shots, names, truth, params) -> tuple[float, float, float, dict[str, int]]:
    from selfie_desk.core.culling.groups import group_shots

    groups = group_shots(shots, params)
    kinds: dict[str, int] = {}
    for g in groups:
        kinds[g.kind] = kinds.get(g.kind, 0) + 1
    return (*pairwise([[names[i] for i in g.ids] for g in groups], truth), kinds)


TRUE_KIND = {"burst": "burst", "bracket": "bracket", "pano": "panorama", "shaken": "burst"}


def per_kind(shots, names, truth, params) -> None:
    """F1 over the pairs that hold a file of each kind, and how often a moment's group got the right kind."""
    from selfie_desk.core.culling.groups import group_shots

    groups = [([names[i] for i in g.ids], g.kind) for g in group_shots(shots, params)]
    found = {p: kind for members, kind in groups for p in members}
    lists = [members for members, _ in groups]
    size = {m: sum(m2 == m for m2 in truth.values()) for m in set(truth.values())}
    for kind in ("later", "other"):  # moments of one photo: is it alone?
        files = [path for path in truth if kind_of(path) == kind]
        merged = sum(any(other != path for other in group) for group in lists for path in group if path in files)
        print(f"  {kind:<8} photos of a moment of their own merged into another group: {merged}/{len(files)}")
    for kind in ("burst", "shaken", "bracket", "pano"):
        p, r, f1 = pairwise(lists, truth, kind)
        moments = {m for path, m in truth.items() if kind_of(path) == kind and size[m] > 1}
        right = ""
        if kind in TRUE_KIND:
            ok = sum(all(found[path] == TRUE_KIND[kind] for path, m2 in truth.items() if m2 == m) for m in moments)
            right = f"  kind right {ok}/{len(moments)}"
        print(f"  {kind:<8} precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}{right}")


def main() -> None:
    from selfie_desk.core.culling.groups import GroupingParams

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bases", type=int, default=30, help="portraits used for the evaluation")
    ap.add_argument("--tune", action="store_true", help="sweep the thresholds on the demo-photo set")
    ap.add_argument("--work", type=Path, help="build and score the set here, and keep it for the next run")
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
        folder = Path(tmp) if args.work is None else args.work
        folder.mkdir(parents=True, exist_ok=True)
        truth = build(bases, folder)  # the same files again (seeded): a kept set is not scored again
        shots, names, catalog = shots_for(truth, folder)
        defaults = GroupingParams()
        p, r, f1, kinds = evaluate(shots, names, truth, defaults)
        print(f"{name}: {len(truth)} photos, {len(set(truth.values()))} moments")
        print(f"defaults: precision {p:.3f}  recall {r:.3f}  pairwise F1 {f1:.3f}  kinds {kinds}")
        per_kind(shots, names, truth, defaults)
        no_sig = [replace(s, signature=None) for s in shots]
        p, r, f1, kinds = evaluate(no_sig, names, truth, defaults)
        print(f"without signatures (photos scored before catalog 8): precision {p:.3f}  recall {r:.3f}  "
              f"F1 {f1:.3f}  kinds {kinds}")
        if args.tune:
            rows = []
            for sh, ag, ac in itertools.product((0.15, 0.2, 0.25), (0.4, 0.5, 0.6, 0.7, 0.8), (0.05, 0.1, 0.15)):
                params = replace(defaults, panorama_shift=sh, panorama_agreement=ag, panorama_across=ac)
                rows.append((evaluate(shots, names, truth, params)[2], sh, ag, ac))
            rows.sort(reverse=True)
            for f1, sh, ag, ac in rows[:5]:
                print(f"  F1 {f1:.3f}  panorama_shift {sh}  panorama_agreement {ag}  panorama_across {ac}")
            print(f"  worst of the panorama sweep: F1 {min(rows)[0]:.3f} at {min(rows)[1:]}")
            rows = []
            for margin, agree in itertools.product((0.0, 0.02, 0.05, 0.1), (0.3, 0.4, 0.5, 0.6, 0.7)):
                params = replace(defaults, check_margin=margin, check_agreement=agree)
                rows.append((evaluate(shots, names, truth, params)[2], margin, agree))
            for f1, margin, agree in sorted(rows, reverse=True)[:6]:
                print(f"  F1 {f1:.3f}  finer check: check_margin {margin}  check_agreement {agree}")
            print(f"  the finer check off: F1 {rows[0][0]:.3f}")
            for on in (False, True):
                print(f"  the finer check on every bracket link {on}: "
                      f"F1 {evaluate(shots, names, truth, replace(defaults, check_brackets=on))[2]:.3f}")
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
