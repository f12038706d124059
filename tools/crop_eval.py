"""How good is the crop search? Four measurements, described with their results in docs/cropping.md.

    .venv/bin/python tools/crop_eval.py [--portraits ../shared/photos/portraits] [--photos 40] [--sample 64]
    .venv/bin/python tools/crop_eval.py --skip found faces agreement --fcdb-annotations DIR --fcdb-photos DIR \
        [--fcdb-split validation|test] [--gaicd-scores FILE --gaicd-photos DIR]

0. People's crops: on FCDB photos (the validation fifth of its training split by default; its official test
   split only with --fcdb-split test, which is reported once), `--aspect free` as `selfie-desk crop` runs it:
   IoU and boundary displacement of the proposal with the crop people drew, against keeping the photo whole;
   how often the ranking agrees with the majority of five voters on FCDB's voted crop pairs of the same photos;
   and, on GAICD photos whose ~90 candidate crops people scored (the few that can be had), where the proposal
   and the uncropped photo fall among those scores.

1. Found again: held-out portraits (never seen by the score head) are shrunk to 45-80 % of a scene made
   from another photo and pasted at a random place. The search (aspect "original", the portrait's own) should
   find the portrait's frame again: IoU of the best crop with it, against the uncropped scene and a random
   candidate as baselines, with and without the exact re-scoring of the finalists.
2. Faces kept whole: on every composite and on the demo photos with faces, in every preset, no returned crop
   (best or alternative) cuts a detected face, and the best keeps all faces whenever the preset can.
3. Agreement: on the demo photos and the first composites, a random sample of the search's own candidates
   is scored both ways (pooled from the shared feature map; one pass per crop), Spearman rank correlation
   per photo, next to the same correlation between per-crop scores and per-crop scores of boxes moved by
   1 % (how stable the reference ranking is in the first place).

Without the portraits folder (a fresh clone) only the demo photos are used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from crop_data import bucket
from PIL import Image, ImageFilter

from selfie_desk.core.crop.geometry import RATIOS, Prepared, cuts_a_face, face_relations, iou
from selfie_desk.core.measures import degrade
from selfie_desk.neural.crop_search import EXACT_FINALISTS, CropSearch
from selfie_desk.neural.model import Scorer

ROOT = Path(__file__).resolve().parents[1]


def is_heldout_portrait(name: str) -> bool:
    return bucket(name, 5) == 0

DEMO = ROOT / "resources" / "demo"
SEARCH: dict = {}  # CropSearch options from the command line (the pyramid's levels)
DEMO_PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg", "china.jpg", "flower.jpg"]
SCENES = ["china.jpg", "flower.jpg", "coffee.png", "rocket.jpg", "chelsea.png"]  # no people in them


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(x: np.ndarray) -> np.ndarray:
        r = np.empty(len(x))
        r[np.argsort(x, kind="stable")] = np.arange(len(x))
        return r

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def paste_feathered(canvas: Image.Image, im: Image.Image, xy: tuple[int, int]) -> Image.Image:
    w, h = im.size
    border = max(1, min(w, h) // 25)
    mask = Image.new("L", (w, h), 0)
    mask.paste(255, (border, border, w - border, h - border))
    canvas.paste(im, xy, mask.filter(ImageFilter.GaussianBlur(border / 2)))
    return canvas


def composite(im: Image.Image, rng: np.random.Generator, scenes: list[Image.Image]) -> tuple[Image.Image, tuple]:
    """The portrait at 45-80 % of the width of a same-sized scene, anywhere in it; returns its box too."""
    w, h = im.size
    frac = rng.uniform(0.45, 0.8)
    sw, sh = round(w * frac), round(h * frac)
    x, y = int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1))
    canvas = degrade.scene((w, h), rng, scenes)
    paste_feathered(canvas, im.resize((sw, sh), Image.Resampling.LANCZOS), (x, y))
    return canvas, (x, y, x + sw, y + sh)


def prepared(search: CropSearch, im: Image.Image) -> Prepared:
    return search.prepare_image(im)


def heldout_portraits(folder: Path, n: int) -> list[Path]:
    # the portraits the score head never trained on (its fixed held-out split)
    names = sorted(p.name for p in folder.iterdir() if is_heldout_portrait(p.name))
    return [folder / name for name in names if (folder / name).is_file()][:n]


def found_again(scorer: Scorer, portraits: list[Path], seed: int) -> tuple[dict, list]:
    exact, pooled = CropSearch(scorer, verify=EXACT_FINALISTS, **SEARCH), CropSearch(scorer, **SEARCH)
    scenes = [Image.open(DEMO / n).convert("RGB") for n in SCENES]
    rng = np.random.default_rng(seed)
    rows, made = [], []
    for path in portraits:
        im = Image.open(path).convert("RGB")
        scene, truth = composite(im, rng, scenes)
        photo = prepared(exact, scene)
        made.append((path.name, scene, photo, truth))
        timings: dict[str, float] = {}
        boxes, estimates, rule, features = exact.scored_candidates(photo, "original", timings)
        results = {
            "exact 6 finalists": exact.finish(photo, "original", 3, boxes, estimates, rule, features, dict(timings)),
            "as shipped (pooled ranking)": pooled.finish(photo, "original", 3, boxes, estimates, rule, features,
                                                         dict(timings)),
        }
        truth_score = float(exact.crop_scores(photo.image, np.array([truth], np.float64), *scene.size,
                                              quality=features.quality)[0])
        original = pooled.search(prepared(pooled, im), "original", 3)  # the portrait as shot: well framed
        kept = float(iou(np.array([original.best.box]), np.array([[0, 0, *im.size]]))[0, 0])
        row = {
            "photo": path.name,
            "subject_share": (truth[2] - truth[0]) / scene.width,
            "faces": len(photo.faces),
            "rule": rule.name,
            "iou_whole": float(iou(np.array([[0, 0, *scene.size]]), np.array([truth]))[0, 0]),
            "iou_random": float(iou(boxes[:, :4], np.array([truth]))[:, 0].mean()),
            "truth_score": truth_score,
            "original_kept_whole": original.keep_whole,
            "original_iou_whole": kept,
        }
        for label, r in results.items():
            found = [r.best, *r.alternatives]
            row[label] = {
                "iou_best": float(iou(np.array([r.best.box]), np.array([truth]))[0, 0]),
                "iou_any": float(iou(np.array([c.box for c in found]), np.array([truth]))[:, 0].max()),
                "score_best": r.best.score,
                "whole_score": r.whole_score,
                "cuts_face": any(cuts_a_face(c.box, [f.box for f in photo.faces]) for c in found),
            }
        rows.append(row)
        v = row["as shipped (pooled ranking)"]
        print(f"  {path.name[:36]:36s} share {row['subject_share']:.2f} faces {row['faces']} IoU best "
              f"{v['iou_best']:.2f} any {v['iou_any']:.2f} "
              f"(exact 6 finalists {row['exact 6 finalists']['iou_best']:.2f}, "
              f"whole {row['iou_whole']:.2f}) score {v['score_best']:.3f} vs truth {truth_score:.3f}", flush=True)

    def summary(label: str) -> dict:
        best = np.array([r[label]["iou_best"] for r in rows])
        anyone = np.array([r[label]["iou_any"] for r in rows])
        return {
            "median_iou_best": round(float(np.median(best)), 3),
            "found_best_iou>=0.5": round(float((best >= 0.5).mean()), 3),
            "found_best_iou>=0.7": round(float((best >= 0.7).mean()), 3),
            "found_any_iou>=0.5": round(float((anyone >= 0.5).mean()), 3),
            "found_any_iou>=0.7": round(float((anyone >= 0.7).mean()), 3),
            "best_scores_above_truth": round(float(np.mean([r[label]["score_best"] >= r["truth_score"]
                                                            for r in rows])), 3),
            "crops_cutting_a_face": int(sum(r[label]["cuts_face"] for r in rows)),
        }

    out = {
        "photos": len(rows),
        "as shipped (pooled ranking)": summary("as shipped (pooled ranking)"),
        "exact 6 finalists": summary("exact 6 finalists"),
        "baseline_median_iou_whole": round(float(np.median([r["iou_whole"] for r in rows])), 3),
        "baseline_median_iou_random_candidate": round(float(np.median([r["iou_random"] for r in rows])), 3),
        "with_faces_all_kept": round(float(np.mean([r["rule"] == "all faces" for r in rows if r["faces"]] or [0])), 3),
        "originals_kept_whole": round(float(np.mean([r["original_kept_whole"] for r in rows])), 3),
        "originals_proposal_iou_whole>=0.8": round(float(np.mean([r["original_iou_whole"] >= 0.8 for r in rows])), 3),
    }
    return out, made


def found_again_photos(scorer: Scorer, portraits: list[Path], seed: int) -> list:
    """The same composites `found_again` makes (same seed, same order), without searching them."""
    search = CropSearch(scorer, **SEARCH)
    scenes = [Image.open(DEMO / n).convert("RGB") for n in SCENES]
    rng = np.random.default_rng(seed)
    made = []
    for path in portraits:
        scene, truth = composite(Image.open(path).convert("RGB"), rng, scenes)
        made.append((path.name, scene, prepared(search, scene), truth))
    return made


def faces_whole(scorer: Scorer, extra: list[tuple]) -> dict:
    """Every preset on the demo photos with faces and on the composites: crops that cut a face, and best
    crops missing a face although some crop of that preset keeps them all."""
    search = CropSearch(scorer, **SEARCH)
    photos = []
    for name in DEMO_PHOTOS:
        photo = search.prepare(DEMO / name)
        if photo.faces:
            photos.append((name, photo))
    photos += [(name, photo) for name, _, photo, _ in extra if photo.faces]
    checked = cut = unavoidable = missed = 0
    for _name, photo in photos:
        for aspect in RATIOS:
            r = search.search(photo, aspect, top=3)
            faces = [f.box for f in photo.faces]
            for c in [r.best, *r.alternatives]:
                checked += 1
                cut += cuts_a_face(c.box, faces)
                unavoidable += r.face_rule == "faces cut" and cuts_a_face(c.box, faces)
            # kept = the face box inside (its margin may be given up when the preset cannot hold it: FaceRule)
            kept, _ = face_relations(np.array([r.best.box]), faces, photo.width, photo.height, margin=False)
            missed += r.face_rule == "all faces" and not kept.all()
    return {"photos_with_faces": len(photos), "presets": len(RATIOS), "crops_checked": checked,
            "crops_cutting_a_face": cut, "of_which_every_crop_of_the_preset_cuts_a_face": unavoidable,
            "best_missing_a_face_when_avoidable": missed}


def agreement(scorer: Scorer, items: list[tuple[str, Prepared]], sample: int, seed: int) -> dict:
    search = CropSearch(scorer, **SEARCH)
    rng = np.random.default_rng(seed)
    rows = []
    for name, photo in items:
        boxes, estimates, _, _ = search.scored_candidates(photo, "original")
        pick = rng.choice(len(boxes), min(sample, len(boxes)), replace=False)
        b, est = boxes[pick, :4], estimates[pick]
        exact = search.crop_scores(photo.image, b, photo.width, photo.height)
        w = (b[:, 2] - b[:, 0])[:, None]
        moved = b + rng.uniform(-0.01, 0.01, (len(b), 1)) * w * np.array([1, 0, 1, 0])
        moved = np.clip(moved, 0, [photo.width, photo.height, photo.width, photo.height])
        exact_moved = search.crop_scores(photo.image, moved, photo.width, photo.height)
        rho, ceiling = spearman(est, exact), spearman(exact, exact_moved)
        top_regret = float(exact.max() - exact[np.argmax(est)])
        rows.append({"photo": name, "spearman": round(rho, 3), "reference_vs_moved_1pct": round(ceiling, 3),
                     "exact_regret_of_pooled_top1": round(top_regret, 3), "candidates": int(len(boxes))})
        print(f"  {name[:36]:36s} spearman {rho:+.3f}  (per-crop vs per-crop moved 1 %: {ceiling:.3f})  "
              f"regret of pooled top-1 {top_regret:.3f}", flush=True)
    rhos = np.array([r["spearman"] for r in rows])
    return {"per_photo": rows, "median": round(float(np.median(rhos)), 3), "mean": round(float(rhos.mean()), 3),
            "min": round(float(rhos.min()), 3), "max": round(float(rhos.max()), 3),
            "median_ceiling": round(float(np.median([r["reference_vs_moved_1pct"] for r in rows])), 3),
            "photos_at_or_above_0.9": int((rhos >= 0.9).sum())}


def people(scorer: Scorer, annotations: Path, photos: Path, split: str, limit: int | None) -> dict:
    """The search (`free`, as the command line runs it) against the crops people drew on FCDB photos."""
    from crop_data import boundary_displacement, fcdb, ranking_pairs

    crops, skipped = fcdb(annotations, photos, split)
    crops = crops[:limit] if limit else crops
    pairs = ranking_pairs(annotations, {c.name for c in crops})
    search = CropSearch(scorer, **SEARCH)
    rows = []
    agree = votes = 0
    for n, c in enumerate(crops):
        photo = search.prepare(c.path)
        r = search.search(photo, "free", top=3)
        truth = np.array(c.box)
        whole = np.array([0, 0, c.width, c.height], np.float64)
        rows.append({"photo": c.name, "iou": float(iou(np.array([r.best.box]), truth[None])[0, 0]),
                     "bde": boundary_displacement(np.array(r.best.box), truth, c.width, c.height),
                     "iou_whole": float(iou(whole[None], truth[None])[0, 0]),
                     "bde_whole": boundary_displacement(whole, truth, c.width, c.height),
                     "keep_whole": r.keep_whole, "composition": r.best.composition})
        if pairs.get(c.name):
            features = search.features(photo.image, photo.looks)
            for a, b, va, vb in pairs[c.name]:
                if va == vb:
                    continue
                sa, sb = search.pooled_scores(features, np.stack([a, b]), c.width, c.height)
                g = search.gains(features, np.stack([a, b]), c.width, c.height)
                agree += (g[0] > g[1]) == (va > vb)
                votes += 1
        if (n + 1) % 25 == 0:
            print(f"  {n + 1}/{len(crops)}: mean IoU {np.mean([x['iou'] for x in rows]):.4f}", flush=True)
    def mean(k: str) -> float:
        return round(float(np.mean([x[k] for x in rows])), 4)
    return {"split": split, "photos": len(rows), "placeholders_or_missing_skipped": len(skipped),
            "mean_iou": mean("iou"), "mean_bde": mean("bde"), "kept_whole": mean("keep_whole"),
            "keep_whole_baseline_iou": mean("iou_whole"), "keep_whole_baseline_bde": mean("bde_whole"),
            "voted_pairs": votes, "pairs_agreeing_with_the_majority": round(agree / votes, 4) if votes else None,
            "per_photo": rows}


def _rated(boxes: np.ndarray, mos: np.ndarray, box) -> tuple[float, float, float]:
    """The people's score of the scored crop nearest `box`, its percentile among them, and their overlap."""
    overlap = iou(boxes, np.array([box], np.float64))[:, 0]
    k = int(np.argmax(overlap))
    return float(mos[k]), float((mos < mos[k]).mean() * 100), float(overlap[k])


def gaicd(scorer: Scorer, scores_file: Path, photos: Path) -> dict:
    """Where the proposal and the uncropped photo fall among the crops people scored (GAICD: ~90 per photo,
    mean opinion 1-5): each is given the score of the scored crop that overlaps it most."""
    data = json.loads(scores_file.read_text())
    search = CropSearch(scorer, **SEARCH)
    rows = []
    for path in sorted(photos.iterdir()):
        if path.name not in data:
            continue
        boxes = np.array(data[path.name]["bbox"], np.float64)
        mos = np.array(data[path.name]["score"], np.float64)
        r = search.search_path(path, "free", 3)

        crop, whole = _rated(boxes, mos, r.best.box), _rated(boxes, mos, (0, 0, r.width, r.height))
        rows.append({"photo": path.name, "proposal_mos": crop[0], "proposal_percentile": crop[1],
                     "proposal_nearest_iou": crop[2], "whole_mos": whole[0], "whole_percentile": whole[1],
                     "whole_nearest_iou": whole[2], "best_mos": float(mos.max()), "keep_whole": r.keep_whole})
        print(f"  {path.name}: proposal {crop[0]:.2f} ({crop[1]:.0f}th percentile), whole {whole[0]:.2f} "
              f"({whole[1]:.0f}th), best rated {mos.max():.2f}", flush=True)
    return {"photos": len(rows), "per_photo": rows,
            "mean_proposal_mos": round(float(np.mean([x["proposal_mos"] for x in rows])), 3) if rows else None,
            "mean_whole_mos": round(float(np.mean([x["whole_mos"] for x in rows])), 3) if rows else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portraits", type=Path, default=ROOT.parent / "shared" / "photos" / "portraits")
    parser.add_argument("--photos", type=int, default=40, help="held-out portraits to composite")
    parser.add_argument("--sample", type=int, default=64, help="candidates per photo for the agreement")
    parser.add_argument("--agreement-composites", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--pyramid", type=float, nargs="+", help="pyramid levels (shares of the photo a box "
                        "covers at 224 px) instead of the shipped ones, e.g. --pyramid 1.0")
    parser.add_argument("--fcdb-annotations", type=Path, help="yiling-chen/flickr-cropping-dataset's JSON files")
    parser.add_argument("--fcdb-photos", type=Path, help="the FCDB/ folder of FeiHuang93/photo-composition")
    parser.add_argument("--fcdb-split", default="validation", choices=["validation", "test"],
                        help="test: FCDB's official test split, to be reported once")
    parser.add_argument("--fcdb-limit", type=int, help="only the first N photos of the split")
    parser.add_argument("--gaicd-scores", type=Path, help="GAICD's image_crop.json (bcmi/Human-Centric-Image-Cropping)")
    parser.add_argument("--gaicd-photos", type=Path, help="a folder of GAICD photos (any that can be had)")
    parser.add_argument("--content-weight", type=float, help="the ranking's content weight instead of the shipped one")
    parser.add_argument("--skip", nargs="*", default=[], choices=["found", "faces", "agreement"],
                        help="measurements to skip")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a busy 2-core CPU)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.pyramid:
        SEARCH["pyramid"] = args.pyramid
    if args.content_weight is not None:
        SEARCH["content_weight"] = args.content_weight

    start = time.perf_counter()
    scorer = Scorer(device="cpu")
    result: dict = {}
    if args.fcdb_annotations and args.fcdb_photos:
        print(f"0. people's crops: FCDB {args.fcdb_split}", flush=True)
        result["people"] = people(scorer, args.fcdb_annotations, args.fcdb_photos, args.fcdb_split, args.fcdb_limit)
    if args.gaicd_scores and args.gaicd_photos:
        print("0b. GAICD's scored crops", flush=True)
        result["gaicd"] = gaicd(scorer, args.gaicd_scores, args.gaicd_photos)
    portraits = heldout_portraits(args.portraits, args.photos) if args.portraits.is_dir() else []
    made: list = []
    if portraits and "found" in args.skip:  # the composites are still made: the agreement uses them
        made = found_again_photos(scorer, portraits, args.seed)
    elif portraits:
        print(f"1. found again: {len(portraits)} held-out portraits composited into scenes", flush=True)
        result["found_again"], made = found_again(scorer, portraits, args.seed)
    else:
        print(f"no portraits at {args.portraits}: skipping 'found again'", flush=True)
    if "faces" not in args.skip:
        print("2. faces kept whole", flush=True)
        result["faces"] = faces_whole(scorer, made)
    if "agreement" not in args.skip:
        print("3. agreement of pooled and per-crop scores", flush=True)
        search = CropSearch(scorer, **SEARCH)
        items = [(n, search.prepare(DEMO / n)) for n in DEMO_PHOTOS]
        items += [(f"composite:{name}", photo) for name, _, photo, _ in made[: args.agreement_composites]]
        result["agreement"] = agreement(scorer, items, args.sample, args.seed)
    result["seconds"] = round(time.perf_counter() - start, 1)
    printable = {k: v for k, v in result.items() if k not in ("agreement", "people", "gaicd")}
    for k in ("people", "gaicd"):
        if k in result:
            printable[k] = {key: v for key, v in result[k].items() if key != "per_photo"}
    if "agreement" in result:
        printable["agreement"] = {k: v for k, v in result["agreement"].items() if k != "per_photo"}
    print(json.dumps(printable, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
