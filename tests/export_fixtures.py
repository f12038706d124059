"""Real photo files for the export and XMP tests: EXIF orientation, camera, dates, GPS and an ICC profile,
and a catalog written directly (where the scores' values do not matter)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from selfie_desk.core import paths
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats.indexing import canonical, fingerprint
from selfie_desk.core.storage.catalog import Catalog, Photo, Result

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool missing: tools/setup-system.sh installs it (Debian libimage-exiftool-perl)")

# The stored image's transform that a given EXIF orientation undoes: apply_orientation(stored) == upright.
TO_STORED = {
    1: (), 2: (Image.Transpose.FLIP_LEFT_RIGHT,), 3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,), 5: (Image.Transpose.TRANSPOSE,), 6: (Image.Transpose.ROTATE_90,),
    7: (Image.Transpose.TRANSVERSE,), 8: (Image.Transpose.ROTATE_270,),
}
CAMERA = ("Canon", "EOS R5")
TAKEN = "2024:05:06 07:08:09"


def upright_image(size=(96, 64), seed=0) -> Image.Image:
    """Blocky, distinct in every quadrant: a wrong flip or rotation can never match by chance."""
    rng = np.random.default_rng(seed)
    w, h = size
    cells = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return Image.fromarray(np.kron(cells, np.ones((8, 8, 1), dtype=np.uint8)))


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def save_photo(path: Path, upright: Image.Image, orientation: int = 1, fmt: str = "JPEG", gps: bool = True,
               icc: bool = True) -> Path:
    """Save `upright` as a file whose stored pixels need EXIF `orientation` to come out upright."""
    stored = upright
    for op in TO_STORED[orientation]:
        stored = stored.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110] = CAMERA
    exif.get_ifd(0x8769)[0x9003] = TAKEN
    if gps:
        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", (48.0, 51.0, 30.0), "E", (2.0, 17.0, 40.0)
    params = {"exif": exif.tobytes()}
    if icc:
        params["icc_profile"] = srgb_icc()
    if fmt == "JPEG":
        params["quality"] = 95
    path.parent.mkdir(parents=True, exist_ok=True)
    stored.save(path, format=fmt, **params)
    return path


def add_to_catalog(catalog: Catalog, path: Path, size: tuple[int, int], score: float | None = 0.5,
                   decision: str | None = None, rating: int = 0, crop=None, model: str = "default") -> int:
    """A photo in the catalog as scoring would leave it, plus the user's decisions."""
    path = canonical(path)
    st = os.stat(path)
    pid = catalog.add_file(str(path), st.st_size, st.st_mtime_ns, fingerprint(path, st.st_size))
    if score is not None:
        catalog.record([Result(pid, width=size[0], height=size[1], score=score)], model)
    CullingSession(catalog).adopt([(pid, "decision", decision), (pid, "rating", rating), (pid, "crop", crop)])
    return pid


def open_catalog() -> Catalog:
    return Catalog(paths.catalog_path())


def photos_of(catalog: Catalog, folder: Path, model: str = "default") -> dict[str, Photo]:
    return {Path(p.path).name: p for p in catalog.photos(model, folder=str(canonical(folder)))}


def exiftool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXIFTOOL or "exiftool", *args], capture_output=True, text=True, timeout=60, check=True)


def exif_json(path: Path, *tags: str) -> dict:
    """exiftool's reading of a file: -n (numbers as numbers), -G1 (group names)."""
    out = exiftool("-j", "-n", "-G1", *tags, str(path)).stdout
    return json.loads(out)[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary files an interrupted write would leave behind."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".part"]


def export_folder(folder: Path, dest: Path, options, catalog: Catalog, **kw):
    """Export what the catalog knows of `folder`, as the window's and the CLI's callers do."""
    from selfie_desk.core.formats import export

    return export.export(catalog.photos(options.model, folder=str(folder)), dest, options, catalog, **kw)


def sidecars_for_folder(folder: Path, catalog: Catalog, model: str = "default"):
    """Write the sidecars of what the catalog knows of `folder`, as `selfie-desk sidecars` does."""
    from selfie_desk.core.formats import sidecars

    return sidecars.write_sidecars(catalog.photos(model, folder=str(folder)))
