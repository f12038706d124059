"""Start-up time of the window, measured from outside as a user sees it (issue 16): from launching
`python -m selfie_desk FOLDER` to the window, to the grid with every visible thumbnail drawn, and to the
model being ready, with the UI thread's longest freeze meanwhile.

    .venv/bin/python tools/startup_time.py                # 48 photos, 3 launches each way
    .venv/bin/python tools/startup_time.py --photos 48 --runs 5

Prepares a folder of synthetic 1600 x 1200 JPEGs in a temporary SELFIE_DESK_HOME, scores it once with the
CLI (which also caches the thumbnails), then launches the window: "warm" with the thumbnail cache, "cold
thumbnails" with it emptied, and "before" the way the window started before issue 16 (torch imported on the
UI thread before the window). The OS file cache is warm in every case (dropping it needs root on a shared
machine). Offscreen unless DISPLAY is set. A benchmark, not a test (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from selfie_desk.core import paths
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.core.settings import Settings
from selfie_desk.ui.app import create_application, preload_torch, trace_startup
from selfie_desk.ui.main_window import MainWindow
app = create_application()
preload_torch()
window = MainWindow(Catalog(paths.catalog_path()), Settings.load())
window.show()
window.open_folder(Path(sys.argv[1]))
trace_startup(window, started)
sys.exit(app.exec())
"""


def make_photos(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = np.mgrid[0:1200, 0:1600].astype(np.float32)
        base = np.stack([128 + 100 * np.sin(x / 400 + i), 128 + 100 * np.cos(y / 300 + i), (x + y) / 11], -1)
        base += rng.normal(0, 6, base.shape)
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(folder / f"IMG_{i:04d}.jpg", quality=90)


def launch(folder: Path, env: dict, before: bool) -> dict[str, float]:
    args = [sys.executable, "-c", BEFORE, str(folder)] if before else [sys.executable, "-m", "selfie_desk",
                                                                       str(folder)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT)
    marks: dict[str, float] = {}
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("startup: "):
            words = line.split()
            marks[words[1]] = time.perf_counter() - t0
            if words[1] == "model":
                marks["freeze_ms"] = float(words[4])
    proc.wait(timeout=120)
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="startup-home-"))
    folder = Path(tempfile.mkdtemp(prefix="startup-photos-")) / "shoot"
    make_photos(folder, args.photos)
    env = {**os.environ, "SELFIE_DESK_HOME": str(home), "SELFIE_DESK_STARTUP_TRACE": "quit"}
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    subprocess.run([sys.executable, "-m", "selfie_desk", "score", str(folder), "--device", "cpu"], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    results: dict[str, list[dict[str, float]]] = {"warm": [], "cold thumbnails": [], "before": []}
    for _ in range(args.runs):
        results["warm"].append(launch(folder, env, before=False))
        shutil.rmtree(home / "cache" / "thumbnails", ignore_errors=True)
        for sub in home.rglob("thumbnails"):
            shutil.rmtree(sub, ignore_errors=True)
        results["cold thumbnails"].append(launch(folder, env, before=False))
        results["before"].append(launch(folder, env, before=True))
    print(f"{args.photos} photos, {args.runs} launches each, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores; seconds from launch (median, worst):")
    for name, runs in results.items():
        cells = []
        for key in ("window", "grid", "model"):
            values = [r[key] for r in runs if key in r]
            cells.append(f"{key} {statistics.median(values):.2f} ({max(values):.2f})" if values else f"{key} -")
        freezes = [r["freeze_ms"] for r in runs if "freeze_ms" in r]
        cells.append(f"longest UI freeze {statistics.median(freezes):.0f} ms ({max(freezes):.0f})" if freezes else "")
        print(f"  {name:16s} " + " · ".join(cells))
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(folder.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
