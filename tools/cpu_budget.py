"""Where the CPU goes when scoring: core-milliseconds per photo for each stage of the pass, from CPU clocks.

    .venv/bin/python tools/cpu_budget.py [--runtime torch onnx] [--photos 48] [--cache DIR]
        (the photos are tools/benchmark.py's: it writes them first)

CPU time, unlike wall time, hardly depends on what else the machine is doing, so this splits the end-to-end
cost even on a busy machine. Each stage runs on one thread over every photo (the networks with one thread, as
the pass gives them on 2 cores), timed with that thread's CPU clock: decode (the 1/2-scale JPEG decode),
look (the view, its statistics, the detail luma and colour), thumbnail (reduce and save), inputs (the 224 px
model input, the detector's input, the signature), then per batch of 16: backbone, faces, detail (the detail
look on the faces found), heads, eyes (the eye network and focus on each face), identity (dlib's face descriptor
on each face large enough, and the catalog's rows), record (the catalog). Last,
the whole pass (`pipeline.score`, its own threads) on the same photos: process CPU per photo, and its rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def budget(files: list[Path], runtime: str) -> dict[str, float]:
    from selfie_desk.core.formats import decoding
    from selfie_desk.core.formats.indexing import index
    from selfie_desk.core.measures import look, registration
    from selfie_desk.core.measures.embedding import face_input, model_input
    from selfie_desk.core.storage import thumbnails
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.runtime import make_scorer

    scorer = make_scorer("default", "cpu", runtime)
    if runtime == "torch":
        import torch

        torch.set_num_threads(1)
    spent: dict[str, float] = defaultdict(float)

    def timed(stage: str, fn, *args):
        t = time.thread_time()
        out = fn(*args)
        spent[stage] += time.thread_time() - t
        return out

    prepared = []
    thumbs = Path(tempfile.mkdtemp())
    catalog = Catalog(Path(tempfile.mkdtemp()) / "catalog.sqlite3")
    todo = index(files, catalog, "default", "bench").todo
    for item in todo:
        path = Path(item.path)
        decoded = timed("decode", decoding.decode, path, pipeline.DECODE_EDGE)
        lk = timed("look", look.Look, decoded.image)
        view = lk.held_view()
        timed("thumbnail", thumbnails.save, item.fingerprint, view, thumbs)

        def inputs(v=view):
            return model_input(v), face_input(v, pipeline.FACE_EDGE), registration.signature(v)

        model_in, face_in, sig = timed("inputs", inputs)
        lk.view = None
        prepared.append(pipeline.Prepared(item, decoded.width, decoded.height, decoded.captured_at,
                                          model_in, face_in, lk, signature=sig))
    with catalog:
        for start in range(0, len(prepared), 16):
            items = prepared[start : start + 16]
            model_in, face_in, sizes = pipeline.batch_arrays(items)
            network = timed("backbone", lambda m=model_in: scorer.arrays(scorer.embed(m)))
            faces = timed("faces", scorer.find_faces, face_in, sizes)
            looks = [p.look for p in items]
            extras = timed("detail", lambda looks=looks, faces=faces, sizes=sizes: [
                lk.values([f.box for f in fs], size) for lk, fs, size in zip(looks, faces, sizes, strict=True)])

            def heads(network=network, extras=extras):
                features = scorer.arrays(scorer.complete(network, extras)) if runtime != "torch" else None
                if features is None:
                    import torch

                    with torch.inference_mode():
                        t = scorer.complete(torch.from_numpy(network), extras)
                        return scorer.score_embeddings(t).numpy(), scorer.aspect_heads.aspects(t), t.numpy()
                return scorer.score_embeddings(features), scorer.aspect_heads.aspects(features), features

            scores, aspects, feats = timed("heads", heads)
            checks = timed("eyes", scorer.check_faces, looks, faces, sizes)
            scored = [pipeline.Scored(float(s), e, f, a) for s, e, f, a in zip(scores, feats, faces, aspects,
                                                                                 strict=True)]
            made = timed("identity", pipeline._made, items, scored, checks)  # who each face is (dlib), per face
            timed("record", lambda made=made: catalog.record(made, "default", "bench"))
    return dict(spent)


def whole_pass(files: list[Path], runtime: str) -> tuple[float, float]:
    """(process CPU seconds per photo, photos per second) of pipeline.score over `files`, in a fresh home."""
    from selfie_desk.core import paths
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.runtime import make_scorer

    scorer = make_scorer("default", "cpu", runtime)
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    c, w = time.process_time(), time.perf_counter()
    with Catalog(paths.catalog_path()) as catalog:
        pipeline.score(files, catalog, scorer)
    c, w = time.process_time() - c, time.perf_counter() - w
    return c / len(files), len(files) / w


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime", nargs="+", default=["torch", "onnx"])
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "selfie-desk-bench")
    args = parser.parse_args()
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    files = sorted((args.cache / "photos").glob("*.jpg"))[: args.photos]
    if not files:
        sys.exit("no photos: run tools/benchmark.py first")
    n = len(files)
    results = {rt: budget(files, rt) for rt in args.runtime}
    stages = list(next(iter(results.values())))
    print(f"core-ms per photo, {n} photos ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}):")
    print(f"{'stage':<12}" + "".join(f"{rt:>10}" for rt in args.runtime))
    for stage in stages:
        print(f"{stage:<12}" + "".join(f"{results[rt][stage] / n * 1000:10.1f}" for rt in args.runtime))
    print(f"{'sum':<12}" + "".join(f"{sum(results[rt].values()) / n * 1000:10.1f}" for rt in args.runtime))
    for rt in args.runtime:
        cpu, rate = whole_pass(files, rt)
        print(f"pipeline.score ({rt}): {cpu * 1000:.1f} core-ms per photo (process CPU), {rate:.2f} photos/s "
              f"(load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
