"""Scoring throughput: decode-only vs end-to-end over the same synthetic 12-megapixel JPEGs, in one run.

    .venv/bin/python tools/benchmark.py [--photos 48] [--device auto|cpu|cuda] [--runtime auto|torch|onnx] [--json]
    .venv/bin/python tools/benchmark.py --crop [--crop-photos 4] [--device auto|cpu|cuda] [--json]

--runtime picks what runs the networks (selfie_desk.neural.runtime.choose; default: auto, the app's choice).

Decode-only is the pipeline's own decoding step (JPEG draft mode, same thread pool) with nothing after
it: the ceiling end-to-end can approach. End-to-end is `pipeline.score` on a fresh catalog: indexing,
fingerprints, decoding, thumbnails, backbone + head + face detector, catalog writes. Memory: peak RSS of
an end-to-end run over N and over 3N photos (hard links), each in its own process.

--crop: the crop search instead. Per 12 MP photo: the whole search as the app runs it (decode at reduced
size, faces, one backbone pass, every candidate pooled from the shared feature map, 6 finalists scored
exactly), against scoring the SAME candidates with one network pass per crop (each crop cut from the same
reduced decode, squashed to 224 px), in the same run. Times are medians over the photos, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_photos(folder: Path, n: int, size=(4000, 3000)) -> list[Path]:
    """Photo-like 12 MP JPEGs of ~3 MB: smooth light, shapes, and sensor-like noise (it sets the file size)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        path = folder / f"IMG_{i:04d}.jpg"
        out.append(path)
        if path.exists():
            continue
        rng = np.random.default_rng(i)
        base = np.stack([120 + 90 * np.sin(x / w * (2 + i % 3) + i), 120 + 80 * np.cos(y / h * 3 + i),
                         60 + 150 * (x + y) / (w + h)], -1)
        for _ in range(6):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(100, 800)
            base[(x - cx) ** 2 + (y - cy) ** 2 < r * r] *= rng.uniform(0.5, 1.3)
        base += rng.normal(0, 5, (h, w, 1)) + rng.normal(0, 2, (h, w, 3))
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path, quality=90)
    return out


def decode_only(files: list[Path], workers: int) -> float:
    from selfie_desk.core.formats import decoding
    from selfie_desk.neural import pipeline

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda p: decoding.decode(p, pipeline.DECODE_EDGE), files))
    return len(files) / (time.perf_counter() - start)


def make_scorer(device: str, runtime: str | None):
    try:
        from selfie_desk.neural.runtime import make_scorer
    except ImportError:  # a tree from before the CPU runtime (a baseline run)
        from selfie_desk.neural.model import Scorer

        return Scorer(device=device)
    return make_scorer("default", device, runtime)


def end_to_end(folder: Path, device: str, batch: int, workers: int, runtime: str | None = None) -> dict:
    from selfie_desk.core import paths
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    scorer = make_scorer(device, runtime)
    with Catalog(paths.catalog_path()) as cat:
        start = time.perf_counter()
        summary = pipeline.score([folder], cat, scorer, batch_size=batch, workers=workers)
        elapsed = time.perf_counter() - start
    return {"photos": summary.scored, "seconds": elapsed, "rate": summary.scored / elapsed, "device": scorer.label}


def peak_rss_mb_child(folder: Path, device: str, runtime: str | None = None) -> float:
    """Peak RSS of an end-to-end run in a fresh process (this script's --rss-of mode)."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, SELFIE_DESK_HOME=home)
        cmd = [sys.executable, __file__, "--rss-of", str(folder), "--device", device]
        cmd += ["--runtime", runtime] if runtime else []
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def crop_bench(folder: Path, n: int, device: str, repeats: int, runtime: str | None = None) -> dict:
    from selfie_desk.neural.crop_search import CropSearch
    from selfie_desk.neural.pipeline import cpu_share

    files = make_photos(folder, n)
    scorer = make_scorer(device, runtime)
    search = CropSearch(scorer)
    sync = (lambda: __import__("torch").cuda.synchronize()) if scorer.device.type == "cuda" else (lambda: None)
    search.search_path(files[0])  # warm-up: allocator, kernels, page cache
    with cpu_share(scorer):  # torch threads as the app's search runs them (half the cores on a CPU)
        torch_cpu = scorer.device.type == "cpu" and getattr(scorer, "runtime", "torch") == "torch"
        label = f"CPU ({torch_threads()} torch threads)" if torch_cpu else scorer.label
        return {"device": label} | _crop_runs(search, files, sync, repeats)


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _crop_runs(search, files: list[Path], sync, repeats: int) -> dict:
    shared, separate, stages, counts = [], [], [], []
    for path in files:
        for _ in range(repeats):
            timings: dict[str, float] = {}
            sync()
            start = time.perf_counter()
            photo = search.prepare(path, timings)
            result = search.search(photo, "original", 3, timings)
            sync()
            shared.append(time.perf_counter() - start)
            stages.append(result.timings)
        boxes = search.scored_candidates(photo, "original")[0]  # the very candidates that search scored
        # the same candidates, one network pass each (plus the same decode and face detection)
        t = {}
        start = time.perf_counter()
        photo = search.prepare(path, t)
        search.crop_scores(photo.image, boxes[:, :4], photo.width, photo.height, batch=64)
        sync()
        separate.append(time.perf_counter() - start)
        counts.append(len(boxes))
    med = float(np.median(shared))
    return {
        "photos": len(files),
        "mean_file_mb": round(sum(f.stat().st_size for f in files) / len(files) / 1e6, 2),
        "candidates_per_photo": int(np.median(counts)),
        "shared_features_s_per_photo": round(med, 4),
        "shared_stages_s": {k: round(float(np.median([s[k] for s in stages])), 4) for k in stages[0]},
        "one_pass_per_crop_s_per_photo": round(float(np.median(separate)), 3),
        "speedup": round(float(np.median(separate)) / med, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--runtime", default=None, help="auto, torch or onnx (default: the app's choice)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="decode threads (0: the pipeline's default)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "selfie-desk-bench")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS for N and 3N photos")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch threads outside the scoring pass (0: torch's default); the pass sets its own")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rss-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--crop", action="store_true", help="benchmark the crop search instead (see above)")
    parser.add_argument("--crop-photos", type=int, default=4)
    parser.add_argument("--crop-repeats", type=int, default=2, help="shared-feature searches per photo")
    args = parser.parse_args()

    from selfie_desk.neural import pipeline

    workers = args.workers or pipeline.default_workers()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    if args.rss_of:
        end_to_end(args.rss_of, args.device, args.batch, workers, args.runtime)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return 0
    if args.crop:
        with tempfile.TemporaryDirectory() as home:
            os.environ["SELFIE_DESK_HOME"] = home
            result = crop_bench(args.cache / "photos", args.crop_photos, args.device, args.crop_repeats, args.runtime)
        result["machine"] = f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
        print(json.dumps(result) if args.json else "\n".join(f"{k:>30}: {v}" for k, v in result.items()))
        return 0
    t0 = time.perf_counter()
    files = make_photos(args.cache / "photos", args.photos)
    made = time.perf_counter() - t0
    mb = sum(f.stat().st_size for f in files) / len(files) / 1e6
    with tempfile.TemporaryDirectory() as home:
        os.environ["SELFIE_DESK_HOME"] = home
        decode_only(files[:4], workers)  # warm the page cache and the decoder
        dec = decode_only(files, workers)
        e2e = end_to_end(args.cache / "photos", args.device, args.batch, workers, args.runtime)
        dec_after = decode_only(files, workers)
    result = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "photos": len(files),
        "mean_file_mb": round(mb, 2),
        "workers": workers,
        "batch": args.batch,
        "device": e2e["device"],
        "decode_only_per_s": round((dec + dec_after) / 2, 2),
        "end_to_end_per_s": round(e2e["rate"], 2),
        "ratio": round(e2e["rate"] / ((dec + dec_after) / 2), 3),
        "decode_only_runs": [round(dec, 2), round(dec_after, 2)],
        "generated_in_s": round(made, 1),
    }
    if args.memory:
        big = args.cache / "photos3x"
        big.mkdir(exist_ok=True)
        for k in range(3):
            for f in files:
                link = big / f"{k}_{f.name}"
                if not link.exists():
                    os.link(f, link)
        result["peak_rss_mb"] = {
            str(len(files)): round(peak_rss_mb_child(args.cache / "photos", args.device, args.runtime)),
            str(3 * len(files)): round(peak_rss_mb_child(big, args.device, args.runtime)),
        }
    result["ru_maxrss_parent_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
