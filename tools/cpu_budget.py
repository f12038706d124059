"""Where the CPU goes when scoring: core-milliseconds per photo for each stage, from getrusage.

    .venv/bin/python tools/cpu_budget.py    (after tools/benchmark.py has written its photos)

CPU time, unlike wall time, hardly depends on what else the machine is doing, so this splits the end-to-end
cost into decode, prepare (decode + thumbnail + model inputs) and the models, even on a busy machine.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(name: str, photos: int, fn: Callable[[], object]) -> None:
    c, w = cpu_seconds(), time.perf_counter()
    fn()
    c, w = cpu_seconds() - c, time.perf_counter() - w
    print(f"{name:32s} wall {w / photos * 1000:6.1f} ms/photo   cpu {c / photos * 1000:6.1f} core-ms/photo")


def main() -> int:
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    import torch

    from selfie_desk.core import decoding, paths
    from selfie_desk.core.catalog import Catalog
    from selfie_desk.core.indexing import Todo
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.model import Scorer

    files = sorted((Path(tempfile.gettempdir()) / "selfie-desk-bench" / "photos").glob("*.jpg"))
    if not files:
        sys.exit("no photos: run tools/benchmark.py first")
    n = len(files)
    scorer = Scorer(device="cpu")
    with ThreadPoolExecutor(2) as pool:
        measure("decode only (2 threads)", n,
                lambda: list(pool.map(lambda p: decoding.decode(p, pipeline.DECODE_EDGE), files)))
        measure("prepare: decode+thumbnail+inputs", n,
                lambda: list(pool.map(lambda p: pipeline.prepare(Todo(0, str(p), "")), files)))
    batch = [pipeline.prepare(Todo(0, str(p), "")) for p in files[:16]]
    torch.set_num_threads(1)
    measure("models only (1 torch thread)", 48, lambda: [pipeline.batch_results(batch, scorer) for _ in range(3)])
    torch.set_num_threads(2)

    def end_to_end() -> None:
        with Catalog(paths.catalog_path()) as catalog:
            pipeline.score(files, catalog, scorer)

    measure("end to end (pipeline.score)", n, end_to_end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
