"""Train the default score model (version 3): people's opinions from two sources, real and synthetic blur.

    nice -n 10 .venv/bin/python tools/train_score.py --biq PATH/TO/BIQ2021 --livec ../shared/real/livec_half \\
        --portraits ../shared/photos/portraits --real ../shared/real --cache /work/cache/judge/features

One command rebuilds `models/score_head.pt` and `models/score_head.json` (its card). Stages, each cached:

1. **Features** (``tools/score_features.py``, ~45 min on 2 loaded CPU cores for BIQ2021's 12,000 photos): each
   photo through the frozen MobileNetV2 at 224 px (pooled last layer + stage statistics) and the face detector,
   as the scoring pass does.
2. **Looks** (``tools/score_data.py``): view, focus and detail (core/measures/look.py, core/measures/focus.py) from the
files,
   cached per version of that code.
3. **Synthetic blur** (``tools/sharpness_set.py``): camera-like blur of sharp photos, for the sharpness aspect.
4. **Fit** (``tools/fit_score.py``): the quality part on BIQ2021's train split and the 578 LIVE-C photos,
   cross-validated on LIVE-C folds and BIQ2021's validation tenth; the sharpness aspect on the synthetic blur and
   the real tuning photos (tools/blur_labels.py); BIQ2021's official test split reported once.

The photos are never copied into the project; only the fitted head ships.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import score_data as sd
import sharpness_set
from fit_score import add_fit_args, fit_and_write
from score_features import extract, list_files


def sources(args: argparse.Namespace) -> dict[str, Path]:
    real = args.real
    return {
        "biq_train": args.biq / "Train (Images and MOS).csv",
        "biq_test": args.biq / "Test (Images and MOS).csv",
        "livec": args.livec,
        "portraits": args.portraits,
        "triplets": real / "blur_triplets_phone" / "images",
        "singles": real / "blur_real_singles" / "images",
        "davis": real / "davis_video_bursts" / "frames",
        "bursts": real / "bursts",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_fit_args(parser)
    parser.add_argument("--portraits", type=Path, required=True, help="../shared/photos/portraits")
    parser.add_argument("--extract-only", action="store_true")
    args = parser.parse_args()
    args.explore = False
    args.cache.mkdir(parents=True, exist_ok=True)
    for name, path in sources(args).items():
        out = args.cache / f"{name}.npz"
        if not out.exists():
            root = path.parent / "Images" if path.suffix.lower() == ".csv" else path
            extract(root, list_files(path), out)
        sd.looks(args.cache, name)
    sharpness_set.build(args.cache, sharpness_set.default_sources(args.cache, args.livec))
    if args.extract_only:
        return 0
    return fit_and_write(args)


if __name__ == "__main__":
    sys.exit(main())
