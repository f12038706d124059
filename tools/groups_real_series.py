"""Grouping measured on real photo series only: real bursts, video moments, tripod exposure brackets and
panoramas, mixed with unrelated real photos, each put in a folder the way a shoot comes off a card.

Pairwise precision, recall and F1 over every pair of photos of a folder (a pair is right when both are in one
group exactly when they are of one series), how many series came back whole and with the right kind ("bracket",
"panorama"; bursts and video moments as "burst" or "similar"), which brackets and panoramas "keep the best"
would reject from (it must never), and every false merge by name.

The series (nothing synthetic; the frames are the sources' own pixels):
- /work/shared/real/bursts: two sports bursts (real EXIF capture times), two video moments, a bracket without EXIF,
  three singles; /work/shared/real/davis_video_bursts: 14 video moments of 8 frames (~8 fps);
  /work/shared/real/eyes_blink_clip: one woman, 12 frames over 4 s (a blink, a wink, laughter).
- found here (extracted under /work/cache/shoot/src, never into the repository; see SOURCES below): panoramas
  (a 12-frame hand-held Canon pan with its EXIF times; two classic 15- and 18-frame pans without EXIF; a 3-frame
  pan), tripod exposure brackets (8 scenes of a Canon 5D/7D/300D and a Nikon D5200 with EXIF, Debevec's Memorial
  as PNG without EXIF), each bracket cut to 5 frames 1-2 EV apart as a camera's bracketing takes them.
- unrelated singles: LIVE In the Wild photos (/work/shared/real/livec_half), one after another among the series.

How the folder is made: the series in a shuffled order, each a minute after the last frame of the one before, with
two unrelated photos 4 and 9 seconds after it. Video frames get EXIF capture times from their frame numbers (as a
camera's burst would have); photos that carry EXIF keep it, shifted to their slot (so real bursts, pans and
brackets keep their real intervals); the unrelated photos get EXIF times too (a camera's card: the hard case is a
different picture seconds after a burst); series without EXIF (exported brackets, pans from an unknown camera) get
none, only file times in order. With `--exported` every photo loses its EXIF (a folder exported by another
program): the clocks are then the files'.

Split (tune / validate) by series, fixed below, each kind in both: choose thresholds on `tune` only and report
`validate`. The held-out series the team keeps are other sequences of these same kinds.

    .venv/bin/python tools/groups_real_series.py --split tune|validate [--exported] [--sweep]

The folder and its scored catalog are kept under /work/cache/shoot/series/<split>[-exported]/ (scoring is the slow
part, about 2-4 photos/s on this VM); a re-run only groups.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

REAL = Path("/work/shared/real")
SRC = Path("/work/cache/shoot/src")
WORK = Path("/work/cache/shoot/series")
EXIF_IFD = 0x8769
START = datetime(2026, 5, 16, 14, 0, 0)

# Where the found series came from (fetched with the search tool's fetch; extracted by `git archive`).
SOURCES = {
    "mob5566": "GitHub mob5566/vfx (commit of the snapshot in /work/.mirror; hw2/input_image: 12 frames of a "
               "hand-held Canon EOS 6D pan, 2017, EXIF kept); no licence stated",
    "ivanhao": "GitHub Ivan-Hao/VFX-2020-Stitching (Denny/, Grail/: the classic 15- and 18-frame pans of the "
               "NTU VFX course, no EXIF); no licence stated",
    "stitching_tutorial": "GitHub OpenStitching/stitching_tutorial @604b60a (imgs/weir_1-3.jpg, a 3-frame pan); "
                          "no licence file for the images",
    "drakeguan": "GitHub drakeguan/vfx11spring_project1 @d4289ae (image/original/<scene>: tripod exposure "
                 "sequences of a Canon 5D/7D/300D with EXIF, 2009-2011); no licence stated",
    "lukachuuu": "GitHub lukachuuu/HDR-image @444b564 (dataset4: a Nikon D5200 exposure sequence with EXIF); "
                 "no licence stated",
    "memorial": "GitHub ericpgz858/VFX-Tone-Mapping @9f9b9df (Memorial_SourceImages: Debevec's Memorial Church "
                "sequence, PNG, no EXIF; research use as its README says)",
}


@dataclass
class Series:
    name: str
    kind: str  # burst | video | bracket | panorama
    frames: list[Path]
    split: str
    offsets: list[float] | None = None  # seconds from the first frame, to write as EXIF; None: keep / none
    exif: str = "keep"  # keep: the file's own EXIF (if any); write: offsets as EXIF times
    tags: dict = field(default_factory=dict)


def _h(name: str) -> int:
    return hashlib.blake2b(name.encode()).digest()[0]


def exposure_time(path: Path) -> float | None:
    with Image.open(path) as im:
        t = im.getexif().get_ifd(EXIF_IFD).get(0x829A)
    return None if t is None else float(t)


def bracket_frames(frames: list[Path], count: int = 5) -> list[Path]:
    """`count` frames of a long exposure sequence, each 1-2 EV from the next (as a camera's bracketing takes
    them), around its middle: by the EXIF exposure times where known, else (1 EV apart) every second frame."""
    times = [exposure_time(f) for f in frames]
    if all(t for t in times):
        import math

        order = sorted(range(len(frames)), key=lambda i: times[i])  # darkest first
        ev = [math.log2(times[i]) for i in order]
        best: list[int] = []
        for start in range(len(order)):
            picked = [start]
            for j in range(start + 1, len(order)):
                if 1.0 <= ev[j] - ev[picked[-1]] <= 2.0:
                    picked.append(j)
                if len(picked) == count:
                    break
            if len(picked) > len(best) or (len(picked) == len(best) and abs(start + len(picked) / 2 - len(order) / 2)
                                            < abs(best[0] + len(best) / 2 - len(order) / 2)):
                best = picked
        keep = sorted(order[j] for j in best)  # back in capture order
        return [frames[i] for i in keep]
    step = 2
    span = step * (count - 1) + 1
    first = max(0, (len(frames) - span) // 2)
    return frames[first:first + span:step][:count]


def catalogue() -> tuple[list[Series], list[tuple[Path, str]]]:
    """Every series and every unrelated single, each with its split."""
    out: list[Series] = []
    b = json.loads((REAL / "bursts/series.json").read_text())
    for name, frames in b["series"].items():
        kind = b["kinds"][name]
        paths = [REAL / "bursts" / f for f in frames]
        offsets = None
        exif = "keep"
        if kind == "video":  # bedroom: every 4th frame of 30 fps; bmx: consecutive frames of 24 fps
            step = 4 / 30 if "bedroom" in name else 1 / 24
            offsets, exif = [i * step for i in range(len(paths))], "write"
        out.append(Series(f"bursts/{name}", kind, paths, "tune", offsets, exif))
    d = json.loads((REAL / "davis_video_bursts/series.json").read_text())
    names = sorted(d["series"])
    rng = random.Random(28)
    rng.shuffle(names)
    for i, name in enumerate(names):
        s = d["series"][name]
        fps = s.get("source_fps_nominal", 24)
        nums = s["source_frame_numbers"]
        out.append(Series(f"davis/{name}", "video", [REAL / "davis_video_bursts" / f for f in s["frames"]],
                          "tune" if i % 2 == 0 else "validate", [(n - nums[0]) / fps for n in nums], "write"))
    blink = json.loads((REAL / "eyes_blink_clip/labels.json").read_text())["labels"]
    items = sorted(blink.items(), key=lambda kv: kv[1]["time_s"])
    out.append(Series("blink_clip", "video", [REAL / "eyes_blink_clip" / k for k, _ in items], "validate",
                      [v["time_s"] - items[0][1]["time_s"] for _, v in items], "write"))
    # panoramas
    mob = sorted((SRC / "mob5566/hw2/input_image").glob("*.JPG"))
    out.append(Series("pano/mob5566_canon", "panorama", mob, "tune"))
    out.append(Series("pano/weir", "panorama", sorted((SRC / "stitching_tutorial/imgs").glob("weir_[0-9].jpg")),
                      "tune"))
    out.append(Series("pano/denny", "panorama", sorted((SRC / "ivanhao/Denny").glob("*.jpg")), "validate"))
    out.append(Series("pano/grail", "panorama", sorted((SRC / "ivanhao/Grail").glob("*.jpg")), "validate"))
    # brackets
    scenes = {"corridor": "tune", "desktop01": "tune", "restroom": "tune", "station": "tune",
              "desktop02": "validate", "digimax_gate": "validate", "scene": "validate", "servers": "validate"}
    for scene, split in scenes.items():
        frames = sorted((SRC / "drakeguan+vfx11spring_project1/image/original" / scene).glob("*.jpg"))
        out.append(Series(f"bracket/{scene}", "bracket", bracket_frames(frames), split))
    out.append(Series("bracket/nikon_d5200", "bracket",
                      bracket_frames(sorted((SRC / "lukachuuu+HDR-image/dataset4").glob("*.jpg"))), "validate"))
    out.append(Series("bracket/memorial", "bracket",
                      bracket_frames(sorted((SRC / "ericpgz858+VFX-Tone-Mapping/Memorial_SourceImages").glob("*.png"))),
                      "validate"))
    singles = [(REAL / "bursts" / f, "tune") for f in b["singles"]]
    livec = sorted((REAL / "livec_half").glob("*.jpg"))
    livec = [p for p in livec if _h(p.name) % 4 == 0][:60]  # 60 of them, by a hash of the name
    singles += [(p, "tune" if _h(p.name + "s") % 2 == 0 else "validate") for p in livec]
    return out, singles


def _exif_time(when: datetime, keep: Image.Exif | None = None) -> Image.Exif:
    exif = keep if keep is not None else Image.Exif()
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    ifd[0x9291] = f"{when.microsecond // 10_000:02d}"
    return exif


def _own_times(paths: list[Path]) -> list[float] | None:
    """The frames' own EXIF capture times (seconds from the first), when every frame has one."""
    out = []
    for p in paths:
        with Image.open(p) as im:
            ifd = im.getexif().get_ifd(EXIF_IFD)
        when, sub = ifd.get(0x9003), ifd.get(0x9291)
        if not when:
            return None
        t = datetime.strptime(str(when).strip(), "%Y:%m:%d %H:%M:%S")
        digits = "".join(c for c in str(sub or "") if c.isdigit())
        if digits:
            t = t.replace(microsecond=int(digits[:6].ljust(6, "0")))
        out.append(t)
    return [(t - out[0]).total_seconds() for t in out]


def build(folder: Path, series: list[Series], singles: list[tuple[Path, str]], exported: bool) -> dict[str, str]:
    """The folder, and the truth: each file's series name (a single: its own name)."""
    folder.mkdir(parents=True)
    truth: dict[str, str] = {}
    order = list(series)
    random.Random(7).shuffle(order)
    pool = list(singles)
    random.Random(8).shuffle(pool)
    clock = START
    k = 0

    def put(src: Path, name: str, label: str, when: datetime, exif_when: datetime | None) -> None:
        target = folder / name
        with Image.open(src) as im:
            im.load()
            keep = None if exported else im.getexif()
            has_exif = keep is not None and bool(keep.get_ifd(EXIF_IFD).get(0x9003))
            if exif_when is not None and not exported:
                keep = _exif_time(exif_when, keep)
            elif not has_exif:
                keep = None
            rgb = im.convert("RGB") if im.mode not in ("RGB", "L") else im
            if src.suffix.lower() == ".png":
                target = target.with_suffix(".png")
                rgb.save(target)
            else:
                rgb.save(target, quality=95, exif=keep.tobytes() if keep is not None else b"")
        stamp = (when - datetime(1970, 1, 1)).total_seconds()
        os.utime(target, (stamp, stamp))
        truth[target.name] = label

    for s in order:
        base = clock
        offsets = s.offsets if s.exif == "write" else (_own_times(s.frames) if not exported else None)
        if offsets is None:  # no clock of its own: exported files, a second apart
            offsets = [float(i) for i in range(len(s.frames))]
        for i, (f, off) in enumerate(zip(s.frames, offsets, strict=True)):
            when = base + timedelta(seconds=off)
            exif_when = when if (s.exif == "write" or _own_times([f]) is not None) else None
            put(f, f"{s.name.replace('/', '-')}__{i:02d}{f.suffix.lower()}", s.name, when, exif_when)
        end = base + timedelta(seconds=max(offsets))
        clock = end + timedelta(seconds=60)  # the next series a minute after this one's last frame
        for gap in (4.0, 9.0):  # two unrelated photos just after it
            if pool:
                src, _split = pool.pop()
                k += 1
                name = f"single-{k:03d}-{src.stem}{src.suffix.lower()}"
                put(src, name, name, end + timedelta(seconds=gap), end + timedelta(seconds=gap))
    for src, _split in pool:
        k += 1
        name = f"single-{k:03d}-{src.stem}{src.suffix.lower()}"
        when = clock + timedelta(seconds=k * 7)
        put(src, name, name, when, when)
    return truth


def truth_of(truth: dict[str, str]) -> dict[str, str]:
    return dict(truth)


def pairwise(groups: Iterable[list[str]], truth: dict[str, str]) -> tuple[float, float, float, int, int]:
    pred = {p: i for i, g in enumerate(groups) for p in g}
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        sp, st = pred[a] == pred[b], truth[a] == truth[b]
        tp += sp and st
        fp += sp and not st
        fn += st and not sp
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), fp, fn


def scored_catalog(folder: Path):
    """The folder scored into a catalog of its own beside it (kept: a re-run reads it), and its photos."""
    os.environ["SELFIE_DESK_HOME"] = str(folder.parent / (folder.name + "-home"))
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from selfie_desk.core import paths
    from selfie_desk.core.storage.catalog import Catalog

    catalog = Catalog(paths.catalog_path())
    if not catalog.photos("default", folder=str(folder)) or catalog.photos_missing_score("default", str(folder)):
        from selfie_desk.cli.common import load_scorer
        from selfie_desk.neural import pipeline

        t0 = time.perf_counter()
        pipeline.score([folder], catalog, load_scorer("default", "cpu"))
        print(f"scored in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return catalog, catalog.photos("default", folder=str(folder))


def scored_shots(folder: Path):
    """Score the folder (kept: a re-run reads the catalog) and the shots grouping reads."""
    from selfie_desk.core.culling.groups import shots_from_catalog

    catalog, photos = scored_catalog(folder)
    ids = [p.id for p in photos]
    names = {p.id: Path(p.path).name for p in photos}
    return shots_from_catalog(catalog, ids), names, catalog, photos


def report(groups, names: dict[int, str], truth: dict[str, str], series: dict[str, Series], verbose: bool) -> float:
    from selfie_desk.core.culling.groups import NEVER_AUTO_REJECTED

    lists = [[names[i] for i in g.ids] for g in groups]
    kind_of = {names[i]: g.kind for g in groups for i in g.ids}
    group_of = {names[i]: n for n, g in enumerate(groups) for i in g.ids}
    t = truth_of(truth)
    p, r, f1, fp, fn = pairwise(lists, t)
    print(f"pairwise precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  (false pairs {fp}, missed pairs {fn}; "
          f"{len(truth)} photos, {len(series)} series)")
    whole = right = 0
    per_kind: dict[str, list[int]] = {}
    for name, s in sorted(series.items()):
        files = [f for f, sn in truth.items() if sn == name]
        gids = {group_of[f] for f in files}
        alone = len(gids) == 1 and all(truth.get(o) == name for o in lists[next(iter(gids))])
        kinds = sorted({kind_of[f] for f in files})
        want = {"bracket": ["bracket"], "panorama": ["panorama"]}.get(s.kind, ["burst", "similar"])
        ok_kind = all(k in want for k in kinds)
        whole += alone
        right += alone and ok_kind
        stats = per_kind.setdefault(s.kind, [0, 0, 0])
        stats[0] += 1
        stats[1] += alone
        stats[2] += alone and ok_kind
        if verbose or not (alone and ok_kind):
            sizes = sorted((sum(group_of[f] == g for f in files) for g in gids), reverse=True)
            print(f"  {'  ' if alone and ok_kind else '! '}{name:<28} {s.kind:<8} {len(files):>2} frames -> pieces "
                  f"{sizes} kinds {kinds}{'' if alone else ' (merged with others)' if len(gids) == 1 else ''}")
    for kind, (n, w, k) in sorted(per_kind.items()):
        print(f"  {kind:<9} series {n}: whole {w}, whole and named right {k}")
    print(f"series whole: {whole}/{len(series)}; whole and named right: {right}/{len(series)}")
    rejectable = [f for f, sn in truth.items() if sn in series and series[sn].kind in ("bracket", "panorama")
                  and kind_of[f] not in NEVER_AUTO_REJECTED and len(lists[group_of[f]]) > 1]
    print(f"bracket and panorama frames B could reject: {len(rejectable)}")
    for g in lists:
        if len({t[f] for f in g}) > 1:
            print(f"  false merge: {sorted(g)[:8]}")
    return f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tune", "validate"), required=True)
    ap.add_argument("--exported", action="store_true", help="every photo without EXIF (an exported folder)")
    ap.add_argument("--rebuild", action="store_true", help="build and score the folder again")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a grouping threshold other than the default (GroupingParams field)")
    ap.add_argument("--verbose", action="store_true", help="every series, not only those grouped wrong")
    args = ap.parse_args()
    series, singles = catalogue()
    series = [s for s in series if s.split == args.split]
    singles = [x for x in singles if x[1] == args.split]
    folder = WORK / (args.split + ("-exported" if args.exported else ""))
    truth_file = folder.parent / (folder.name + "-truth.json")
    if args.rebuild and folder.exists():
        shutil.rmtree(folder)
        shutil.rmtree(folder.parent / (folder.name + "-home"), ignore_errors=True)
    if not folder.exists():
        truth = build(folder, series, singles, args.exported)
        truth_file.write_text(json.dumps(truth, indent=1))
    truth = json.loads(truth_file.read_text())
    shots, names, _catalog, _photos = scored_shots(folder)
    from selfie_desk.core.culling.groups import GroupingParams, group_shots

    params = GroupingParams()
    for item in args.set:
        key, value = item.split("=", 1)
        params = replace(params, **{key: type(getattr(params, key))(value if not isinstance(getattr(params, key), bool)
                                                                    else value.lower() in ("1", "true"))})
    t0 = time.perf_counter()
    groups = group_shots(shots, params)
    print(f"{args.split}{' (exported: no EXIF)' if args.exported else ''}: grouped {len(shots)} photos in "
          f"{time.perf_counter() - t0:.2f} s")
    report(groups, names, truth, {s.name: s for s in series}, args.verbose)


if __name__ == "__main__":
    main()
