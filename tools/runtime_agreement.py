"""Score a folder with both runtimes (torch and ONNX Runtime) and compare what each recorded: scores, faces,
eye states, the best crop of some photos, and the groups. The tests do this on the bundled photos; this is the
same check on any real folder (and the one to run after `tools/export_onnx.py` when a network changed).

    .venv/bin/python tools/runtime_agreement.py FOLDER [--crops 20] [--json]

Each runtime scores the folder into its own fresh catalog through the real pass (`pipeline.score`); the
printout gives the largest score difference, how many photos' faces, eye states and groups differ, how many best
crops are the same to the pixel (and the largest difference in their scores and composition values), and each
runtime's pass time and CPU time per photo (one after the other: not a benchmark, see tools/benchmark.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run(folder: Path, runtime: str, crops: int) -> dict:
    from selfie_desk.core.culling.groups import regroup
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.crop_search import CropSearch
    from selfie_desk.neural.runtime import make_scorer

    scorer = make_scorer("default", "cpu", runtime)
    db = Path(tempfile.mkdtemp()) / "catalog.sqlite3"
    c, w = time.process_time(), time.perf_counter()
    with Catalog(db) as catalog:
        summary = pipeline.score([folder], catalog, scorer)
        c, w = time.process_time() - c, time.perf_counter() - w
        photos = catalog.photos("default", folder=str(folder.resolve()))
        by_id = {p.id: p.path for p in photos}
        groups = sorted(sorted(by_id[i] for i in g.ids) for g in regroup(catalog, list(by_id)) if len(g.ids) > 1)
    search = CropSearch(scorer)
    best = {}
    for p in sorted(photos, key=lambda p: p.path)[:crops]:
        for aspect in ("original", "4:5"):
            found = search.search_path(Path(p.path), aspect, 1)
            best[f"{p.path} {aspect}"] = {"box": list(found.best.box), "score": found.best.score,
                                          "composition": found.best.composition, "keep_whole": found.keep_whole}
    return {
        "label": scorer.label, "scored": summary.scored, "seconds": round(w, 1),
        "core_ms_per_photo": round(c / max(1, summary.scored) * 1000, 1),
        "photos": {p.path: {"score": p.score, "faces": [(f.box, f.eyes) for f in p.faces]} for p in photos},
        "groups": groups, "crops": best,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--crops", type=int, default=20,
                        help="photos whose best crops (original ratio and 4:5) are compared")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    from selfie_desk.core.crop.geometry import iou

    torch_run, onnx_run = run(args.folder, "torch", args.crops), run(args.folder, "onnx", args.crops)
    a, b = torch_run["photos"], onnx_run["photos"]
    common = sorted(set(a) & set(b))
    diffs = np.array([abs(a[p]["score"] - b[p]["score"]) for p in common])
    faces_differ = eyes_differ = 0
    worst_iou = 1.0
    for p in common:
        fa, fb = a[p]["faces"], b[p]["faces"]
        if len(fa) != len(fb):
            faces_differ += 1
            continue
        for (box_a, eyes_a), (box_b, eyes_b) in zip(fa, fb, strict=True):
            worst_iou = min(worst_iou, float(iou(np.array([box_a]), np.array([box_b]))[0, 0]))
            eyes_differ += eyes_a != eyes_b
    ca, cb = torch_run["crops"], onnx_run["crops"]
    crop_ious = [float(iou(np.array([ca[k]["box"]]), np.array([cb[k]["box"]]))[0, 0]) for k in ca]
    out = {
        "photos": len(common), "faces": sum(len(a[p]["faces"]) for p in common),
        "largest_score_difference": float(diffs.max()) if len(diffs) else 0.0,
        "photos_with_other_faces": faces_differ, "smallest_face_iou": worst_iou, "faces_with_other_eyes": eyes_differ,
        "crops_compared": len(crop_ious), "smallest_best_crop_iou": min(crop_ious) if crop_ious else None,
        "same_best_crops": sum(ca[k]["box"] == cb[k]["box"] and ca[k]["keep_whole"] == cb[k]["keep_whole"] for k in ca),
        "kept_whole": sum(ca[k]["keep_whole"] for k in ca),
        "largest_crop_score_difference": max((abs(ca[k]["score"] - cb[k]["score"]) for k in ca), default=0.0),
        "largest_composition_difference": max((abs(ca[k]["composition"] - cb[k]["composition"]) for k in ca),
                                              default=0.0),
        "groups": len(torch_run["groups"]), "same_groups": torch_run["groups"] == onnx_run["groups"],
        "torch": {k: torch_run[k] for k in ("label", "seconds", "core_ms_per_photo")},
        "onnx": {k: onnx_run[k] for k in ("label", "seconds", "core_ms_per_photo")},
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>28}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
