"""Map the shipped head's logits onto people's opinions again (tools/fit_score.py's ``calibrate`` and the closed-eye
penalty), from the cached features of its training photos, without training anything: the calibration is what
spreads the score, and it changed after the fit (issue 27: the tails). The card records it.

    .venv/bin/python tools/recalibrate_score.py --cache CACHE --biq BIQ2021 --livec ../shared/real/livec_half
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit_score as fs  # noqa: E402

from selfie_desk.neural.model import AspectHeads, ScoreHead, read_head_file, save_head  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--biq", type=Path, required=True)
    parser.add_argument("--livec", type=Path, required=True)
    parser.add_argument("--head", type=Path, default=fs.ROOT / "models" / "score_head.pt")
    args = parser.parse_args()
    blob = read_head_file(args.head)
    hidden, qhidden = blob["sizes"]
    head = ScoreHead(hidden=hidden, qhidden=qhidden)
    head.load_state_dict(blob["state_dict"])
    head.eval()
    aspects = AspectHeads()
    aspects.load_state_dict(blob["aspects"])
    d = fs.Data(args.cache, args.biq, args.livec)
    fit = ~d.biq_val
    x = np.concatenate([d.biq_x[fit], d.lc_x])
    lg = fs.logits_of([head], x)
    fs.calibrate(head, lg, np.concatenate([d.biq_y[fit], d.lc_mos]))
    head.closed_penalty.fill_(fs.closed_eyes_penalty(head, lg, fs.CLOSED_EYES_DROP))
    card = blob["card"]
    card["head"] = (f"logit = content(pooled last layer, 1280; version 2's, kept) + quality(stage statistics, view, "
                    f"focus, detail; an ensemble of 5) + {float(head.closed_penalty):.3f} x a subject's eyes closed; "
                    "score = the logit's quantile mapped onto people's opinions (BIQ2021 train fit + LIVE-C half) "
                    "from their 0.5th to 99.5th percentiles, rational tails beyond")
    card["calibration"] = {"tool": "tools/recalibrate_score.py", "map": "0.5th-99.5th percentiles, 101 points",
                           "tails": "rational, scale = the logit span of the map's last tenth"}
    card = fs.plain(card)
    save_head(head, args.head, card, aspects=aspects.eval())
    args.head.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    with torch.inference_mode():
        print(json.dumps({"closed_penalty": round(float(head.closed_penalty), 4),
                          "calib_ends": [round(float(head.calib_y[0]), 4), round(float(head.calib_y[-1]), 4)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
