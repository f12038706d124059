"""The shipped score on the held-out portraits (the fifth ``blake2b(name)[0] % 5 == 0``, never trained on): each
original against copies of itself degraded at its own resolution (core/measures/degrade.py's kinds, and camera blur from
tools/blur_synth.py), scored exactly as the scoring pass scores them (``Scorer.score_images``): how often the
original scores higher, per kind. The self-supervised pairs are no longer trained on (version 3), so this is
what shows the score still ranks a photo above its blurred, noisy, dark or badly framed copy.

    .venv/bin/python tools/pairs_eval.py --portraits ../shared/photos/portraits [--limit 191]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import blur_synth
import numpy as np
import score_data as sd
import torch
from PIL import Image

from selfie_desk.core.measures import degrade
from selfie_desk.neural.model import Scorer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portraits", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    scorer = Scorer(device="cpu")
    files = sorted(p for p in args.portraits.iterdir() if sd.bucket(p.name, 5) == 0)
    if args.limit:
        files = files[: args.limit]
    rng = np.random.default_rng(0)
    pool = [Image.open(p).convert("RGB") for p in files[:8]]
    wins: dict[str, list[bool]] = {}
    for path in files:
        im = Image.open(path).convert("RGB")
        (orig,) = scorer.score_images([im])
        face = max((f for f in orig.faces), key=lambda f: f.box[2] - f.box[0], default=None)
        scale = im.width / max(1, round(im.width * min(1.0, 384 / max(im.size))))
        box = None if face is None else tuple(v * scale for v in face.box)
        copies = {k: degrade.degrade(k, im, rng, face=box, backgrounds=pool) for k in degrade.KINDS}
        for kind in ("defocus", "motion", "shake"):
            copies[kind] = blur_synth.blur(im, kind, float(rng.uniform(6, 14)), rng)
        scored = scorer.score_images(list(copies.values()))
        for kind, s in zip(copies, scored, strict=True):
            wins.setdefault(kind, []).append(orig.score > s.score)
    out = {k: round(float(np.mean(v)), 3) for k, v in wins.items()}
    out["all"] = round(float(np.mean([x for v in wins.values() for x in v])), 3)
    out["portraits"] = len(files)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
