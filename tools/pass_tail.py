"""The scoring pass's last batches: half the cores (as while decoding) or all of them once decoding is done.

    .venv/bin/python tools/pass_tail.py N MODE...     (after tools/benchmark.py has written its photos)

Scores the first N benchmark photos with `pipeline.score`, once per MODE, in one process with a warm
model ("warm": a first run that is not compared), each into a fresh catalog. "on" is the pipeline as
shipped (torch gets every core when decoding has finished); "off" never gives them. Prints the total time
and, per model batch, (torch threads, photos, seconds). Alternate the modes: runs drift on a shared VM.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    import torch

    from selfie_desk.core import paths
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.model import Scorer

    files = sorted((Path(tempfile.gettempdir()) / "selfie-desk-bench" / "photos").glob("*.jpg"))[: int(sys.argv[1])]
    if not files:
        sys.exit("no photos: run tools/benchmark.py first")
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    scorer = Scorer(device="cpu")
    real_results, real_stream = pipeline.batch_results, pipeline.decoded_in_order
    log: list[tuple[int, int, float]] = []

    def timed(batch, sc):
        start = time.perf_counter()
        out = real_results(batch, sc)
        log.append((torch.get_num_threads(), len(batch), round(time.perf_counter() - start, 2)))
        return out

    pipeline.batch_results = timed
    for mode in sys.argv[2:]:
        pipeline.decoded_in_order = (
            (lambda *a, decoded_all=None, **k: real_stream(*a, **k)) if mode == "off" else real_stream
        )
        os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
        log.clear()
        with Catalog(paths.catalog_path()) as catalog:
            start = time.perf_counter()
            pipeline.score(files, catalog, scorer)
            total = time.perf_counter() - start
        print(f"{mode:4s} total {total:.2f} s ({len(files) / total:.1f}/s)  batches {log}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
