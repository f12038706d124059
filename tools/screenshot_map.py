"""A screenshot of the Map view for the README (docs/screenshots/map.png): a folder made of the demo photos and
variants of each (shifted, zoomed, blurred, darker, mirrored, black and white: what a burst or a retake looks
like to the convnet), scored on the CPU, then M, a pick and a reject, one photo under the pointer. The real
window under Xvfb, as tools/screenshots.py takes the others.

    .venv/bin/python tools/screenshot_map.py [FOLDER]   # default: the demo photos and their variants
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots" / "map.png"


def variants(folder: Path) -> Path:
    """The demo photos and six variants of each."""
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted((ROOT / "resources" / "demo").iterdir()):
        if src.suffix.lower() not in (".jpg", ".png"):
            continue
        im = Image.open(src).convert("RGB")
        im.thumbnail((480, 480))
        w, h = im.size
        made = {
            "": im,
            "-shifted": im.crop((w // 10, h // 12, w, h)).resize((w, h)),
            "-zoomed": im.crop((w // 6, h // 6, w - w // 6, h - h // 6)).resize((w, h)),
            "-soft": im.filter(ImageFilter.GaussianBlur(2.5)),
            "-dark": ImageEnhance.Brightness(im).enhance(0.55),
            "-mirrored": ImageOps.mirror(im),
            "-bw": ImageOps.grayscale(im).convert("RGB"),
        }
        for suffix, out in made.items():
            out.save(folder / f"{src.stem}{suffix}.jpg", quality=90)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    from screenshots import start_xvfb

    xvfb = start_xvfb(":97") if not os.environ.get("DISPLAY") else None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    tmp = Path(tempfile.mkdtemp(prefix="selfie-desk-mapshot-"))
    os.environ["SELFIE_DESK_HOME"] = str(tmp / "home")
    try:
        return take(args.folder or variants(tmp / "shoot"), args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


def take(folder: Path, out: Path) -> int:
    from PySide6.QtCore import QPointF
    from screenshots import open_window, shoot

    window, _catalog, wait = open_window()

    scanned, laid = [], []
    window.scan_finished.connect(scanned.append)
    window.map_ready.connect(laid.append)
    window.open_folder(folder)
    wait(900, lambda: bool(scanned))
    if not scanned or scanned[0].error:
        print("screenshot_map: scoring did not finish", file=sys.stderr)
        return 1
    window.show_map()
    wait(300, lambda: bool(laid))
    view = window.map
    wait(60, lambda: len(view.tiles) >= len(view.shown_ids))
    best = max(window.model.all_photos(), key=lambda p: p.score or 0)
    worst = min(window.model.all_photos(), key=lambda p: p.score if p.score is not None else 1)
    for photo, decision in ((best, "keep"), (worst, "reject")):
        window.selection.select_row(window.model.row_of(photo.id), scroll=False)  # what a click on the map does
        window.map_control.set_current(photo.id)
        window.set_decision(decision)
    wait(1.0)
    hover = view.shown_ids[len(view.shown_ids) // 3]
    rect = view.cell_rect(hover)
    view.hovered, view.pointer = hover, QPointF(rect.center())
    view.update()
    wait(1.0)
    out.parent.mkdir(parents=True, exist_ok=True)
    shoot(window, out, wait)
    print(f"screenshot_map: wrote {out} ({len(view.shown_ids)} photos on the map)")
    window.shut_down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
