"""Rebuild the crop search's composition head (models/crop_head.pt and its card, models/crop_head.json).

    .venv/bin/python tools/train_crop.py --fcdb-annotations PATH/flickr-cropping-dataset \
        --fcdb-photos PATH/photo-composition/FCDB --portraits ../shared/photos/portraits [--biq PATH/BIQ2021]

What it learns from (models/README.md has the terms of each):
- FCDB's training split (the crops photography hobbyists drew, 1,335 photos less placeholders): every candidate box
  of the crop search scored by its overlap (IoU) with the human crop; 1 in 5 photos (a hash of the name) held out
  for validation, where every choice was made. FCDB's test split is never read here.
- Well-composed photos whose whole frame is the best view (the View Finding Network's idea): the portraits the
  score head trained on (its held-out fifth is never read) and, with --biq, BIQ2021's best-rated train photos.
- Found-again composites: training portraits pasted into softened scenes made from FCDB training photos, the
  portrait's frame the target.

Features are computed once per photo (the crop search's own decode, view and backbone pass; cached under
--cache) and the head is trained on them: ~15 minutes on 2 CPU cores the first time, ~5 once cached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from crop_data import bucket, fcdb, ranking_pairs
from PIL import Image

from selfie_desk.neural import composition
from selfie_desk.neural.composition import SIDE, tapped_forward

ROOT = Path(__file__).resolve().parents[1]


def square_input(image: Image.Image) -> torch.Tensor:
    """The view squashed to the head's square, exactly as CropSearch.features makes its first level."""
    square = image.resize((SIDE, SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return torch.from_numpy(np.array(square.convert("RGB"))).permute(2, 0, 1)[None]


@torch.inference_mode()
def maps_of(backbone, image: Image.Image) -> dict[str, np.ndarray]:
    """The head's two maps of the view and of its mirror image (float16)."""
    x = square_input(image)
    _, fine, coarse = tapped_forward(backbone, torch.cat([x, x.flip(-1)]))
    return {"fine": fine.float().numpy().astype(np.float16), "coarse": coarse.float().numpy().astype(np.float16)}


def extract(search, key: str, cache: Path, load) -> dict | None:
    """One photo's cached record: maps, size, faces (full-resolution boxes). `load()` gives (image or path)."""
    out = cache / f"{key}.npz"
    if out.exists():
        with np.load(out) as z:
            return dict(z)
    source = load()
    photo = search.prepare(source) if isinstance(source, Path) else search.prepare_image(source)
    rec = maps_of(search.scorer.backbone, photo.image)
    rec["size"] = np.array([photo.width, photo.height])
    rec["faces"] = np.array([f.box for f in photo.faces], np.float64).reshape(-1, 4)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez(tmp, **rec)
    tmp.replace(out)
    return rec


# ---- the examples: per photo, its maps, candidate boxes and each box's target --------------------------------


def portrait_split(name: str) -> str:
    """The portraits: "heldout" (the score head's held-out fifth, for tools/crop_eval.py: never read here),
    "validation" (1 in 6 of the rest, another hash) or "train"."""
    if bucket(name, 5) == 0:
        return "heldout"
    return "validation" if bucket("crop-validation:" + name, 6) == 0 else "train"


def candidates_for(width: int, height: int, faces: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The boxes a photo's example ranks (shares of the photo, N x 4): the search's coarse stage for "free",
    the fine stage around the coarse boxes nearest the target (one per ratio, as the search refines), and the
    whole frame first."""
    from selfie_desk.core.crop.geometry import candidate_boxes, fine_candidates, iou

    coarse = candidate_boxes(width, height, "free", [tuple(f) for f in faces])
    parts = [np.array([[0, 0, width, height]], np.float64), coarse[:, :4]]
    overlap = iou(coarse[:, :4], truth[None])[:, 0]
    for ratio in np.unique(coarse[:, 4]):
        mine = np.flatnonzero(coarse[:, 4] == ratio)
        best = mine[np.argmax(overlap[mine])]
        parts.append(fine_candidates(coarse[best, :4], width, height, ratio))
    boxes = np.concatenate(parts)
    return (boxes / [width, height, width, height]).astype(np.float32)


def unit_iou(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    from selfie_desk.core.crop.geometry import iou

    return iou(boxes, truth[None])[:, 0].astype(np.float32)


class Example:
    """One photo to learn from: its maps (and mirror image's), candidate boxes, and each box's target (IoU
    with the frame people chose, or with the whole frame for a well-composed photo)."""

    def __init__(self, key: str, rec: dict, truth_px: np.ndarray, kind: str, weight: float = 1.0,
                 cache: Path | None = None) -> None:
        self.key, self.kind, self.weight = key, kind, weight
        w, h = (int(v) for v in rec["size"])
        self.width, self.height = w, h
        self.fine = torch.from_numpy(rec["fine"])
        self.coarse = torch.from_numpy(rec["coarse"])
        self.faces = rec["faces"]
        self.truth_px = truth_px
        self.truth = (truth_px / [w, h, w, h]).astype(np.float32)
        cached = None if cache is None else cache.with_name(cache.stem + ".boxes.npz")
        if cached is not None and cached.exists():
            with np.load(cached) as z:
                self.boxes, self.targets = z["boxes"], z["targets"]
        else:
            self.boxes = candidates_for(w, h, self.faces, truth_px)
            self.targets = unit_iou(self.boxes, self.truth)
            if cached is not None:
                np.savez(cached, boxes=self.boxes, targets=self.targets)
        self.aspect = torch.tensor([w / h], dtype=torch.float32)
        self.pairs: list = []  # FCDB's voted crop pairs on this photo (unit boxes), when any


def sample(ex: Example, rng: np.random.Generator, n: int, flip: bool) -> tuple[torch.Tensor, torch.Tensor, int]:
    """`n` of an example's boxes: the whole frame, a quarter from its best tenth, the rest at random; mirrored
    with the maps when `flip`."""
    order = np.argsort(-ex.targets)
    top = order[: max(8, len(order) // 10)]
    pick = np.concatenate([[0], rng.choice(top, min(len(top), n // 4), replace=False),
                           rng.choice(len(order), n - 1 - min(len(top), n // 4), replace=False)])
    boxes = ex.boxes[pick].copy()
    if flip:
        boxes[:, [0, 2]] = 1 - boxes[:, [2, 0]]
    return torch.from_numpy(boxes), torch.from_numpy(ex.targets[pick]), int(flip)


def listwise_loss(scores: torch.Tensor, targets: torch.Tensor, tau: float) -> torch.Tensor:
    """Cross-entropy between the softmax of the targets (sharpened by tau) and of the scores: the ranking's top
    matters most, which is what the search's argmax uses."""
    q = torch.softmax(targets / tau, dim=0)
    return -(q * torch.log_softmax(scores, dim=0)).sum()


def train_head(examples: list[Example], cfg: dict, log=print) -> composition.CompositionHead:
    """The head trained on the examples (sampled by weight, mirrored half the time): a listwise loss on each
    photo's sampled boxes, and a logistic loss on FCDB's voted crop pairs where the photo has them."""
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    head = composition.CompositionHead(channels=cfg["channels"], roi=cfg["roi"], rod=cfg["rod"],
                                       hidden=cfg["hidden"], dropout=cfg["dropout"])
    opt = torch.optim.AdamW(head.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps = cfg["epochs"] * max(1, len(examples) // cfg["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    weights = np.array([e.weight for e in examples], np.float64)
    weights /= weights.sum()
    head.train()
    t0, running = time.time(), []
    for step in range(steps):
        batch = rng.choice(len(examples), cfg["batch"], replace=True, p=weights)
        fines, coarses, boxes, targets, index, aspects, segments = [], [], [], [], [], [], []
        pair_rows = []  # (example's place in the batch, boxes a, boxes b, share of votes for a)
        for k, i in enumerate(batch):
            ex = examples[i]
            flip = bool(rng.random() < 0.5)
            b, t, f = sample(ex, rng, cfg["boxes"], flip)
            fines.append(ex.fine[f])
            coarses.append(ex.coarse[f])
            aspects.append(ex.aspect)
            start = sum(len(x) for x in boxes)
            boxes.append(b)
            targets.append(t)
            index.append(torch.full((len(b),), k, dtype=torch.long))
            segments.append((start, start + len(b)))
            if ex.pairs and cfg["pair_weight"] > 0:
                a = torch.from_numpy(np.stack([p[0] for p in ex.pairs]))
                c = torch.from_numpy(np.stack([p[1] for p in ex.pairs]))
                if flip:
                    a[:, [0, 2]] = 1 - a[:, [2, 0]]
                    c[:, [0, 2]] = 1 - c[:, [2, 0]]
                pair_rows.append((k, a, c, torch.tensor([p[2] for p in ex.pairs], dtype=torch.float32)))
        n_sampled = sum(len(x) for x in boxes)
        for k, a, c, _ in pair_rows:
            boxes += [a, c]
            index += [torch.full((len(a) + len(c),), k, dtype=torch.long)]
        fmap = head.feature_map(torch.stack(fines).float(), torch.stack(coarses).float())
        scores = head.score(fmap, torch.cat(boxes), torch.cat(aspects), torch.cat(index))
        if cfg["loss"] == "mse":  # the head learns each box's expected IoU: its argmax maximises the expected IoU
            loss = sum(((scores[s:e] - tt) ** 2).mean() for (s, e), tt in zip(segments, targets, strict=True))
        else:
            loss = sum(listwise_loss(scores[s:e], tt, cfg["tau"])
                       for (s, e), tt in zip(segments, targets, strict=True))
        loss = loss / len(batch)
        pos = n_sampled
        for _, a, c, prefer in pair_rows:
            sa, sc = scores[pos : pos + len(a)], scores[pos + len(a) : pos + len(a) + len(c)]
            pos += len(a) + len(c)
            loss = loss + cfg["pair_weight"] / len(batch) * torch.nn.functional.binary_cross_entropy_with_logits(
                cfg["pair_scale"] * (sa - sc), prefer)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running.append(float(loss.detach()))
        if (step + 1) % 200 == 0 or step + 1 == steps:
            log(f"  step {step + 1}/{steps} loss {np.mean(running[-200:]):.4f} ({time.time() - t0:.0f} s)")
    return head.eval()


# ---- validation: the search's own two stages, ranked by the head alone ------------------------------------------


@torch.inference_mode()
def head_scores(head, ex: Example, boxes_px: np.ndarray, mirror: bool = False) -> np.ndarray:
    """The head's scores of boxes (pixels); with `mirror`, averaged with the mirror image's of the mirrored boxes."""
    fmap = head.feature_map(ex.fine[:1].float(), ex.coarse[:1].float())
    unit = torch.from_numpy((boxes_px[:, :4] / [ex.width, ex.height, ex.width, ex.height]).astype(np.float32))
    scores = head.score(fmap, unit, ex.aspect).numpy()
    if mirror:
        flipped = unit.clone()
        flipped[:, [0, 2]] = 1 - unit[:, [2, 0]]
        other = head.score(head.feature_map(ex.fine[1:].float(), ex.coarse[1:].float()), flipped, ex.aspect).numpy()
        scores = (scores + other) / 2
    return scores


def search_like(head, ex: Example, aspect: str = "free", fine_seeds: int = 3, mirror: bool = False) -> dict:
    """What the crop search proposes when the head alone ranks its candidates: the coarse stage, the face
    rule, the fine stage around the winners, the best; and the whole frame's score beside it."""
    from selfie_desk.core.crop.geometry import candidate_boxes, face_rule, refined_candidates

    w, h = ex.width, ex.height
    faces = [tuple(f) for f in ex.faces]
    coarse = candidate_boxes(w, h, aspect, faces)
    rule = face_rule(coarse[:, :4], faces, w, h)
    coarse = coarse[rule.allows(coarse[:, :4], w, h)]
    scores = head_scores(head, ex, coarse, mirror)
    fine = refined_candidates(coarse, scores, rule, w, h, fine_seeds)
    boxes = np.concatenate([coarse, fine])[:, :4]
    scores = np.concatenate([scores, head_scores(head, ex, fine, mirror)])
    whole = float(head_scores(head, ex, np.array([[0, 0, w, h]], np.float64), mirror)[0])
    k = int(np.argmax(scores))
    return {"box": boxes[k], "score": float(scores[k]), "whole": whole, "boxes": boxes, "scores": scores}


def evaluate(head, examples: list[Example], margins=(0.0,), runs: list | None = None) -> dict:
    """Mean IoU and boundary displacement of the proposal with the target frame, per keep-whole margin m (the
    whole frame is proposed unless the best box scores m above it, in the head's units); the share kept whole."""
    from crop_data import boundary_displacement

    from selfie_desk.core.crop.geometry import iou

    runs = runs if runs is not None else [search_like(head, ex) for ex in examples]
    out: dict = {"photos": len(runs)}
    chosen = [(r["box"], r["score"] - r["whole"]) for r in runs]
    for m in (None, *margins):
        ious, bdes, kept = [], [], []
        for ex, (box, gain) in zip(examples, chosen, strict=True):
            keep = m is not None and gain < m
            box = np.array([0, 0, ex.width, ex.height], np.float64) if keep else box
            ious.append(float(iou(box[None], ex.truth_px[None])[0, 0]))
            bdes.append(boundary_displacement(box, ex.truth_px, ex.width, ex.height))
            kept.append(keep)
        label = "crop always" if m is None else f"keep whole below {m:g}"
        out[label] = {"iou": round(float(np.mean(ious)), 4), "bde": round(float(np.mean(bdes)), 4),
                      "found>=0.5": round(float(np.mean(np.array(ious) >= 0.5)), 3),
                      "kept_whole": round(float(np.mean(kept)), 3)}
    return out


# ---- the sources ----------------------------------------------------------------------------------------------


def fcdb_examples(search, annotations: Path, photos: Path, split: str, cache: Path, log=print) -> list[Example]:
    crops, skipped = fcdb(annotations, photos, split)
    log(f"FCDB {split}: {len(crops)} photos ({len(skipped)} placeholders or missing skipped)")
    out = []
    for n, c in enumerate(crops):
        key = "fcdb/" + c.name.rsplit(".", 1)[0]
        rec = extract(search, key, cache, lambda c=c: c.path)
        out.append(Example(c.name, rec, np.array(c.box, np.float64), "fcdb", cache=cache / f"{key}.npz"))
        if (n + 1) % 200 == 0:
            log(f"  {n + 1}/{len(crops)}")
    return out


def portrait_files(folder: Path, split: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and portrait_split(p.name) == split)


def whole_examples(search, files: list[Path], cache: Path, prefix: str) -> list[Example]:
    """Well-composed photos: the whole frame is the best view of each (the View Finding Network's pairs)."""
    out = []
    for p in files:
        key = f"{prefix}/{p.stem}"
        rec = extract(search, key, cache, lambda p=p: Image.open(p).convert("RGB"))
        w, h = (int(v) for v in rec["size"])
        out.append(Example(p.name, rec, np.array([0, 0, w, h], np.float64), "whole", cache=cache / f"{key}.npz"))
    return out


def composite_examples(search, portraits: list[Path], scenes: list[Path], cache: Path, seed: int) -> list[Example]:
    """Found-again composites made as tools/crop_eval.py makes its own (a portrait at 45-80 % of the width of a
    softened scene), from training portraits and scenes cut from FCDB training photos; the target is the
    portrait's frame."""
    from crop_eval import composite

    out = []
    for i, p in enumerate(portraits):
        rng = np.random.default_rng([seed, i])  # one generator per composite: the same whatever is cached
        scene_path = scenes[int(rng.integers(len(scenes)))]
        key = f"composite/{seed}-{p.stem}-{scene_path.stem}"
        truth_file = cache / f"{key}.json"

        def make(p=p, scene_path=scene_path, rng=rng, truth_file=truth_file) -> Image.Image:
            with Image.open(scene_path) as bg:
                bg.draft("RGB", (800, 800))
                image, truth = composite(Image.open(p).convert("RGB"), rng, [bg.convert("RGB")])
            truth_file.parent.mkdir(parents=True, exist_ok=True)
            truth_file.write_text(json.dumps([float(v) for v in truth]))
            return image

        rec = extract(search, key, cache, make)
        truth = np.array(json.loads(truth_file.read_text()), np.float64)
        out.append(Example(p.name, rec, truth, "composite", cache=cache / f"{key}.npz"))
    return out


# ---- the command ----------------------------------------------------------------------------------------------

# The shipped settings, every one chosen on the validation photos (docs/cropping.md lists the variants tried).
CONFIG = dict(seed=0, channels=8, roi=5, rod=7, hidden=128, dropout=0.3, lr=2e-3, weight_decay=1e-3, epochs=8,
              batch=8, boxes=128, loss="mse", tau=0.05, pair_weight=0.0, pair_scale=10.0, whole_weight=0.3,
              composite_weight=0.3, portraits=600, composites=600)


def validation_report(head, sets: dict[str, list[Example]]) -> dict:
    out = {}
    for name, examples in sets.items():
        if examples:
            out[name] = evaluate(head, examples, margins=(0.0, 0.02, 0.05, 0.1))
    return out


def build_sources(args, search, cfg: dict, log=print) -> tuple[list[Example], dict[str, list[Example]]]:
    cache = args.cache
    train = fcdb_examples(search, args.fcdb_annotations, args.fcdb_photos, "train", cache, log)
    val = {"fcdb": fcdb_examples(search, args.fcdb_annotations, args.fcdb_photos, "validation", cache, log)}
    for ex in train:
        ex.weight = 1.0
    if cfg["pair_weight"] > 0:  # FCDB's voted crop pairs on the training photos (ties left out)
        pairs = ranking_pairs(args.fcdb_annotations, {ex.key for ex in train})
        for ex in train:
            scale = np.array([ex.width, ex.height, ex.width, ex.height], np.float64)
            ex.pairs = [((a / scale).astype(np.float32), (b / scale).astype(np.float32), va / (va + vb))
                        for a, b, va, vb in pairs.get(ex.key, []) if va != vb]
    if args.portraits is not None and args.portraits.is_dir():
        train_p = portrait_files(args.portraits, "train")
        val_p = portrait_files(args.portraits, "validation")
        log(f"portraits: {len(train_p)} to train on, {len(val_p)} for validation (the held-out fifth unread)")
        whole = whole_examples(search, train_p[: cfg["portraits"]], cache, "portrait")
        val["portraits kept whole"] = whole_examples(search, val_p, cache, "portrait")
        scenes_train, _ = fcdb(args.fcdb_annotations, args.fcdb_photos, "train")
        scenes_val, _ = fcdb(args.fcdb_annotations, args.fcdb_photos, "validation")
        comps = composite_examples(search, train_p[: cfg["composites"]], [c.path for c in scenes_train], cache, 1)
        val["composites found again"] = composite_examples(search, val_p, [c.path for c in scenes_val], cache, 2)
        for ex in whole:
            ex.weight = cfg["whole_weight"] * len(train) / max(1, len(whole))
        for ex in comps:
            ex.weight = cfg["composite_weight"] * len(train) / max(1, len(comps))
        train += whole + comps
    return train, val


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fcdb-annotations", type=Path, required=True,
                        help="a checkout of yiling-chen/flickr-cropping-dataset (its JSON files)")
    parser.add_argument("--fcdb-photos", type=Path, required=True,
                        help="the FCDB/ folder of FeiHuang93/photo-composition")
    parser.add_argument("--portraits", type=Path, default=ROOT.parent / "shared" / "photos" / "portraits")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "selfie-desk-crop",
                        help="features computed once per photo (about 0.5 MB each)")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / composition.CROP_HEAD_FILE)
    parser.add_argument("--config", type=json.loads, default={}, help="JSON: settings to change (CONFIG)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse", action="store_true",
                        help="no training: evaluate the head already at --out and rewrite its card")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = CONFIG | args.config

    from selfie_desk.neural.crop_search import CropSearch
    from selfie_desk.neural.model import Scorer

    start = time.time()
    # the search's decode, faces and backbone, without the shipped head (which this command may be replacing)
    untrained = composition.CompositionModel(composition.CompositionHead(), {}, "")
    search = CropSearch(Scorer(device="cpu"), composer=untrained)
    train, val = build_sources(args, search, cfg)
    print(f"features ready ({time.time() - start:.0f} s); training on {len(train)} photos", flush=True)
    if args.reuse:
        model = composition.load(args.out)
        head, cfg = model.head, model.card["config"]
    else:
        head = train_head(train, cfg)
    report = validation_report(head, val)
    print(json.dumps(report, indent=2))
    card = {
        "name": "crop composition head",
        "what": "each candidate crop's expected IoU with the crop people would draw (FCDB), from the crop "
                "search's 448-px backbone pass; the whole frame of a well-composed photo scores highest",
        "backbone": composition.BACKBONE_FILE,
        "trained": time.strftime("%Y-%m-%d"),
        "command": "tools/train_crop.py " + " ".join("PATH" if "/" in a else a for a in sys.argv[1:]
                                                     if a != "--reuse"),
        "config": cfg,
        "examples": {k: sum(e.kind == k for e in train) for k in ("fcdb", "whole", "composite")},
        "validation": report,
        "sources": "models/README.md, section 'The crop composition head'",
    }
    composition.save(head, args.out, card)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB) in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
