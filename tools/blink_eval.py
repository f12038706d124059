"""Closed eyes on one real clip, as the app sees them: each frame of ../shared/real/eyes_blink_clip scored as the
scoring pass scores it (``Scorer.score_images``: faces, eyes, the score with the closed-eye penalty), with its
label (labels.json), the verdict the window shows ("eyes open", "eyes closed", "can't tell") and where it lands
in the sort: every closed frame should rank below every open frame of the same moment (its open-eyed twins).

    .venv/bin/python tools/blink_eval.py --clip ../shared/real/eyes_blink_clip
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from PIL import Image

from selfie_desk.core.measures.eyes import EYE_WORDS
from selfie_desk.neural.model import Scorer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    labels = json.loads((args.clip / "labels.json").read_text())["labels"]
    scorer = Scorer(device="cpu")
    rows = []
    for name, label in sorted(labels.items()):
        image = Image.open(args.clip / name).convert("RGB")
        (s,) = scorer.score_images([image])
        face = max(zip(s.faces, s.checks, strict=True), key=lambda fc: fc[0].box[2] - fc[0].box[0], default=None)
        said = EYE_WORDS[face[1].eyes.value] if face else "no face"
        rows.append({"frame": name, "label": label["eyes"], "said": said, "score": round(s.score, 4)})
    ranked = sorted(rows, key=lambda r: -r["score"])
    for rank, r in enumerate(ranked, 1):
        print(f"#{rank:2d} {r['score']:.4f}  {r['label']:10s} {r['said']:12s} {r['frame']}")
    closed = [r["score"] for r in rows if r["label"] == "closed"]
    opened = [r["score"] for r in rows if r["label"] == "open"]
    agree = {lab: sum(r["said"] == EYE_WORDS[val] for r in rows if r["label"] == lab)
             for lab, val in (("open", "open"), ("closed", "closed"))}
    print(json.dumps({
        "open frames said open": f"{agree['open']}/{len(opened)}",
        "closed frames said closed": f"{agree['closed']}/{len(closed)}",
        "every closed frame below every open frame": max(closed) < min(opened),
        "closed / open score ranges": [[min(closed), max(closed)], [min(opened), max(opened)]],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
