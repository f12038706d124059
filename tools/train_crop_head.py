"""An experiment that did not ship (docs/cropping.md): distil a crop head, a small model that predicts
what the convnet says of a crop seen on its own (its exact logit) from the box pooled out of the shared
feature map, plus the box's geometry.

    # 1. collect (bounded chunks; each photo's features and exact scores go to one .npz in --cache):
    .venv/bin/python tools/train_crop_head.py collect ../shared/photos/portraits --start 0 --count 100
    # 2. fit on everything collected, write crop_head.pt (+ its card, crop_head.json) into --cache,
    #    and measure it on held-out photos: tools/crop_eval.py --skip found faces --crop-head FILE
    .venv/bin/python tools/train_crop_head.py train

Photos: only the score head's own training portraits (models/score_head.json, "train_files"); its 191
held-out portraits, and the demo photos, are never used here, so tools/crop_eval.py measures the
agreement on photos the crop head has not seen. Each portrait gives two training photos: itself, and
itself at 45-80 % of a scene made from another training portrait (the "found again" setting). For each,
a random sample of the search's own candidates (random aspect preset) is scored exactly, one pass each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from crop_eval import composite  # noqa: E402

from selfie_desk.core.crop_head import DESIGN, CropHead, crop_features, design, save_crop_head  # noqa: E402
from selfie_desk.core.cropping import CropSearch, Prepared, whole_pixels  # noqa: E402
from selfie_desk.core.model import Scorer, load_head, model_input  # noqa: E402

CACHE = Path("/tmp/selfie-desk-crophead")
PER_PHOTO = 40  # candidates scored exactly per training photo (plus the whole photo)
# aspect presets drawn for training photos: the default one most often
ASPECT_WEIGHTS = {"original": 0.4, "free": 0.2, "1:1": 0.1, "4:5": 0.1, "3:2": 0.07, "16:9": 0.07, "9:16": 0.06}


def train_files(folder: Path) -> list[Path]:
    card = json.loads((ROOT / "models" / "score_head.json").read_text())
    return [folder / n for n in card["training"]["train_files"] if (folder / n).is_file()]


@torch.inference_mode()
def exact_logits(scorer: Scorer, image: Image.Image, boxes: np.ndarray, width: int, height: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each crop seen on its own (as CropSearch.crop_scores): the score head's raw logit and the embedding."""
    sx, sy = image.width / width, image.height / height
    out, embs = [], []
    for start in range(0, len(boxes), 32):
        inputs = []
        for x0, y0, x1, y1 in boxes[start : start + 32]:
            r = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
            inputs.append(model_input(image.crop((r[0], r[1], max(r[2], r[0] + 1), max(r[3], r[1] + 1)))))
        x = torch.from_numpy(np.stack(inputs)).permute(0, 3, 1, 2)
        emb = scorer.embed(x)
        out.append(scorer.head(emb).float().cpu())
        embs.append(emb.float().cpu())
    return torch.cat(out).numpy(), torch.cat(embs).numpy()


def collect(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    files = train_files(args.portraits)
    chunk = files[args.start : args.start + args.count]
    scorer = Scorer(device="cpu")
    search = CropSearch(scorer)
    args.cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for k, path in enumerate(chunk):
        seed = int.from_bytes(hashlib.blake2b(path.name.encode(), digest_size=4).digest(), "little")
        rng = np.random.default_rng(seed)
        im = Image.open(path).convert("RGB")
        other = Image.open(files[int(rng.integers(len(files)))]).convert("RGB")
        scene, _ = composite(im, rng, [other])
        for kind, picture in (("photo", im), ("composite", scene)):
            out = args.cache / f"{path.stem}.{kind}.npz"
            if out.exists():
                continue
            image = search.reduce(picture)
            photo = Prepared(image, picture.width, picture.height,
                             search.detect_faces(image, picture.width, picture.height))
            aspect = str(rng.choice(list(ASPECT_WEIGHTS), p=list(ASPECT_WEIGHTS.values())))
            boxes, _, _, fmap = search.scored_candidates(photo, aspect)
            pick = rng.choice(len(boxes), min(PER_PHOTO, len(boxes)), replace=False)
            chosen = np.concatenate([boxes[pick, :4], [[0, 0, photo.width, photo.height]]])
            chosen = np.stack([whole_pixels(b, photo.width, photo.height) for b in chosen])
            logits, embeddings = exact_logits(scorer, image, chosen, photo.width, photo.height)
            np.savez(out, fmap=fmap[0].numpy().astype(np.float16), image_size=np.array(image.size),
                     size=np.array([photo.width, photo.height]), boxes=chosen.astype(np.float32),
                     faces=np.array([f.box for f in photo.faces], np.float32).reshape(-1, 4),
                     logits=logits.astype(np.float32), aspect=aspect,
                     embeddings=embeddings.astype(np.float16))
        print(f"{args.start + k + 1}/{len(files)} {path.name} {time.perf_counter() - start:.0f} s", flush=True)
    return 0


# ---- training -----------------------------------------------------------------------------------------


def load_items(cache: Path) -> list[dict]:
    items = []
    for f in sorted(cache.glob("*.npz")):
        with np.load(f) as z:
            items.append({k: z[k] for k in z.files} | {"name": f.name})
    return items


def item_inputs(item: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The crop head's inputs for every box of one collected photo: mean-pooled features and geometry."""
    fmap = torch.from_numpy(item["fmap"].astype(np.float32))[None]
    w, h = (int(v) for v in item["size"])
    faces = [tuple(f) for f in item["faces"]]
    return crop_features(fmap, item["boxes"].astype(np.float64), tuple(int(v) for v in item["image_size"]), w, h,
                         faces)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


# design columns (crop_head.design): 0 pooled logit, 1-14 geometry, 15-18 squares. "size" (pooled logit,
# log area, its square) cross-validated as well as "all" on the training portraits and transfers better.
TERMS = {"all": list(range(DESIGN)), "size": [0, 5, 15]}


def fit(rows: list[tuple], lam: float) -> tuple[np.ndarray, float]:
    """Ridge regression of the within-photo residual (exact minus pooled logit, both centred per photo) on
    the design; then the intercept that makes the mean residual zero. Returns (weights, bias)."""
    xs = [x - x.mean(0) for _, x, _, _ in rows]
    ys = [(y - b) - (y - b).mean() for _, _, b, y in rows]
    x, y = np.concatenate(xs), np.concatenate(ys)
    w = np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)
    bias = float(np.mean(np.concatenate([(yy - b) - xx @ w for _, xx, b, yy in rows])))
    return w, bias


def train(args: argparse.Namespace) -> int:
    torch.set_num_threads(2)
    items = load_items(args.cache)
    base_head = load_head("default")[0]
    cols = TERMS[args.terms]
    rows = []
    with torch.no_grad():
        for item in items:
            pooled, geo = item_inputs(item)
            base = base_head(pooled)
            rows.append((item["name"].split(".")[0], design(base, geo).double().numpy()[:, cols], base.double().numpy(),
                         item["logits"].astype(np.float64)))
    # choose the ridge strength by 5-fold cross-validation over portraits (a photo and its composite together)
    portraits = sorted({r[0] for r in rows})
    fold = {name: hashlib.blake2b(name.encode(), digest_size=1).digest()[0] % 5 for name in portraits}
    plain = float(np.median([spearman(b, y) for _, _, b, y in rows]))
    cv = {}
    for lam in args.ridge:
        rhos = []
        for f in range(5):
            w, bias = fit([r for r in rows if fold[r[0]] != f], lam)
            rhos += [spearman(b + x @ w + bias, y) for name, x, b, y in rows if fold[name] == f]
        cv[lam] = float(np.median(rhos))
        print(f"ridge {lam:g}: cross-validated median spearman {cv[lam]:.3f} (plain pooling {plain:.3f})", flush=True)
    lam = max(cv, key=cv.get)
    w, bias = fit(rows, lam)
    full = np.zeros(DESIGN)
    full[cols] = w
    head = CropHead(base=base_head)
    with torch.no_grad():
        head.correction.weight.copy_(torch.from_numpy(full).float()[None])
        head.correction.bias.fill_(bias)
    card = {
        "name": "crop head", "version": 1, "date": time.strftime("%Y-%m-%d"),
        "what": "the default score head's logit of a box pooled from the shared feature map, plus a linear "
                "correction from the box's geometry, fitted to the logit of the same crop scored on its own",
        "command": "tools/train_crop_head.py " + " ".join(sys.argv[2:]),
        "photos": "training portraits of the score head only (models/score_head.json train_files), each as itself "
                  "and composited into a scene made from another training portrait",
        "training_photos": len(rows), "portraits": len(portraits), "crops": int(sum(len(r[3]) for r in rows)),
        "terms": args.terms, "ridge": lam, "cross_validated_median_spearman": round(cv[lam], 3),
        "plain_pooling_median_spearman": round(plain, 3),
    }
    save_crop_head(head, args.out, card)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="score candidate crops exactly and store them with the feature map")
    c.add_argument("portraits", type=Path)
    c.add_argument("--start", type=int, default=0)
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--cache", type=Path, default=CACHE)
    t = sub.add_parser("train", help="fit the crop head on the collected data")
    t.add_argument("--cache", type=Path, default=CACHE)
    t.add_argument("--out", type=Path, default=CACHE / "crop_head.pt")
    t.add_argument("--ridge", type=float, nargs="+", default=[0.3, 1.0, 3.0, 10.0])
    t.add_argument("--terms", choices=sorted(TERMS), default="size",
                   help="which design columns the correction may use (default: %(default)s)")
    args = parser.parse_args()
    if args.command == "collect":
        return collect(args)
    return train(args)


if __name__ == "__main__":
    sys.exit(main())
