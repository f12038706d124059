"""Choose the crop search's ranking and its keep-as-is margin on a VALIDATION set (docs/cropping.md).

    .venv/bin/python tools/crop_validation.py --portraits ../shared/photos/portraits --photos 40 60 --seeds 11 23

Found-again composites (tools/crop_eval.py's recipe: a portrait pasted at 45-80 % of a scene) are made from
the score head's TRAINING portraits only (the held-out fifth, which crop_eval reports, is never read here),
and each portrait uncropped is a second item: well framed, its proposal should be "keep as is". For every
item the search's candidates and pooled estimates are computed once, and the top 40 by estimate are also
scored exactly (one pass each); then every rule (exact vs pooled weight `alpha`, margin `m`) is replayed
from those numbers: the share of composites whose best crop finds the portrait (IoU >= 0.5), and the share
of originals with room to crop (more than one candidate) whose proposal stays within IoU 0.8 of the whole.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from crop_eval import DEMO, SCENES, composite
from PIL import Image
from score_data import bucket

from selfie_desk.core.crop.geometry import distinct, iou, whole_pixels_all
from selfie_desk.neural.crop_search import EXACT_FINALISTS, CropSearch
from selfie_desk.neural.model import Scorer

ROOT = Path(__file__).resolve().parents[1]



TOP_EXACT = 40


def dump(folder: Path, n: int, seed: int) -> list[dict]:
    names = sorted(p.name for p in folder.iterdir() if bucket(p.name, 5) != 0)  # training portraits only
    names = [names[i] for i in np.random.default_rng(seed).choice(len(names), n, replace=False)]
    search = CropSearch(Scorer(device="cpu"), verify=0)
    scenes = [Image.open(DEMO / x).convert("RGB") for x in SCENES]
    rng = np.random.default_rng(seed + 1)
    items = []
    for name in names:
        im = Image.open(folder / name).convert("RGB")
        scene, truth = composite(im, rng, scenes)
        for kind, img, box in (("composite", scene, truth), ("original", im, (0, 0, *im.size))):
            photo = search.prepare_image(img)
            boxes, est, _rule, feats = search.scored_candidates(photo, "original", {})
            w, h = photo.width, photo.height
            rounded = whole_pixels_all(boxes[:, :4], w, h)
            top = np.argsort(-est, kind="stable")[:TOP_EXACT]
            exact = search.crop_scores(photo.image, rounded[top], w, h, quality=feats.quality)
            items.append({"name": name, "kind": kind, "W": w, "H": h, "truth": [float(v) for v in box],
                          "whole": feats.whole, "boxes": rounded.tolist(), "est": est.tolist(),
                          "top": top.tolist(), "exact": exact.tolist()})
        print(f"  {name}", flush=True)
    return items


def replay(items: list[dict], alpha: float, margin: float) -> tuple[float, float, int, int]:
    """(found-again share, originals kept share, composites, originals with room) under one rule."""
    found, kept = [], []
    for it in items:
        boxes, est = np.array(it["boxes"]), np.array(it["est"])
        exact = np.full(len(est), np.nan)
        exact[np.array(it["top"], int)] = it["exact"]
        finalists = [i for i in distinct(boxes, np.argsort(-est, kind="stable"), EXACT_FINALISTS)
                     if not np.isnan(exact[i])]
        blend = [alpha * exact[i] + (1 - alpha) * est[i] for i in finalists]
        k = int(np.argmax(blend))
        best, score = boxes[finalists[k]], blend[k]
        if score < it["whole"] + margin:
            best = np.array([0, 0, it["W"], it["H"]], float)
        overlap = float(iou(np.array([best]), np.array([it["truth"]]))[0, 0])
        if it["kind"] == "composite":
            found.append(overlap >= 0.5)
        elif len(boxes) > 1:
            kept.append(overlap >= 0.8)
    return float(np.mean(found)), float(np.mean(kept)) if kept else float("nan"), len(found), len(kept)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--portraits", type=Path, default=ROOT.parent / "shared" / "photos" / "portraits")
    ap.add_argument("--photos", type=int, nargs="+", default=[40, 60], help="portraits per seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 23])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/crop_validation"), help="where the dumps are kept")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    items: list[dict] = []
    for n, seed in zip(args.photos, args.seeds, strict=True):
        path = args.cache / f"train_{n}_{seed}.json"
        if not path.exists():
            path.write_text(json.dumps(dump(args.portraits, n, seed)))
        items += json.loads(path.read_text())
    print("alpha = weight of the exact per-crop score (1 - alpha: the pooled estimate); cells: found again / "
          "originals kept")
    for alpha in (1.0, 0.75, 0.5, 0.25, 0.0):
        cells = []
        for margin in (0.0, 0.01, 0.02, 0.03, 0.05):
            f, k, n_found, n_kept = replay(items, alpha, margin)
            cells.append(f"m={margin:.2f}: {f:.2f} / {k:.2f}")
        print(f"alpha {alpha:.2f}  " + "   ".join(cells))
    print(f"({n_found} composites, {n_kept} originals with room to crop)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
