"""How long one crop search takes on the CPU, this tree against another (e.g. main), interleaved in one run.

    .venv/bin/python tools/crop_speed.py [--against /work/main] [--rounds 3] [--aspects original free]

Each round runs a fresh process per tree (one torch thread, as the app's search runs on a 2-core CPU), which loads
the models, warms up on one photo, then times `CropSearch.search_path` (decode, faces, features, ranking, finish)
on three synthetic 12 MP JPEGs (tools/benchmark.py's) and the seven demo photos, per aspect preset; the median
seconds per photo, the candidates per photo and the load average are printed per tree and round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, os
import numpy as np, torch
torch.set_num_threads(1)
from pathlib import Path
from selfie_desk.neural.crop_search import CropSearch
from selfie_desk.neural.model import Scorer
files = [Path(p) for p in json.loads(sys.argv[1])]
aspects = json.loads(sys.argv[2])
search = CropSearch(Scorer(device="cpu"))
search.search_path(files[0])
out = {}
for aspect in aspects:
    times, counts = [], []
    for f in files:
        t = time.perf_counter()
        r = search.search_path(f, aspect, 3)
        times.append(time.perf_counter() - t)
        counts.append(r.candidates)
    out[aspect] = {"median_s": round(float(np.median(times)), 4), "mean_s": round(float(np.mean(times)), 4),
                   "candidates": int(np.median(counts))}
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, help="another checkout of the project (its .venv is not needed)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--aspects", nargs="+", default=["original", "free"])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/selfie-desk-crop-speed"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tools"))
    from benchmark import make_photos

    files = make_photos(args.cache, 3) + sorted((ROOT / "resources" / "demo").glob("*.[jp][pn]g"))
    trees = [("this tree", ROOT)] + ([("against", args.against.resolve())] if args.against else [])
    for r in range(args.rounds):
        for label, tree in trees:
            env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
            load = os.getloadavg()[0]
            t = time.time()
            done = subprocess.run([sys.executable, "-c", CHILD, json.dumps([str(f) for f in files]),
                                   json.dumps(args.aspects)], env=env, capture_output=True, text=True, cwd=tree)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            print(f"round {r + 1} {label} ({tree}), load {load:.1f}: {done.stdout.strip()} "
                  f"({time.time() - t:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
