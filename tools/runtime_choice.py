"""ONNX Runtime against OpenVINO on the exported graphs (models/*.onnx), one thread each, in one run: CPU time per
item at the pass's shapes, the largest difference between the two, and how long each takes to import and load
the pass's three graphs. What chose the CPU runtime (docs/benchmarks.md, "CPU runtime").

    .venv/bin/python tools/runtime_choice.py [--rounds 7]     (needs `pip install openvino`, not a dependency)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

LOAD = """
import sys, time
t = time.perf_counter()
if sys.argv[1] == "ort":
    import onnxruntime as ort
    o = ort.SessionOptions(); o.intra_op_num_threads = 1
    s = [ort.InferenceSession(f, o, providers=["CPUExecutionProvider"]) for f in sys.argv[2:]]
else:
    import openvino as ov
    c = ov.Core()
    s = [c.compile_model(f, "CPU", {"INFERENCE_NUM_THREADS": 1}) for f in sys.argv[2:]]
print(time.perf_counter() - t)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    import onnxruntime as ort
    import openvino as ov

    from selfie_desk.neural.runtime import faces

    rng = np.random.default_rng(0)
    cases = {  # graph: (input, items per call): the pass's batch of 16, a crop-search level, 16 eyes
        "backbone": (rng.integers(0, 255, (16, 224, 224, 3), dtype=np.uint8), 16),
        "backbone@448": (rng.integers(0, 255, (1, 448, 448, 3), dtype=np.uint8), 1),
        "retinaface": (faces.preprocess(rng.integers(0, 255, (16, 288, 384, 3), dtype=np.uint8), [(384, 288)] * 16),
                       16),
        "eye_lids": (rng.integers(0, 255, (16, 64, 64, 3), dtype=np.uint8), 16),
    }
    core = ov.Core()
    print(f"CPU time per item (ms), one thread, median of {args.rounds} interleaved rounds; "
          f"load {os.getloadavg()[0]:.1f}")
    for case, (x, n) in cases.items():
        file = str(ROOT / "models" / f"{case.split('@')[0]}.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(file, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        request = core.compile_model(file, "CPU", {"INFERENCE_NUM_THREADS": 1}).create_infer_request()
        runs = {"onnxruntime": lambda s=session, k=name, x=x: s.run(None, {k: x}),
                "openvino": lambda r=request, x=x: list(r.infer([x]).values())}
        a, b = runs["onnxruntime"](), runs["openvino"]()
        diff = max(float(np.abs(p - q).max()) for p, q in zip(a, b, strict=True))
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.rounds):
            for k, run in runs.items():
                t = time.process_time()
                run()
                times[k].append((time.process_time() - t) / n * 1000)
        print(f"{case:<14} " + "  ".join(f"{k} {np.median(v):6.2f}" for k, v in times.items())
              + f"   largest difference {diff:.1g}")
    files = [str(ROOT / "models" / f) for f in ("backbone.onnx", "retinaface.onnx", "eye_lids.onnx")]
    for rt in ("ort", "ov"):
        took = [float(subprocess.run([sys.executable, "-c", LOAD, rt, *files], capture_output=True, text=True,
                                     check=True).stdout) for _ in range(3)]
        print(f"import and load the pass's 3 graphs, {rt}: {np.median(took):.2f} s (median of 3 fresh processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
