"""A 50,000-photo catalog, and how the window and `groups` do on it (issue 31): every window action timed with
everything selected, the longest freeze of the window's thread while the folder opens and while it is grouped again
(what the end of a scan does), and the peak memory of the window and of `selfie-desk groups`.

    .venv/bin/python tools/big_catalog.py make /work/cache/big [--photos 50000] [--files]
    .venv/bin/python tools/big_catalog.py window /work/cache/big [--model]
    .venv/bin/python tools/big_catalog.py groups /work/cache/big

`make` writes SELFIE_DESK_HOME=DIR/home with a catalog of N scored photos under DIR/shoot: synthetic rows (the
window's timing needs no pixels): clustered embeddings (bursts of 1-12 frames, 2 s apart within a burst), a
signature each, the look's aspects and reasons, a face on every third photo (eyes and focus measured), scores from
the shipped head, then grouped as a scan leaves them. With --files each photo is a real tiny JPEG on disk whose
size, time and fingerprint the catalog holds, so `groups` finds every photo scored and unchanged and only groups
(no photo is decoded). `window` opens the window offscreen on the folder (as `open_folder` does, without its scan:
`--files` or not, no photo is read), selects everything (Ctrl+A) and times each action, key to repaint; `--model`
loads the convnet first, as a window that has scanned holds it. BIG_CATALOG_PROFILE=NAME profiles one action (its
name as printed; "open" for the open). Peak memory is this process's VmHWM. A benchmark,
not a test: docs/reliability.md has the figures, machine and load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    os.environ["SELFIE_DESK_HOME"] = str(base / "home")
    from selfie_desk.core import paths
    from selfie_desk.core.culling import groups
    from selfie_desk.core.formats.indexing import fingerprint
    from selfie_desk.core.measures.embedding import EMBEDDING_ID, FEATURE_DIM
    from selfie_desk.core.storage.catalog import Catalog, Result

    head_id = ""
    if args.files:  # scores as the shipped head makes them, so that `groups` finds nothing to score
        from selfie_desk.neural.model import load_head

        head_id = load_head()[1].id
    folder = base / "shoot"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = args.photos
    scenes = rng.normal(0, 1, (max(1, n // 6), FEATURE_DIM)).astype(np.float32)
    started = time.perf_counter()
    tiny = _tiny_jpeg() if args.files else b""
    catalog = Catalog(paths.catalog_path())
    t0, i, burst = 1_700_000_000.0, 0, 0
    with catalog.transaction():
        pass
    results: list[Result] = []
    while i < n:
        size = int(min(n - i, rng.choice([1, 1, 1, 2, 3, 5, 8, 12])))
        t0 += float(rng.uniform(30, 600))
        scene = scenes[burst % len(scenes)]
        for k in range(size):
            path = folder / f"IMG_{i:06d}.jpg"
            if args.files:
                data = tiny + i.to_bytes(4, "big")  # distinct content: distinct fingerprints
                path.write_bytes(data)
                st = path.stat()
                pid = catalog.add_file(str(path), st.st_size, st.st_mtime_ns, fingerprint(path, st.st_size))
            else:
                pid = catalog.add_file(str(path), 1000 + i, 1, f"{i:040d}")
            vec = (np.abs(scene) + rng.normal(0, 0.05, FEATURE_DIM)).astype(np.float32)
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + 2 * k))
            faces = []
            checks = []
            if i % 3 == 0:
                faces = [((100.0, 80.0, 220.0, 230.0), 0.98, [(130.0, 130.0), (190.0, 130.0), (160.0, 160.0),
                                                             (135.0, 195.0), (185.0, 195.0)])]
                checks = [("closed" if i % 17 == 0 else "open", float(rng.uniform(0.2, 1.0)))]
            look = {"aspects": {"sharpness": float(rng.random()), "noise": float(rng.random()),
                                "exposure": float(rng.random()), "framing": float(rng.random())},
                    "reasons": ["slightly soft focus"] if i % 7 == 0 else []}
            results.append(Result(pid, 4000, 3000, captured_at=when, score=float(rng.random()), embedding=vec,
                                  embedding_id=EMBEDDING_ID, faces=faces, face_checks=checks, look=look,
                                  signature=rng.integers(0, 255, (48, 64), dtype=np.uint8)))
            i += 1
        burst += 1
        if len(results) >= 2000:
            catalog.record(results, "default", head_id)
            results = []
    if results:
        catalog.record(results, "default", head_id)
    ids = [p.id for p in catalog.photos("default", folder=str(folder))]
    made = time.perf_counter() - started
    grouped = groups.regroup(catalog, ids)
    catalog.close()
    print(f"{n} photos in {base} ({'with' if args.files else 'without'} files) in {made:.0f} s; "
          f"{sum(len(g.ids) > 1 for g in grouped)} groups of two or more")
    return 0


def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (120, 130, 140)).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def window(args: argparse.Namespace) -> int:
    base = Path(args.dir).resolve()
    os.environ["SELFIE_DESK_HOME"] = str(base / "home")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest

    from selfie_desk.core import paths
    from selfie_desk.core.formats.indexing import canonical
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.ui.app import create_application
    from selfie_desk.ui.main_window import MainWindow

    if args.model:  # what a window that scanned holds: the scorer the scan's worker makes (ONNX Runtime on a CPU)
        from selfie_desk.neural.runtime import make_scorer

        scorer = make_scorer("default", "cpu", args.runtime)
        print(f"convnet: {scorer.label}")
    folder = canonical(base / "shoot")
    app = create_application()
    settings = Settings.load()
    settings.stack_groups = True  # as a user has it by default
    catalog = Catalog(paths.catalog_path())
    win = MainWindow(catalog, settings)
    win.resize(1440, 900)
    win.show()
    figures: dict[str, float] = {}
    import gc
    import threading

    phase = ["start"]
    rss_peaks: dict[str, float] = {}

    def sample() -> None:  # the resident memory every 0.1 s, its peak per phase (open, actions, regroup)
        while phase[0] != "done":
            now = current_mb()
            rss_peaks[phase[0]] = max(rss_peaks.get(phase[0], 0.0), now)
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()

    collections: list[tuple[int, float]] = []  # (generation, seconds) of the cyclic collector's passes
    started_gc: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started_gc.append(time.perf_counter())
        elif started_gc:
            collections.append((info["generation"], time.perf_counter() - started_gc.pop()))

    gc.callbacks.append(on_gc)

    def settle() -> None:
        for _ in range(3):
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        win.grid.viewport().repaint()

    cpu: dict[str, float] = {}
    in_gc: dict[str, float] = {}
    profile = os.environ.get("BIG_CATALOG_PROFILE")  # an action's name: print where its time goes

    def timed(name: str, action) -> None:
        if profile == name:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
        if os.environ.get("BIG_CATALOG_GC"):
            print(f"{name}: {len(gc.get_objects())} objects in the collector's sight, {gc.get_freeze_count()} frozen",
                  flush=True)
        t, c, k = time.perf_counter(), time.thread_time(), len(collections)
        action()
        settle()
        figures[name] = time.perf_counter() - t
        cpu[name] = time.thread_time() - c
        in_gc[name] = sum(sec for _, sec in collections[k:])
        if profile == name:
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)

    def grouped_wait() -> None:
        got: list[object] = []
        win.grouped.connect(got.append)
        deadline = time.perf_counter() + 600
        while not got and time.perf_counter() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        win.grouped.disconnect(got.append)

    # open_folder without its scan (the files need not exist): the catalog's photos, the stored groups ranked
    phase[0] = "open"
    win.folder = folder
    clock, gaps = QElapsedTimer(), []  # the window's thread: the longest gap between 5 ms ticks is its freeze
    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(lambda: gaps.append(clock.restart()))
    if profile == "open":
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    clock.start()
    ticker.start()
    t = time.perf_counter()
    win.session.open(str(folder))  # the catalog's photos into the rows, the folder's undo history
    win.groups.rank_stored()
    grouped_wait()
    win.selection.select_first()
    settle()
    figures["open (catalog read, stored groups ranked)"] = time.perf_counter() - t
    gaps.append(clock.elapsed())
    ticker.stop()
    figures["open: longest window freeze"] = max(gaps, default=0) / 1000
    if profile == "open":
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    grid = win.grid
    grid.setFocus()
    phase[0] = "actions"
    timed("Ctrl+A", lambda: QTest.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier))
    selected = len(grid.selectionModel().selectedRows())
    for sort in ("date", "name", "score"):
        timed(f"sort by {sort}", lambda sort=sort: win.filters.set_sort(sort))
    timed("F5", lambda: QTest.keyClick(grid, Qt.Key.Key_F5))
    timed("3 stars on all", lambda: QTest.keyClick(grid, Qt.Key.Key_3))
    timed("Ctrl+Z", lambda: QTest.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier))
    timed("Ctrl+Shift+Z", lambda: QTest.keyClick(
        grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
    timed("P (pick all)", lambda: QTest.keyClick(grid, Qt.Key.Key_P))
    timed("Ctrl+Z (the pick)", lambda: QTest.keyClick(grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier))
    still = len(grid.selectionModel().selectedRows())
    # the regroup at the end of a scan: grouping on its thread, then the window takes the new groups
    gaps.clear()
    clock.start()
    ticker.start()
    phase[0] = "regroup"
    t = time.perf_counter()
    win.regroup()
    grouped_wait()
    settle()
    ticker.stop()
    figures["regroup (wall, on its thread)"] = time.perf_counter() - t
    figures["regroup: longest window freeze"] = max(gaps, default=0) / 1000
    phase[0] = "done"
    ratings = {p.rating for p in win.model.all_photos()}
    n = len(win.model.all_photos())
    win.shut_down()
    catalog.close()
    print(f"{n} photos, {selected} selected ({still} after the edits); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores; convnet loaded: {'yes' if args.model else 'no'}")
    print(f"  {'action (key to repaint)':<42} {'wall':>7} {'UI thread CPU':>14} {'in gc':>8}")
    for name, seconds in figures.items():
        print(f"  {name:<42} {seconds:7.2f} s" + (f" {cpu[name]:12.2f} s {in_gc[name]:6.2f} s" if name in cpu else ""))
    print(f"  ratings after undo/redo/undo: {sorted(ratings)}")
    slow = sorted(collections, key=lambda c: -c[1])[:5]
    print(f"  garbage collections: {len(collections)}, of the oldest generation {sum(g == 2 for g, _ in collections)}; "
          "longest " + ", ".join(f"{sec:.2f} s (gen {g})" for g, sec in slow))
    print(f"  peak memory (VmHWM) {peak_mb():.0f} MB, now {current_mb():.0f} MB; resident peaks: "
          + ", ".join(f"{k} {v:.0f} MB" for k, v in rss_peaks.items()))
    print(json.dumps({"figures": figures, "cpu": cpu, "peak_mb": peak_mb()}))
    return 0


def groups_cli(args: argparse.Namespace) -> int:
    """`selfie-desk groups DIR/shoot --json` in a fresh process: its wall time and peak memory."""
    base = Path(args.dir).resolve()
    env = {**os.environ, "SELFIE_DESK_HOME": str(base / "home"), "OMP_NUM_THREADS": "1"}
    code = ("import resource, runpy, sys\n"
            "sys.argv = ['selfie-desk', 'groups', sys.argv[1], '--json', '--device', 'cpu']\n"
            "try:\n    runpy.run_module('selfie_desk', run_name='__main__')\n"
            "except SystemExit as e:\n    status = e.code\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print(f'PEAK {int(hwm) // 1024} MB status {status}', file=sys.stderr)\n")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(base / "shoot")], capture_output=True, text=True,
                          env=env)
    wall = time.perf_counter() - t
    groups_out = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    tail = [line for line in done.stderr.splitlines() if line.strip()][-3:]
    print(f"groups: {len(groups_out)} groups, {sum(len(g['members']) for g in groups_out)} photos, "
          f"{wall:.1f} s wall; load average {os.getloadavg()[0]:.1f}")
    print("\n".join(tail))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--photos", type=int, default=50_000)
    m.add_argument("--files", action="store_true")
    w = sub.add_parser("window")
    w.add_argument("dir")
    w.add_argument("--model", action="store_true")
    w.add_argument("--runtime", choices=("onnx", "torch"), default=None,
                   help="the convnet's runtime with --model (default: the app's choice, ONNX Runtime on a CPU)")
    g = sub.add_parser("groups")
    g.add_argument("dir")
    args = parser.parse_args()
    return {"make": make, "window": window, "groups": groups_cli}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
