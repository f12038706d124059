"""How the shipped score spreads: ties, the top of the sort, and each source's range (issue 27's "one calibrated
spread"). From the cached features of photos the head was not fitted on... and of those it was, per source.

    .venv/bin/python tools/score_spread.py --cache /work/cache/judge/features

For 1,000 photos drawn at random (seeded) from BIQ2021's validation tenth, the LIVE-C half, the held-out fifth
of the portraits and the real sets: exact ties (equal floats, other photos), pairs sharing a score to three
decimals beside what chance gives for that many photos spread as these are (a score printed with three decimals
has 1,001 values: among 1,000 photos some must share one), and the span of the top 10 %.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import score_data as sd  # noqa: E402
from fit_score import full, is_val  # noqa: E402

from selfie_desk.neural.model import load_head  # noqa: E402


def shared_pairs(values: np.ndarray) -> int:
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def chance_pairs(scores: np.ndarray, rng: np.random.Generator, draws: int = 200) -> float:
    """Pairs sharing three decimals for as many scores drawn independently from the same spread."""
    out = []
    for _ in range(draws):
        fake = rng.choice(scores, len(scores)) + rng.uniform(-0.0005, 0.0005, len(scores))
        out.append(shared_pairs(np.round(fake, 3)))
    return float(np.mean(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    head, info = load_head()
    pools = {}
    for name in ("biq_train", "livec", "portraits", "triplets", "singles", "davis", "bursts"):
        x, names = sd.features(args.cache, name)
        keep = np.ones(len(names), bool)
        if name == "biq_train":
            keep = np.array([is_val(n) for n in names])
        if name == "portraits":
            keep = np.array([sd.bucket(n, 5) == 0 for n in names])
        with torch.inference_mode():
            pools[name] = (head.probability(torch.from_numpy(full(x[keep]))).double().numpy(), names[keep])
    rng = np.random.default_rng(0)
    allscores = np.concatenate([s for s, _ in pools.values()])
    allnames = np.concatenate([[f"{k}:{n}" for n in v[1]] for k, v in pools.items()])
    pick = rng.choice(len(allscores), min(args.n, len(allscores)), replace=False)
    s, names = allscores[pick], allnames[pick]
    top = np.sort(s)[-max(1, len(s) // 10):]
    out = {
        "head": info.id,
        "photos": len(s),
        "exact ties (equal scores, different photos)": shared_pairs(s),
        "pairs sharing three decimals": shared_pairs(np.round(s, 3)),
        "pairs sharing three decimals by chance (same spread, independent)": round(chance_pairs(s, rng), 1),
        "pairs sharing six decimals": shared_pairs(np.round(s, 6)),
        "top 10 % span": round(float(top.max() - top.min()), 4),
        "top 10 %": [round(float(top.min()), 4), round(float(top.max()), 4)],
        "min, max": [round(float(s.min()), 4), round(float(s.max()), 4)],
        "per source (all its photos): p05 / p50 / p95, top 10 % span": {
            k: [*np.round(np.percentile(v[0], [5, 50, 95]), 3).tolist(),
                round(float(np.ptp(np.sort(v[0])[-max(1, len(v[0]) // 10):])), 3)] for k, v in pools.items()},
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
