"""Load torch's native libraries in the background, without the GIL, while the window is already in use.

`import torch` spends about 0.4 s in the dynamic linker (libtorch_cpu, libtorch_cuda, the CUDA libraries):
done by the import machinery, that time holds the GIL and freezes the window. Opened first through ctypes
(a foreign call, which releases the GIL) the same libraries cost the window nothing, and the import that
follows on the scoring thread finds them loaded and is left with its Python part, which yields the GIL every
millisecond (GIL_SWITCH_S in ui/app.py). torch's own import is never changed: a library that fails to
load here is simply loaded by it, the usual way.

The other freezes while torch and the model load were the garbage collector's: the import makes hundreds of
thousands of objects, and each full collection stopped every thread, the window's too, for 100-360 ms
(measured here on 2 busy cores). `loading_torch` turns the collector off meanwhile and freezes what was made
(those objects live as long as the app): the window's worst freeze while the model loads went from 217-403 ms
to 40-120 ms.
"""

from __future__ import annotations

import ctypes
import gc
import glob
import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

RTLD_NOW, RTLD_GLOBAL = 2, 0x100
_done = threading.Event()
_started = False
elapsed_s: float | None = None  # how long the preload took, for the benchmarks


def _package_dir(name: str) -> str | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def libraries() -> list[tuple[str, int]]:
    """(path, dlopen flags) in the order torch loads them: its global deps first (RTLD_GLOBAL, as torch does),
    then the extension modules, whose dependencies (libtorch*, libc10*, CUDA) come with them."""
    out: list[tuple[str, int]] = []
    torch_dir = _package_dir("torch")
    if torch_dir is None:
        return out
    deps = os.path.join(torch_dir, "lib", "libtorch_global_deps.so")
    if os.path.exists(deps):
        out.append((deps, RTLD_NOW | RTLD_GLOBAL))
    out += [(p, RTLD_NOW) for p in glob.glob(os.path.join(torch_dir, "_C.cpython-*.so"))]
    vision_dir = _package_dir("torchvision")
    if vision_dir is not None:
        out += [(p, RTLD_NOW) for p in glob.glob(os.path.join(vision_dir, "_C.so"))]
    return out


def _load() -> None:
    global elapsed_s
    started = time.perf_counter()
    try:
        if not torch_will_run():
            return
        libc = ctypes.CDLL(None)
        libc.dlopen.restype = ctypes.c_void_p
        libc.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        for path, flags in libraries():
            if not libc.dlopen(path.encode(), flags):  # left to torch's own import
                log.debug("preloading %s failed", path)
    except Exception:  # never a reason not to start
        log.debug("native preload failed", exc_info=True)
    finally:
        elapsed_s = time.perf_counter() - started
        _done.set()


def torch_will_run() -> bool:
    """Whether the scorer will be torch's (a GPU, or SELFIE_DESK_RUNTIME=torch): on the CPU the ONNX runtime
    scores, and torch's 400 MB of libraries are not worth loading (asked here, off the window's thread, since
    finding a GPU means asking its driver)."""
    from selfie_desk.neural.runtime import choose

    try:
        return choose(None, "auto") == "torch"
    except (RuntimeError, ValueError):
        return False


_launched = False


def expect() -> None:
    """Say a preload will come (`start`, soon): until it has run, `wait` holds back whoever imports torch.
    The window starts it once it is on screen: the dynamic linker has one lock, and torch's 400 MB of
    libraries loading while PySide6 loads made the window come up ~0.5 s later (measured here)."""
    global _started
    _started = True
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        _done.set()


def start() -> None:
    """Begin loading, once per process, on a thread of its own (Linux only; elsewhere: nothing to do)."""
    global _launched
    expect()
    if _launched or _done.is_set():
        return
    _launched = True
    threading.Thread(target=_load, name="native-preload", daemon=True).start()


_gc_lock = threading.Lock()
_loading = 0
_gc_was_enabled = False


@contextmanager
def loading_torch() -> Iterator[None]:
    """Around importing torch and loading a model (on a worker thread): the native libraries first, and no
    garbage collection until the last loader is done; then what the load made is frozen out of the collector's
    way and collection resumes."""
    global _loading, _gc_was_enabled
    wait()
    with _gc_lock:
        if _loading == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _loading += 1
    try:
        yield
    finally:
        with _gc_lock:
            _loading -= 1
            if _loading == 0 and _gc_was_enabled:
                gc.freeze()
                gc.enable()


def wait(timeout: float = 30.0) -> None:
    """Before importing torch: let the preload finish, so the import never holds the GIL in the linker.
    Returns at once when no preload was started."""
    if _started:
        _done.wait(timeout)
