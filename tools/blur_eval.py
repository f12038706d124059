"""Soft focus on real photos, as the app says it: each labelled photo of ../shared/real (tools/blur_labels.py)
scored by the shipped head exactly as the scoring pass scores it (``Scorer.score_images`` on the pass's decode,
``pipeline.describe`` for the reasons), then recall (blurred photos given a soft-focus reason) and false badges
(sharp photos given one), for the tuning photos and, apart, for the photos used for no choice.

    .venv/bin/python tools/blur_eval.py --real ../shared/real [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import blur_labels
import torch
from score_features import list_files, open_photo

from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import face_input
from selfie_desk.core.measures.reasons import family_of
from selfie_desk.neural.model import Scorer
from selfie_desk.neural.pipeline import describe

FOLDERS = {"triplets": "blur_triplets_phone/images", "singles": "blur_real_singles/images",
           "davis": "davis_video_bursts/frames", "bursts": "bursts"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--show", action="store_true", help="print every photo's verdict")
    args = parser.parse_args()
    torch.set_num_threads(1)
    scorer = Scorer(device="cpu")
    singles = blur_labels.singles_labels(str(args.real / "blur_real_singles"))
    rows = []
    for source, sub in FOLDERS.items():
        root = args.real / sub
        for name in list_files(root):
            soft, part = blur_labels.label(source, name, singles)
            if soft is None:
                continue
            image = open_photo(root / name)
            (scored,) = scorer.score_images([image])
            lk = look.Look(image)
            fin = face_input(lk.held_view(), 384)  # score_images finds the faces on this
            sx, sy = image.width / fin.shape[1], image.height / fin.shape[0]
            record = describe(scored, [f.scaled(sx, sy) for f in scored.faces], image.width, image.height, lk)
            words = [r for r in record["reasons"] if family_of(r) == "soft focus"]
            rows.append({"source": source, "name": name, "split": part, "soft": soft, "said": words,
                         "sharpness": record["aspects"]["sharpness"], "score": round(scored.score, 4)})
            if args.show:
                print(json.dumps(rows[-1]))
    out = {}
    for part in ("tune", "check"):
        sel = [r for r in rows if r["split"] == part]
        soft = [r for r in sel if r["soft"] == 1]
        sharp = [r for r in sel if r["soft"] == 0]
        out[part] = {
            "soft photos": len(soft), "recall": round(sum(bool(r["said"]) for r in soft) / max(1, len(soft)), 3),
            "sharp photos": len(sharp),
            "sharp badged": round(sum(bool(r["said"]) for r in sharp) / max(1, len(sharp)), 3),
            "by source": {s: f"soft {sum(bool(r['said']) for r in soft if r['source'] == s)}/"
                             f"{sum(r['source'] == s for r in soft)}, sharp badged "
                             f"{sum(bool(r['said']) for r in sharp if r['source'] == s)}/"
                             f"{sum(r['source'] == s for r in sharp)}"
                          for s in sorted({r["source"] for r in sel})},
            "words": sorted({w for r in sel for w in r["said"]}),
        }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
