"""Train the default score head, self-supervised: every real photo above worse versions of itself.

    .venv/bin/python tools/train_head.py ../shared/photos/portraits --out models/score_head.pt

Reproducible: a fixed seed, a fixed held-out split by a hash of each file name (20 % never seen in
training, not even as a background), and the backbone frozen. Writes the head (with its model card
inside) and models/score_head.json (the same card, readable), which models/README.md quotes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selfie_desk.core import degrade, weights  # noqa: E402
from selfie_desk.core.faces import FaceDetector  # noqa: E402
from selfie_desk.core.model import FACES_FILE, Backbone, ScoreHead, model_input, save_head  # noqa: E402

VARIANTS = {"train": 2, "heldout": 2}  # degraded copies of each kind per photo


def is_heldout(name: str) -> bool:
    return hashlib.blake2b(name.encode(), digest_size=4).digest()[0] % 5 == 0


def largest_face(detector: FaceDetector, im: Image.Image):
    arr = torch.from_numpy(np.asarray(im)).permute(2, 0, 1)[None]
    faces = detector.detect(arr, [im.size], threshold=0.6)[0]
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])).box


def build_set(files: list[Path], split: str, detector, backbone, rng, log) -> dict:
    """Embeddings of each photo, a well-framed composite, and its degraded copies, with pair indices."""
    images = [Image.open(f).convert("RGB") for f in files]
    faces = [largest_face(detector, im) for im in images]
    no_face = sum(f is None for f in faces)
    log(f"{split}: {len(files)} photos, {no_face} without a detected face (framing uses the centre)")
    inputs: list[np.ndarray] = []
    pairs: list[tuple[int, int, str]] = []  # (better, worse, kind)
    originals: list[int] = []
    for i, (im, face) in enumerate(zip(images, faces, strict=True)):
        others = [images[j] for j in rng.choice(len(images), 6, replace=False) if j != i][:5]
        good = len(inputs)
        inputs.append(model_input(im))
        originals.append(good)
        framed = len(inputs)
        inputs.append(model_input(degrade.composite(im, rng, others, rng.uniform(0.6, 0.8), corner=False)))
        for kind in degrade.KINDS:
            for _ in range(VARIANTS[split]):
                worse = len(inputs)
                inputs.append(model_input(degrade.degrade(kind, im, rng, face=face, backgrounds=others)))
                pairs.append((good, worse, kind))
                if kind == "tiny":  # a composite well framed beats the same composite with the subject tiny
                    pairs.append((framed, worse, "tiny_vs_framed"))
    embeddings = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for k in range(0, len(inputs), 64):
            batch = torch.from_numpy(np.stack(inputs[k : k + 64])).permute(0, 3, 1, 2)
            embeddings.append(Backbone.pool(backbone(batch)))
            if k % 1024 == 0:
                log(f"  {split}: embedded {k + len(batch)}/{len(inputs)} ({time.perf_counter() - t0:.0f} s)")
    return {
        "emb": torch.cat(embeddings),
        "pairs": pairs,
        "originals": originals,
        "names": [f.name for f in files],
    }


def pair_tensors(pairs):
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])


def train(data: dict, seed: int, epochs: int, fairness: float, log) -> ScoreHead:
    torch.manual_seed(seed)
    head = ScoreHead()
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-2)
    better, worse = pair_tensors(data["pairs"])
    emb = data["emb"]
    orig = torch.tensor(data["originals"])
    women = torch.tensor([n.startswith("woman-") for n in data["names"]])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(epochs):
        head.train()
        perm = torch.randperm(len(better))
        total = 0.0
        for k in range(0, len(perm), 256):
            idx = perm[k : k + 256]
            margin = head(emb[better[idx]]) - head(emb[worse[idx]])
            loss = torch.nn.functional.softplus(1.0 - margin).mean()  # RankNet with a margin
            if fairness > 0:
                # No reason for a group of people to score higher: penalise the gap between the mean
                # logits of the originals of women and of men (labels from the pool's file names).
                logits = head(emb[orig])
                gap = logits[women].mean() - logits[~women].mean()
                loss = loss + fairness * gap**2
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        if epoch % 10 == 0 or epoch == epochs - 1:
            log(f"  epoch {epoch:3d} loss {total / len(perm):.4f}")
    head.eval()
    return head


@torch.inference_mode()
def calibrate(head: ScoreHead, data: dict) -> None:
    """Map logits to [0, 1]: the midpoint of originals and degraded copies to 0.5, spread by their gap."""
    logits = head(data["emb"])
    orig = torch.tensor(data["originals"])
    mask = torch.ones(len(logits), dtype=torch.bool)
    mask[orig] = False
    good, bad = logits[orig].mean(), logits[mask].mean()
    head.center.fill_(float((good + bad) / 2))
    head.spread.fill_(float(max((good - bad).abs() / 3, 1e-3)))


@torch.inference_mode()
def evaluate(head: ScoreHead, data: dict) -> dict:
    logits = head(data["emb"])
    per_kind: dict[str, list[bool]] = {}
    for b, w, kind in data["pairs"]:
        per_kind.setdefault(kind, []).append(bool(logits[b] > logits[w]))
    acc = {k: round(float(np.mean(v)), 4) for k, v in per_kind.items()}
    acc["all"] = round(float(np.mean([x for v in per_kind.values() for x in v])), 4)
    counts = {k: len(v) for k, v in per_kind.items()}
    return {"pairwise_accuracy": acc, "pairs": counts}


@torch.inference_mode()
def group_gap(head: ScoreHead, data: dict, seed: int) -> dict:
    """Do originals of women and of men score differently? Mean gap, bootstrap 95 % CI, and AUC."""
    scores = head.probability(data["emb"][torch.tensor(data["originals"])]).numpy()
    women = np.array([n.startswith("woman-") for n in data["names"]])
    w, m = scores[women], scores[~women]
    rng = np.random.default_rng(seed)
    boots = [rng.choice(w, len(w)).mean() - rng.choice(m, len(m)).mean() for _ in range(2000)]
    auc = float((w[:, None] > m[None, :]).mean() + 0.5 * (w[:, None] == m[None, :]).mean())
    return {
        "women": {"n": int(len(w)), "mean_score": round(float(w.mean()), 4)},
        "men": {"n": int(len(m)), "mean_score": round(float(m.mean()), 4)},
        "gap_women_minus_men": round(float(w.mean() - m.mean()), 4),
        "gap_95ci": [round(float(np.percentile(boots, 2.5)), 4), round(float(np.percentile(boots, 97.5)), 4)],
        "auc_women_above_men": round(auc, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="folder of real portraits (e.g. ../shared/photos/portraits)")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "score_head.pt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--fairness", type=float, default=1.0, help="weight of the group-gap penalty (0: off)")
    parser.add_argument("--cache", type=Path, help="reuse/save the embedded pairs here (speeds up re-runs)")
    args = parser.parse_args()

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    split = {"train": [f for f in files if not is_heldout(f.name)], "heldout": [f for f in files if is_heldout(f.name)]}

    if args.cache and args.cache.exists():
        sets = torch.load(args.cache, weights_only=False)
        log(f"loaded embedded pairs from {args.cache}")
    else:
        detector = FaceDetector.from_file(weights.bundled_file(FACES_FILE)).eval()
        backbone = Backbone().eval()
        sets = {name: build_set(fs, name, detector, backbone, rng, log) for name, fs in split.items()}
        if args.cache:
            torch.save(sets, args.cache)

    head = train(sets["train"], args.seed, args.epochs, args.fairness, log)
    calibrate(head, sets["train"])
    card = {
        "name": "default",
        "version": 1,
        "date": time.strftime("%Y-%m-%d"),
        "backbone": "torchvision MobileNetV2 IMAGENET1K_V1 (mobilenet_v2-b0353104.pth), frozen",
        "head": "LayerNorm -> Dropout 0.2 -> Linear 1280x256 -> GELU -> Linear 256x1; score = sigmoid((logit - c) / s)",
        "input": "whole photo squashed to 224x224, ImageNet mean/std",
        "training": {
            "command": "python tools/train_head.py ../shared/photos/portraits --seed 0 --epochs 60 --fairness 1.0",
            "photos": f"{args.photos.name}: {len(split['train'])} train / {len(split['heldout'])} held out "
            "(blake2b(file name)[0] % 5 == 0 is held out)",
            "train_files": [f.name for f in split["train"]],
            "heldout_files": [f.name for f in split["heldout"]],
            "variants_per_kind": VARIANTS,
            "kinds": list(degrade.KINDS) + ["tiny_vs_framed"],
            "loss": "pairwise logistic (RankNet) with margin 1, AdamW 1e-3, wd 1e-2, cosine schedule",
            "fairness_weight": args.fairness,
            "seed": args.seed,
            "epochs": args.epochs,
        },
        "train": evaluate(head, sets["train"]),
        "heldout": evaluate(head, sets["heldout"]),
        "heldout_group_gap": group_gap(head, sets["heldout"], args.seed),
        "train_group_gap": group_gap(head, sets["train"], args.seed),
    }
    save_head(head, args.out, card)
    summary = {k: card[k] for k in ("train", "heldout", "heldout_group_gap", "train_group_gap")}
    (args.out.with_suffix(".json")).write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0 if math.isfinite(card["heldout"]["pairwise_accuracy"]["all"]) else 1


if __name__ == "__main__":
    sys.exit(main())
