"""How long the UI thread stalls while a folder scores, in a FRESH process (torch not yet imported).

    .venv/bin/python tools/ui_stall.py            # as `selfie-desk` starts: torch preloaded behind the splash
    .venv/bin/python tools/ui_stall.py --lazy     # without the preload: torch imported on the scoring thread
    .venv/bin/python tools/ui_stall.py --map 10000  # the Map view: laid out, then zoomed and panned (issue 20)

Opens the window offscreen on a copy of the demo photos, ticks a 5 ms timer on the UI thread and prints
the five longest gaps between ticks (ms, and seconds since start) until the scan ends. A benchmark, not a
test: the figures depend on the machine and its load (docs/benchmarks.md).

With --map N there is no scan: a catalog of N scored photos with synthetic embeddings and cached thumbnails
(tools/map_bench.py's), the window's Map laid out on its thread (gaps while it works), then 10 s of zooming
at the pointer, panning and hovering, one step every 16 ms as a hand on a wheel or a drag would make them,
each repainted before the next (gaps while it pans and zooms).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lazy", action="store_true", help="do not preload torch before the window shows")
    parser.add_argument("--map", type=int, metavar="N", help="the Map view on N synthetic photos instead of a scan")
    parser.add_argument("--grid", action="store_true",
                        help="with --map: scroll the grid over the same photos instead (the baseline)")
    args = parser.parse_args()
    if args.map:
        return map_stall(args.map, grid=args.grid)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    folder = Path(tempfile.mkdtemp()) / "demo"
    shutil.copytree(ROOT / "resources" / "demo", folder)

    t0 = time.perf_counter()
    from PySide6.QtCore import QElapsedTimer, QTimer

    from selfie_desk.core import paths
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.ui.app import create_application, preload_torch
    from selfie_desk.ui.main_window import MainWindow

    app = create_application()
    if not args.lazy:
        preload_torch()
    shown = time.perf_counter() - t0
    window = MainWindow(Catalog(paths.catalog_path()), Settings.load())
    window.show()
    clock, gaps, done = QElapsedTimer(), [], []
    clock.start()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: gaps.append((clock.restart(), time.perf_counter() - t0)))
    timer.start()

    def finished(_outcome) -> None:
        done.append(time.perf_counter() - t0)
        QTimer.singleShot(200, app.quit)

    window.scan_finished.connect(finished)
    QTimer.singleShot(0, lambda: window.open_folder(folder))
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    window.shut_down()
    worst = sorted(gaps)[-5:]
    print(f"{'lazy' if args.lazy else 'preload'}: window shown {shown:.2f} s after start, scan ended "
          f"{done[0] if done else float('nan'):.1f} s; longest UI gaps (ms @ s): "
          + ", ".join(f"{g} @ {t:.1f}" for g, t in reversed(worst)))
    return 0


def map_stall(n: int, grid: bool = False) -> int:
    """The UI thread's gaps while the Map of `n` photos is laid out, then while it is zoomed, panned and hovered;
    `grid`: the grid over the same photos scrolled up and down instead, as a baseline for the machine's load.
    Its catalog and thumbnails (~130 MB at 10,000) are removed at the end."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="selfie-desk-ui-stall-map-"))
    os.environ["SELFIE_DESK_HOME"] = str(scratch / "home")
    try:
        return _map_stall(n, grid, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _map_stall(n: int, grid: bool, scratch: Path) -> int:
    import random

    from map_bench import fill
    from PIL import Image
    from PySide6.QtCore import QElapsedTimer, QPointF, QTimer

    from selfie_desk.core import paths
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage import thumbnails
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.ui.app import create_application
    from selfie_desk.ui.main_window import MainWindow

    folder = scratch / "shoot"
    folder.mkdir()
    catalog = Catalog(paths.catalog_path())
    fill(catalog, str(folder), n)
    rng = random.Random(0)
    photos = catalog.photos("default", folder=str(folder))
    for p in photos:  # a small thumbnail per photo in the cache, as a scan leaves them
        thumbnails.save(p.fingerprint, Image.new("RGB", (96, 64), tuple(rng.randrange(256) for _ in range(3))))
    app = create_application()
    window = MainWindow(catalog, Settings.load())
    window.resize(1440, 900)
    window.show()
    window.folder = folder  # what open_folder does, without its scan: these photos have no files
    window.session.open(str(folder))
    clock, gaps, phase = QElapsedTimer(), {"layout": [], "pan and zoom": []}, ["layout"]
    clock.start()
    t0 = time.perf_counter()
    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(lambda: gaps[phase[0]].append((clock.restart(), time.perf_counter() - t0)))
    ticker.start()
    view = window.map
    steps = []

    def interact() -> None:
        if time.perf_counter() - steps[0] > 10:
            app.quit()
            return
        if grid:
            bar = window.grid.verticalScrollBar()
            bar.setValue(bar.value() + rng.randint(-300, 600))
            steps.append(time.perf_counter())
            return
        at = QPointF(rng.uniform(0, view.width()), rng.uniform(0, view.height()))
        kind = rng.random()
        if kind < 0.4:
            view.zoom_by(1.25 ** rng.choice((-1, 1, 1)), at)
        elif kind < 0.8:
            view.pan_by(rng.uniform(-80, 80), rng.uniform(-80, 80))
        else:
            view.hovered, view.pointer = view.photo_at(at), at
            view.update()
        steps.append(time.perf_counter())

    def ready(outcome) -> None:
        laid = time.perf_counter() - t0
        if outcome is not None:
            print(f"map: {len(outcome.report.layout)} photos laid out ({outcome.report.how}) in "
                  f"{outcome.report.seconds:.1f} s on the map thread, shown {laid:.1f} s after asking", flush=True)
        phase[0] = "pan and zoom"
        steps.append(time.perf_counter())
        pump = QTimer(window)
        pump.setInterval(16)
        pump.timeout.connect(interact)
        pump.start()

    window.map_ready.connect(ready)
    if grid:
        phase[0] = "pan and zoom"
        QTimer.singleShot(2000, lambda: ready(None))
    else:
        QTimer.singleShot(0, window.show_map)
    QTimer.singleShot(180_000, app.quit)
    app.exec()
    window.shut_down()
    catalog.close()
    for name, found in gaps.items():
        worst = sorted(found)[-5:]
        print(f"{name}: {len(found)} ticks; longest UI gaps (ms @ s): "
              + ", ".join(f"{g} @ {t:.1f}" for g, t in reversed(worst)))
    what = "grid scroll" if grid else "pan and zoom"
    print(f"{what}: {len(steps) - 1} steps" + ("" if grid else f", {len(view.tiles)} tiles in the mosaic at the end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
