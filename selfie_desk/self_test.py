"""`selfie-desk --self-test`: does this installation work? Scores and crops the bundled demo photos, headless.

Meant for the frozen bundle (CI runs it on the PyInstaller build; a user can run it after installing): it
goes through the same code as the app (index, decode, score and faces into a SQLite catalog, then the crop
search), so a missing model file, a torch extension PyInstaller left out, or a broken decoder shows up here
as a named failure. It needs no display and never imports Qt. Every file it writes goes to a temporary
SELFIE_DESK_HOME that is deleted at the end; the user's catalog, settings and cache are not touched.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

CROP_ASPECT = "original"
CROP_TOP = 2
FACE_PHOTO = "astronaut.png"  # a portrait: one face, found with confidence ~1
MIN_FACE_CONFIDENCE = 0.8
ASPECT_TOLERANCE = 0.02  # crops are whole pixels, so their ratio is the photo's to within rounding
MIN_SPREAD = 0.05  # the demo photos' scores span ~0.27-0.76; a broken model gives one value for all


@dataclass
class Report:
    """What the self-test found: a line per photo, and every problem by name."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok


def run(out: TextIO | None = None, device: str = "auto", runtime: str | None = None) -> int:
    """Run every check; print a summary to `out` (stdout). 0 when all pass, 1 (with what failed) otherwise."""
    out = out or sys.stdout
    from selfie_desk.core import paths

    start = time.perf_counter()
    previous = os.environ.get(paths.HOME_ENV)
    tmp = Path(tempfile.mkdtemp(prefix="selfie-desk-self-test-"))
    os.environ[paths.HOME_ENV] = str(tmp / "home")
    report = Report()
    try:
        _checks(report, tmp, device, runtime)
    except Exception as exc:  # a self-test names what broke instead of dying with a traceback
        report.problems.append(f"unexpected error: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
    finally:
        if previous is None:
            os.environ.pop(paths.HOME_ENV, None)
        else:
            os.environ[paths.HOME_ENV] = previous
        shutil.rmtree(tmp, ignore_errors=True)

    for line in report.lines:
        print(line, file=out)
    elapsed = time.perf_counter() - start
    if report.problems:
        print(f"\nself-test FAILED ({len(report.problems)} problem(s), {elapsed:.1f} s):", file=out)
        for problem in report.problems:
            print(f"  - {problem}", file=out)
        return 1
    print(f"\nself-test passed in {elapsed:.1f} s", file=out)
    return 0


def _timed(report: Report, label: str, fn: Callable):
    t = time.perf_counter()
    value = fn()
    report.lines.append(f"{label}: {time.perf_counter() - t:.1f} s")
    return value


def _checks(report: Report, tmp: Path, device: str, runtime: str | None = None) -> None:
    import numpy as np
    from PIL import Image

    from selfie_desk import __version__
    from selfie_desk.core import paths
    from selfie_desk.core.crop.geometry import cuts_a_face
    from selfie_desk.core.formats import decoding
    from selfie_desk.core.measures import degrade
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.core.weights import ModelMissingError
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.crop_search import CropSearch
    from selfie_desk.neural.runtime import make_scorer

    frozen = paths.frozen_root()
    where = f"frozen bundle {frozen}" if frozen else "source"
    report.lines.append(f"Selfie Desk {__version__} self-test ({where})")
    report.lines.append(f"models: {paths.bundled_models_dir()}")
    demo_dir = paths.demo_photos_dir()
    report.lines.append(f"demo photos: {demo_dir}")
    demo = sorted(p for p in demo_dir.glob("*") if decoding.is_photo(p)) if demo_dir.is_dir() else []
    if not report.check(len(demo) >= 2, f"expected the bundled demo photos in {demo_dir}, found {len(demo)}"):
        return

    try:
        scorer = _timed(report, "load models", lambda: make_scorer("default", device, runtime))
    except (ModelMissingError, RuntimeError, OSError) as exc:
        report.check(False, f"the models did not load: {exc}")
        return
    report.lines.append(f"device: {scorer.label}")

    # A blurred copy of each demo photo: the score head was trained to rank exactly this lower.
    blurred_dir = tmp / "blurred"
    blurred_dir.mkdir()
    blurred = {}
    for path in demo:
        with Image.open(path) as im:
            copy = degrade.degrade("blur", im, np.random.default_rng(0))
        blurred[path.name] = blurred_dir / f"{path.stem}-blurred.png"
        copy.save(blurred[path.name])

    with Catalog(paths.catalog_path()) as catalog:
        _timed(report, f"score {len(demo) + len(blurred)} photos",
               lambda: pipeline.score([demo_dir, blurred_dir], catalog, scorer))
        photos = catalog.photos(scorer.model_name, folder=str(demo_dir.resolve()))
        photos += catalog.photos(scorer.model_name, folder=str(blurred_dir.resolve()))
    by_name = {Path(p.path).name: p for p in photos}
    _check_raw(report, tmp, demo_dir / FACE_PHOTO, scorer)

    # every photo scored, each score a probability, and not all the same
    scores: dict[str, float] = {}
    for name in [p.name for p in demo] + [b.name for b in blurred.values()]:
        photo = by_name.get(name)
        if not report.check(photo is not None, f"{name}: not in the catalog after scoring"):
            continue
        if not report.check(photo.error is None and photo.score is not None,
                            f"{name}: not scored ({photo.error or 'no score'})"):
            continue
        if report.check(math.isfinite(photo.score) and 0.0 <= photo.score <= 1.0,
                        f"{name}: score {photo.score} is outside [0, 1]"):
            scores[name] = photo.score
    originals = [scores[p.name] for p in demo if p.name in scores]
    if originals:
        report.check(max(originals) - min(originals) >= MIN_SPREAD,
                     f"the demo photos' scores barely differ ({min(originals):.3f}-{max(originals):.3f}): "
                     "the model is not telling photos apart")
    for path in demo:
        a, b = scores.get(path.name), scores.get(blurred[path.name].name)
        if a is not None and b is not None:
            report.check(b < a, f"{path.name}: its blurred copy scores {b:.3f}, not below the original's {a:.3f}")

    # faces on the portrait
    portrait = by_name.get(FACE_PHOTO)
    faces = []
    if report.check(portrait is not None, f"{FACE_PHOTO} is not among the demo photos"):
        faces = [f for f in portrait.faces if f.confidence >= MIN_FACE_CONFIDENCE]
        report.check(len(faces) >= 1, f"{FACE_PHOTO}: no face found (detections: "
                                      f"{[round(f.confidence, 3) for f in portrait.faces]})")
        for f in faces:
            x0, y0, x1, y1 = f.box
            report.check(0 <= x0 < x1 <= portrait.width and 0 <= y0 < y1 <= portrait.height,
                         f"{FACE_PHOTO}: face box {f.box} is outside the photo")

    # the crop search on every demo photo
    search = CropSearch(scorer)
    report.lines.append("")
    report.lines.append(f"{'photo':<15} {'score':>5} {'blur':>5} {'faces':>5}  {'crop (' + CROP_ASPECT + ')':<24} "
                        f"{'crop':>5}  time")
    for path in demo:
        t = time.perf_counter()
        try:
            result = search.search_path(path, CROP_ASPECT, CROP_TOP)
        except Exception as exc:
            report.check(False, f"{path.name}: the crop search failed: {type(exc).__name__}: {exc}")
            continue
        took = time.perf_counter() - t
        _check_crop(report, path.name, result, CROP_TOP)
        if path.name == FACE_PHOTO and faces:
            report.check(not cuts_a_face(result.best.box, [f.box for f in faces]),
                         f"{FACE_PHOTO}: the best crop {result.best.box} cuts the face")
        photo = by_name.get(path.name)
        score = scores.get(path.name)
        blur_score = scores.get(blurred[path.name].name)
        box = ",".join(str(int(v)) for v in result.best.box)
        report.lines.append(
            f"{path.name:<15} {_fmt(score)} {_fmt(blur_score)} {len(photo.faces) if photo else '-':>5}  "
            f"{box:<24} {_fmt(result.best.score)}  {took:.1f} s")


def _check_raw(report: Report, tmp: Path, portrait: Path, scorer) -> None:
    """LibRaw is there and reads a raw: a DNG of the portrait (a Bayer mosaic, the portrait as its embedded JPEG
    preview) is scored from its preview with its face found, and a DNG without a preview is demosaiced."""
    import io

    from PIL import Image

    from selfie_desk.core import paths
    from selfie_desk.core.formats import raw
    from selfie_desk.core.formats.dng import write_dng
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    if not report.check(raw.LIBRAW_VERSION is not None, "LibRaw (rawpy) did not load: camera raw files cannot be read"):
        return
    if not portrait.is_file():
        return
    folder = tmp / "raw"
    folder.mkdir()
    with Image.open(portrait) as im:
        rgb = im.convert("RGB")
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=90)
        w, h = rgb.width // 2 * 2, rgb.height // 2 * 2
    dng = write_dng(folder / "portrait.dng", w, h, preview=buf.getvalue())
    bare = write_dng(tmp / "no-preview.dng", 64, 48)
    try:
        source = raw.decode(dng, 480).source
        demosaic = raw.decode(bare, 64).source
    except raw.RawError as exc:
        report.check(False, f"LibRaw {raw.LIBRAW_VERSION} could not read a DNG: {exc}")
        return
    report.check(source == "preview", f"portrait.dng was read by a {source}, not from its embedded preview")
    report.check(demosaic.endswith("demosaic"), f"a DNG without a preview was read by a {demosaic}")
    with Catalog(paths.catalog_path()) as catalog:
        pipeline.score([folder], catalog, scorer)
        found = catalog.photos(scorer.model_name, folder=str(folder.resolve()))
    if not report.check(len(found) == 1 and found[0].score is not None,
                        f"portrait.dng was not scored ({found[0].error if found else 'not in the catalog'})"):
        return
    got = found[0]
    report.check((got.width, got.height) == (w, h), f"portrait.dng: size {got.width}x{got.height}, not {w}x{h}")
    report.check(any(f.confidence >= MIN_FACE_CONFIDENCE for f in got.faces), "portrait.dng: no face found")
    report.lines.append(f"raw: LibRaw {raw.LIBRAW_VERSION}; portrait.dng scored {got.score:.3f} from its preview "
                        f"({len(got.faces)} face(s)); a DNG without a preview: {demosaic}")


def _check_crop(report: Report, name: str, result, top: int) -> None:
    w, h = result.width, result.height
    crops = [result.best, *result.alternatives]
    report.check(len(result.alternatives) <= top, f"{name}: {len(result.alternatives)} alternatives, asked for {top}")
    for crop in crops:
        x0, y0, x1, y1 = crop.box
        if not report.check(0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h,
                            f"{name}: crop {crop.box} is not inside the {w}x{h} photo"):
            continue
        ratio, want = (x1 - x0) / (y1 - y0), w / h
        report.check(abs(ratio / want - 1) <= ASPECT_TOLERANCE,
                     f"{name}: crop {crop.box} has ratio {ratio:.3f}, the photo's is {want:.3f}")
        report.check(math.isfinite(crop.score) and 0.0 <= crop.score <= 1.0,
                     f"{name}: crop score {crop.score} is outside [0, 1]")


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"
