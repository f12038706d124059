"""The CPU inference runtime: every network of the scoring pass and the crop search as an ONNX graph run by ONNX
Runtime, the heads in numpy, no torch (`scorer.RuntimeScorer`); and the choice between it and torch.

Which runtime scores (`choose`): `--runtime` / SELFIE_DESK_RUNTIME = auto (the default), torch or onnx.
auto: torch on a GPU (`--device cuda`, or `--device auto` where an NVIDIA GPU answers), the ONNX runtime on the
CPU (`--device cpu`, or `auto` without a GPU), and whichever of the two is installed when only one is (the CPU
installer has no torch). Measured on this 2-core machine, the ONNX runtime runs the pass's networks in about
half torch's CPU time (docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from functools import cache
from typing import Any

RUNTIMES = ("auto", "torch", "onnx")
ENV = "SELFIE_DESK_RUNTIME"


def installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a package that cannot even be looked up is not there to use
        return False


@cache
def gpu_present() -> bool:
    """Whether an NVIDIA GPU answers through its driver (libcuda's cuInit and device count), without torch:
    what `--device auto` asks before loading torch for it."""
    names = {"win32": ["nvcuda.dll"], "darwin": []}.get(sys.platform, ["libcuda.so.1", "libcuda.so"])
    for name in names:
        try:
            cuda = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
        except AttributeError:
            return False
    return False


def choose(runtime: str | None, device: str) -> str:
    """"torch" or "onnx" for `runtime` (auto, torch, onnx; None: SELFIE_DESK_RUNTIME, else auto) on `device`
    (auto, cpu, cuda). Raises RuntimeError when the runtime asked for is not installed or cannot run there."""
    runtime = runtime or os.environ.get(ENV) or "auto"
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    has_torch, has_onnx = installed("torch"), installed("onnxruntime")
    if runtime == "auto":
        wants_gpu = device == "cuda" or (device == "auto" and has_torch and gpu_present())
        runtime = "torch" if (wants_gpu or not has_onnx) and has_torch else "onnx"
    if runtime == "torch" and not has_torch:
        raise RuntimeError("this installation has no torch (the CPU build): it scores with the ONNX runtime "
                           "on the CPU (--runtime onnx, --device cpu); the GPU build runs torch")
    if runtime == "onnx":
        if not has_onnx:
            raise RuntimeError("onnxruntime is not installed: pip install onnxruntime, or use --runtime torch")
        if device == "cuda":
            raise RuntimeError("the ONNX runtime runs on the CPU; --device cuda needs --runtime torch")
    return runtime


def make_scorer(model: str, device: str = "auto", runtime: str | None = None, threads: int | None = None) -> Any:
    """The scorer for `model` on `device` with the runtime `choose` picks: `model.Scorer` (torch) or
    `scorer.RuntimeScorer` (ONNX Runtime). Both answer what the pass, the crop search and the workers ask.
    `threads`: the CPU threads its networks may use (default: each runtime's own rule)."""
    if choose(runtime, device) == "torch":
        import torch

        from selfie_desk.neural.model import Scorer

        if threads:
            torch.set_num_threads(threads)
        return Scorer(model=model, device=device)
    from selfie_desk.neural.runtime.scorer import RuntimeScorer

    return RuntimeScorer(model=model, device="cpu", threads=threads)
