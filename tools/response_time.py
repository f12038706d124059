"""How fast a keystroke shows (issue 16): a flag, a star, a bulk rating of the whole folder and its undo,
from the key press to the grid repainted, on a scored folder of N photos (default 500).

    .venv/bin/python tools/response_time.py [--photos 500]

Offscreen, in a temporary SELFIE_DESK_HOME. The catalog is written directly (scores as scoring leaves them),
so only the window's own work is timed: the catalog write with its undo record, the model update and the
repaint. A benchmark, not a test (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["SELFIE_DESK_HOME"] = tempfile.mkdtemp(prefix="response-home-")
    folder = Path(tempfile.mkdtemp(prefix="response-photos-")) / "shoot"
    folder.mkdir()

    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtTest import QTest

    from selfie_desk.core import paths
    from selfie_desk.core.formats.indexing import canonical, fingerprint
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage.catalog import Catalog, Result
    from selfie_desk.ui.app import create_application
    from selfie_desk.ui.main_window import MainWindow

    rng = np.random.default_rng(0)
    folder = canonical(folder)
    with Catalog(paths.catalog_path()) as catalog:
        for i in range(args.photos):
            path = folder / f"IMG_{i:04d}.jpg"
            Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(path, quality=80)
            st = path.stat()
            pid = catalog.add_file(str(path), st.st_size, st.st_mtime_ns, fingerprint(str(path), st.st_size))
            catalog.record([Result(pid, width=160, height=120, score=float(rng.uniform()))], "default")

    app = create_application()
    window = MainWindow(Catalog(paths.catalog_path()), Settings.load())
    window.resize(1440, 900)
    window.show()
    done = []
    window.scan_finished.connect(done.append)
    window.open_folder(folder)
    while not done:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    window.activateWindow()
    for _ in range(20):
        app.processEvents()
    grid = window.grid
    grid.setFocus()

    def timed(key, modifiers=Qt.KeyboardModifier.NoModifier) -> float:
        t = time.perf_counter()
        QTest.keyClick(grid, key, modifiers)
        grid.viewport().repaint()
        return (time.perf_counter() - t) * 1000

    flags, stars = [], []
    for row in range(20):
        window.selection.select_row(row)
        app.processEvents()
        flags.append(timed(Qt.Key.Key_P if row % 2 else Qt.Key.Key_X))
        stars.append(timed(Qt.Key.Key_3))
    undo_one = timed(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    select_all = timed(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    bulk = timed(Qt.Key.Key_1)
    undo_bulk = timed(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    redo_bulk = timed(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert {p.rating for p in window.model.all_photos()} == {1}, "the bulk rating did not apply"
    window.shut_down()
    print(f"{args.photos} photos, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          "key press to grid repainted, ms:")
    print(f"  flag (P/X): median {statistics.median(flags):.0f}, worst {max(flags):.0f}")
    print(f"  star (3):   median {statistics.median(stars):.0f}, worst {max(stars):.0f}")
    print(f"  undo one:   {undo_one:.0f}")
    print(f"  Ctrl+A:     {select_all:.0f}; then 1 star on all {args.photos}: {bulk:.0f}; "
          f"undo it: {undo_bulk:.0f}; redo: {redo_bulk:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
