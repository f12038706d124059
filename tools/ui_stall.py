"""How long the UI thread stalls while a folder scores, in a FRESH process (torch not yet imported).

    .venv/bin/python tools/ui_stall.py            # as `selfie-desk` starts: torch preloaded behind the splash
    .venv/bin/python tools/ui_stall.py --lazy     # without the preload: torch imported on the scoring thread

Opens the window offscreen on a copy of the demo photos, ticks a 5 ms timer on the UI thread and prints
the five longest gaps between ticks (ms, and seconds since start) until the scan ends. A benchmark, not a
test: the figures depend on the machine and its load (docs/benchmarks.md).
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
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lazy", action="store_true", help="do not preload torch before the window shows")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp()
    folder = Path(tempfile.mkdtemp()) / "demo"
    shutil.copytree(ROOT / "resources" / "demo", folder)

    t0 = time.perf_counter()
    from PySide6.QtCore import QElapsedTimer, QTimer

    from selfie_desk.core import paths
    from selfie_desk.core.catalog import Catalog
    from selfie_desk.core.settings import Settings
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


if __name__ == "__main__":
    sys.exit(main())
