"""Screenshots of one-click crops in the real window: each photo of a folder in the loupe with its proposed crop
(C), as a person sees it, into docs/screenshots/crops/ (JPEG, ~100 KB each).

    .venv/bin/python tools/crop_screenshots.py FOLDER [--aspect free] [--photos 10] [--out docs/screenshots/crops]

Runs the window on Xvfb like tools/screenshots.py (the app's files in a temporary SELFIE_DESK_HOME). With
--truth FILE (JSON: file name -> [x0, y0, x1, y1]) it also writes, for looking at, each photo with the proposal
(orange) and the crop people drew (cyan) side by side with the window's shot in FOLDER/../compare (not into docs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import ROOT, open_window, shoot, start_xvfb  # noqa: E402

OUT = ROOT / "docs" / "screenshots" / "crops"


def as_jpeg(png: Path, jpeg: Path, width: int = 1100, budget: int = 150_000) -> None:
    """The window's shot, reduced, as a JPEG under `budget` bytes."""
    im = Image.open(png).convert("RGB")
    im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    for quality in (85, 78, 70, 62, 55):
        im.save(jpeg, "JPEG", quality=quality, optimize=True)
        if jpeg.stat().st_size <= budget:
            break


def take(folder: Path, out: Path, aspect: str, n: int, truth: dict) -> int:
    from PySide6.QtCore import QTimer

    window, catalog, wait = open_window()
    done = []
    window.scan_finished.connect(done.append)
    window.open_folder(folder)
    wait(600, lambda: bool(done))
    if not done or done[0].error:
        print("crop_screenshots: scoring did not finish", file=sys.stderr)
        return 1
    window.crop.set_aspect(aspect)
    photos = sorted(window.model.photos(), key=lambda p: Path(p.path).name)[:n]
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="crop-shots-"))
    rows = []
    for k, p in enumerate(photos, 1):
        window.show_grid()
        window._select_row(window.model.row_of(p.id))
        window.show_loupe()
        wait(20, lambda: window.loupe.pane._shown_edge > 0)
        shown: list = []
        window.crop.proposal_shown.connect(shown.append)
        window.crop.request_crop()
        wait(120, lambda shown=shown: bool(shown))
        window.crop.proposal_shown.disconnect(shown.append)
        wait(0.5)
        png = tmp / f"{k:02d}.png"
        shoot(window, png, wait)
        name = Path(p.path).stem
        as_jpeg(png, out / f"{k:02d}-{name}.jpg")
        prop = window.crop.proposal
        rows.append({"photo": Path(p.path).name, "crop": list(prop.crop) if prop else None,
                     "whole": [0, 0, p.width, p.height], "label": window.crop.describe()})
        print(f"  {k:2d} {Path(p.path).name}: {rows[-1]['label']}", flush=True)
        window.crop.discard()
        if truth and Path(p.path).name in truth and prop is not None:
            compare(Path(p.path), prop.crop, truth[Path(p.path).name], folder.parent / "compare" / f"{k:02d}.jpg")
    (out / "crops.json").write_text(json.dumps(rows, indent=1) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    QTimer.singleShot(0, window.close)
    wait(1)
    window.shut_down()
    catalog.close()
    return 0


def compare(path: Path, proposal, truth, target: Path) -> None:
    """The photo with the proposal (orange) and people's crop (cyan), for looking at."""
    im = Image.open(path).convert("RGB")
    scale = 640 / max(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)))
    draw = ImageDraw.Draw(im)
    draw.rectangle([v * scale for v in truth], outline=(0, 220, 255), width=3)
    draw.rectangle([v * scale for v in proposal], outline=(255, 140, 0), width=3)
    target.parent.mkdir(parents=True, exist_ok=True)
    im.save(target, quality=85)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--aspect", default="free")
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--truth", type=Path, help="JSON: file name -> the crop people drew [x0, y0, x1, y1]")
    args = parser.parse_args()
    truth = json.loads(args.truth.read_text()) if args.truth else {}
    xvfb = start_xvfb() if not os.environ.get("DISPLAY") else None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    home = tempfile.mkdtemp(prefix="selfie-desk-crop-shots-")
    os.environ["SELFIE_DESK_HOME"] = home
    try:
        return take(args.folder, args.out, args.aspect, args.photos, truth)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


if __name__ == "__main__":
    sys.exit(main())
