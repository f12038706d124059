"""Could shared features agree better with per-crop scores? Variants of "score a box from one pass".

    .venv/bin/python tools/crop_variants.py [--composites 10] [--sample 64]

Same photos and candidates as tools/crop_eval.py's agreement (the 7 demo photos and the first held-out
composites, 64 random candidates of the search per photo, aspect "original"). Each variant scores the same
boxes; the Spearman rank correlation with one network pass per crop is reported per photo and as the median:

- shipped: the pyramid the app uses (cropping.PYRAMID): the photo squashed to squares so that a box of
  45 %, 70 % or 100 % of the photo becomes 224 x 224, one pass each, every box's mean of the map of the
  level nearest its size, then the score head;
- one map: the box's mean of the 448-px photo's stride-32 map (shipped until the pyramid);
- tail sN gG: the map after MobileNetV2's blocks up to stride N, the box resampled to G x G cells by
  roi_align, then the REST of the backbone run on every box (Faster R-CNN's "C4" head), mean, score head;
  tail s8 g28 runs nearly the whole network per box.
Results and what was decided: docs/cropping.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import crop_eval
import numpy as np
import torch
from PIL import Image
from torchvision.ops import roi_align

from selfie_desk.neural.crop_search import CropSearch
from selfie_desk.neural.model import Scorer, pool_boxes

ROOT = Path(__file__).resolve().parents[1]



TAILS = {"tail s16 g14": (14, 14), "tail s16 g7": (14, 7), "tail s8 g28": (7, 28)}  # block index, grid


def normalised(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(boxes, np.float64) / [width, height, width, height]


def tensor(image: Image.Image, scorer: Scorer) -> torch.Tensor:
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float()
    return ((x - scorer.backbone.mean) / scorer.backbone.std).contiguous(memory_format=torch.channels_last)


def tail_scores(scorer: Scorer, image: Image.Image, boxes: np.ndarray, width: int, height: int, block: int,
                grid: int) -> np.ndarray:
    features = scorer.backbone.features
    fmap = features[:block](tensor(image, scorer))
    stride = image.width / fmap.shape[-1]
    b = torch.as_tensor(normalised(boxes, width, height) * ([image.width, image.height] * 2), dtype=torch.float32)
    rois = torch.cat([torch.zeros(len(b), 1), b], 1)
    r = roi_align(fmap, rois, output_size=grid, spatial_scale=1 / stride, sampling_ratio=2, aligned=True)
    pooled = features[block:](r.contiguous(memory_format=torch.channels_last)).mean(dim=(2, 3))
    return scorer.head.probability(pooled).float().numpy()


def one_map_scores(scorer: Scorer, image: Image.Image, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    fmap = scorer.backbone(torch.from_numpy(np.array(image)).permute(2, 0, 1)[None]).float()
    cells = normalised(boxes, width, height) * ([image.width, image.height] * 2) / 32
    return scorer.head.probability(pool_boxes(fmap, torch.as_tensor(cells, dtype=torch.float32))).float().numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portraits", type=Path, default=ROOT.parent / "shared" / "photos" / "portraits")
    parser.add_argument("--composites", type=int, default=10)
    parser.add_argument("--sample", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    scorer = Scorer(device="cpu")
    search = CropSearch(scorer)
    items = [(n, search.prepare(crop_eval.DEMO / n)) for n in crop_eval.DEMO_PHOTOS]
    if args.portraits.is_dir():
        portraits = crop_eval.heldout_portraits(args.portraits, args.composites)
        items += [(f"composite:{n}", p) for n, _, p, _ in crop_eval.found_again_photos(scorer, portraits, args.seed)]
    rng = np.random.default_rng(args.seed)
    names = ["shipped", "one map", *TAILS]
    rhos: dict[str, list[float]] = {k: [] for k in names}
    seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    scored = 0
    for name, photo in items:
        boxes, estimates, _, _ = search.scored_candidates(photo, "original")
        pick = rng.choice(len(boxes), min(args.sample, len(boxes)), replace=False)
        b = boxes[pick, :4]
        scored += len(b)
        exact = search.crop_scores(photo.image, b, photo.width, photo.height)
        rhos["shipped"].append(crop_eval.spearman(estimates[pick], exact))
        for variant in names[1:]:
            t = time.perf_counter()
            if variant == "one map":
                s = one_map_scores(scorer, photo.image, b, photo.width, photo.height)
            else:
                s = tail_scores(scorer, photo.image, b, photo.width, photo.height, *TAILS[variant])
            seconds[variant] += time.perf_counter() - t
            rhos[variant].append(crop_eval.spearman(s, exact))
        print(f"{name[:40]:40s} " + "  ".join(f"{k} {rhos[k][-1]:+.2f}" for k in names), flush=True)
    for k in names:
        cost = f"  {seconds[k] / scored * 1000:.1f} ms per box, 2 threads" if k != "shipped" else ""
        print(f"{k:14s} median {np.median(rhos[k]):+.3f}  mean {np.mean(rhos[k]):+.3f}{cost}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
