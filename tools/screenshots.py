"""Screenshots of the real window for the README: the grid, the loupe, the crop overlay, compare, the
shortcuts overlay, the export's review of unreviewed crops and the light theme, in docs/screenshots/.

    .venv/bin/python tools/screenshots.py [FOLDER]     # default: the bundled demo photos

Without a DISPLAY it starts Xvfb itself (Debian: apt-get install xvfb imagemagick libxcb-cursor0
libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0) and runs Qt on xcb,
so the pictures are what an X server shows. The app's files go to a temporary SELFIE_DESK_HOME: your
catalog and settings are never touched. Run it again whenever the window changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SIZE = (1440, 900)


def start_xvfb(display: str = ":99") -> subprocess.Popen:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        sys.exit("screenshots: no DISPLAY and no Xvfb (apt-get install xvfb)")
    proc = subprocess.Popen([xvfb, display, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path("/tmp/.X11-unix") / f"X{display.lstrip(':')}"
    for _ in range(100):
        if socket.exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = display
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="photos to show (default: the bundled demo photos)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    xvfb = start_xvfb() if not os.environ.get("DISPLAY") else None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    home = tempfile.mkdtemp(prefix="selfie-desk-shots-")
    os.environ["SELFIE_DESK_HOME"] = home
    try:
        return take(args.folder, args.out)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


def open_window():
    """The real main window at SIZE on the app's catalog, shown; with `wait(seconds, until)`, which runs Qt's
    events until `until()` holds or the time is up. (window, catalog, wait)"""
    from PySide6.QtCore import QEventLoop

    from selfie_desk.core import paths
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.ui.app import create_application
    from selfie_desk.ui.main_window import MainWindow

    app = create_application()
    catalog = Catalog(paths.catalog_path())
    window = MainWindow(catalog, Settings.load())
    window.resize(*SIZE)
    window.move(0, 0)
    window.show()

    def wait(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    return window, catalog, wait


def take(folder: Path | None, out: Path) -> int:
    from PySide6.QtCore import QItemSelection, QItemSelectionModel, QTimer

    from selfie_desk.core import paths

    folder = folder or paths.demo_photos_dir()
    window, catalog, wait = open_window()

    outcome, grouped = [], []
    window.scan_finished.connect(outcome.append)
    window.grouped.connect(lambda o: grouped.append(o) if o.regrouped else None)
    window.open_folder(folder)
    wait(300, lambda: bool(outcome))
    # the grouping after the scan brings the photos as it read them: flag them once it is in, or it shows them
    # unflagged again (the catalog keeps the flags either way)
    wait(60, lambda: bool(grouped))
    if not outcome or outcome[0].error:
        print(f"screenshots: scoring did not finish: {outcome[0].error if outcome else 'timed out'}", file=sys.stderr)
        return 1
    photos = window.model.photos()
    wait(20, lambda: all(window.thumbs.get(p) is not None for p in photos[:24]))

    # a little culling, so the grid shows what flags and stars look like
    window.selection.select_row(0)
    window.set_decision("keep")
    window.set_rating(4)
    window.selection.select_row(len(photos) - 1)
    window.set_decision("reject")
    window.selection.select_row(0)
    wait(0.5)
    out.mkdir(parents=True, exist_ok=True)
    shoot(window, out / "grid.png", wait)

    # the keyboard shortcuts overlay (F1, ?), read from the menus' actions
    window.show_shortcuts()
    wait(0.5)
    shoot(window, out / "shortcuts.png", wait)
    window.shortcut_overlay.close_overlay()

    with_faces = next((p for p in photos if p.faces), photos[0])
    window.selection.select_row(window.model.row_of(with_faces.id))
    window.faces_action.setChecked(True)
    window.show_loupe()
    wait(20, lambda: window.loupe.pane.shown_edge > 0)
    wait(0.5)
    shoot(window, out / "loupe.png", wait)

    # why: the photo the score says most about (the most reasons), with H's map of what the convnet looked at
    window.faces_action.setChecked(False)
    worst = max(photos, key=lambda p: (len(p.reasons), -(p.score or 0)))
    window.show_grid()
    window.selection.select_row(window.model.row_of(worst.id))
    window.show_loupe()
    wait(20, lambda: window.loupe.pane.shown_edge > 0)
    window.attention.action.setChecked(True)
    wait(60, lambda: window.loupe.canvas.attention is not None)
    wait(0.5)
    shoot(window, out / "why.png", wait)
    window.attention.action.setChecked(False)
    window.show_grid()

    # crops proposed for the whole folder in the background, then one photo large with its crop overlay
    proposed = []
    window.crop.batch_finished.connect(proposed.append)
    window.propose_crops(folder=True)
    wait(300, lambda: bool(proposed))
    photos = window.model.photos()
    # a portrait if there is one (face-aware cropping is the point), the one its best crop improves most
    keeper = max([p for p in photos if p.faces] or photos, key=lambda p: (p.best_crop_score or 0.0) - (p.score or 0.0))
    window.selection.select_row(window.model.row_of(keeper.id))
    window.show_loupe()
    wait(20, lambda: window.loupe.pane.shown_edge > 0)

    # the crop overlay (C in the loupe): the proposal, the outside darkened, thirds, handles and its score
    shown = []
    window.crop.proposal_shown.connect(shown.append)
    window.crop.request_crop()
    wait(120, lambda: bool(shown))
    crop = window.crop
    for _ in range(len(crop.candidates)):  # show a box that really crops (the best may be the whole photo)
        x0, y0, x1, y1 = crop.box
        if (x1 - x0) * (y1 - y0) < 0.97 * keeper.width * keeper.height:
            break
        crop.cycle()
    wait(0.5)
    shoot(window, out / "crop.png", wait)
    window.crop.accept()
    window.show_grid()

    # the grid sorted by "best after crop", the accepted crop dimmed on its thumbnail
    window.set_sort("crop")
    window.selection.select_row(window.model.row_of(keeper.id))
    wait(0.5)
    shoot(window, out / "crop-grid.png", wait)
    window.set_sort("score")

    # Export: cutting crops nobody accepted is a second choice, which first shows each photo it would crop
    window.grid.selectAll()
    dialog = window.show_export()
    dialog.selection.setChecked(True)
    dialog.apply_crop.setChecked(True)
    dialog.apply_proposals.setChecked(True)
    wait(1.0)
    if dialog.review is not None:
        dialog.review.move(window.x() + 200, window.y() + 120)
        wait(0.5)
        shoot(dialog.review, out / "export-review.png", wait)
        dialog.review.reject()
    dialog.reject()
    window.selection.select_row(0)

    # compare: the cropped keeper (its accepted crop shown as in the loupe) beside the two best others
    photos = window.model.photos()
    chosen = [keeper.id] + [p.id for p in photos if p.id != keeper.id][:2]
    selection = QItemSelection()
    for photo_id in chosen:
        index = window.model.index(window.model.row_of(photo_id))
        selection.select(index, index)
    window.grid.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    window.show_compare()
    wait(20, lambda: all(p.shown_edge > 0 for p in window.compare.panes[: len(window.compare.photos())]))
    wait(0.5)
    shoot(window, out / "compare.png", wait)

    # the light theme (Preferences), for those who want it; dark is the default
    window.show_grid()
    from selfie_desk.ui import theme

    theme.apply("light")
    window.messages.restyle()
    window.grid.relayout()
    wait(0.8)
    shoot(window, out / "grid-light.png", wait)
    theme.apply("dark")
    window.messages.restyle()
    window.grid.relayout()

    # groups of one moment: a burst made from the astronaut (a little shake, one frame blurred) beside the demo
    # photos, stacked; then expanded (G) with its frames ranked in the side panel, and compared on the face
    shoot_groups(window, Path(os.environ["SELFIE_DESK_HOME"]) / "shoot", folder, out, wait)

    QTimer.singleShot(0, window.close)
    wait(1)
    window.shut_down()
    catalog.close()
    print(f"screenshots: wrote grid.png, shortcuts.png, loupe.png, why.png, crop.png, crop-grid.png, "
          f"export-review.png, compare.png, grid-light.png, groups.png, groups-expanded.png, group-compare.png "
          f"to {out}")
    return 0


def write_burst(shoot_dir: Path, demo: Path) -> None:
    """Four frames of the astronaut 0.3 s apart (EXIF times), the third blurred, and the demo photos a minute on."""
    from datetime import datetime, timedelta

    from PIL import Image, ImageFilter

    shoot_dir.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 5, 1, 10, 0, 0)

    def exif(when):
        e = Image.Exif()
        ifd = e.get_ifd(0x8769)
        ifd[0x9003], ifd[0x9291] = when.strftime("%Y:%m:%d %H:%M:%S"), f"{when.microsecond // 1000:03d}"
        return e

    base = Image.open(demo / "astronaut.png").convert("RGB")
    for i in range(4):
        frame = base.rotate(0.4 * i, translate=(i, -i))
        if i == 2:
            frame = frame.filter(ImageFilter.GaussianBlur(2.5))
        frame.save(shoot_dir / f"burst{i}.jpg", quality=92, exif=exif(start + timedelta(seconds=0.3 * i)))
    for n, name in enumerate(("rocket.jpg", "chelsea.png", "coffee.png", "china.jpg")):
        if (demo / name).exists():
            Image.open(demo / name).convert("RGB").save(shoot_dir / f"{Path(name).stem}.jpg",
                                                        exif=exif(start + timedelta(minutes=1 + n)))


def shoot_groups(window, shoot_dir: Path, demo: Path, out: Path, wait) -> None:
    write_burst(shoot_dir, demo)
    grouped = []
    window.grouped.connect(lambda outcome: grouped.append(outcome) if outcome.regrouped else None)
    window.open_folder(shoot_dir)
    wait(300, lambda: bool(grouped))
    photos = window.model.photos()
    wait(20, lambda: all(window.thumbs.get(p) is not None for p in photos))
    stack = next((p for p in photos if window.model.stack(p.id).count > 1), None)
    if stack is None:
        print("screenshots: the burst was not grouped; no group screenshots", file=sys.stderr)
        return
    window.models_dock.hide()  # the side panel's whole height, for the group's list
    window.selection.select_row(window.model.row_of(stack.id))
    wait(0.5)
    shoot(window, out / "groups.png", wait)
    window.toggle_group()
    window.selection.select_row(window.model.row_of(stack.id))
    wait(20, lambda: all(window.thumbs.get(p) is not None for p in window.model.photos()))
    wait(0.5)
    shoot(window, out / "groups-expanded.png", wait)
    window.compare_group()
    wait(20, lambda: all(p.shown_edge > 0 for p in window.compare.panes[: len(window.compare.photos())]))
    wait(1.0)
    shoot(window, out / "group-compare.png", wait)
    window.show_grid()
    window.models_dock.show()


def shoot(window, path: Path, wait) -> None:
    """What the X server shows in the window (ImageMagick's import), or Qt's own rendering without it."""
    window.raise_()
    wait(0.3)
    importer = shutil.which("import")
    if importer and os.environ.get("QT_QPA_PLATFORM") == "xcb":
        done = subprocess.run([importer, "-window", str(int(window.winId())), str(path)], capture_output=True)
        if done.returncode == 0:
            return
    window.grab().save(str(path))


if __name__ == "__main__":
    sys.exit(main())
