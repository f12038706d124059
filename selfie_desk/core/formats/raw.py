"""Camera raw files through LibRaw (rawpy): the JPEG preview the camera embedded, upright, and what the raw says.

Culling never needs a demosaic: every camera embeds a JPEG (full size on most, 1-2 MP on older bodies), and
reading it is a JPEG decode at DCT-reduced size, as fast as the JPEG the camera writes beside the raw. So the
grid, the model's input and the face search come from that preview when its long edge reaches
`PREVIEW_MIN_EDGE` (or the size asked for, when that is less). A full demosaic runs only for a raw without a
usable preview (a CinemaDNG frame, some DNGs) or when the loupe asks for the real pixels at 100 %; a reduced
one (LibRaw's half size: one pixel per Bayer quad, ~4x cheaper) when less is asked.

Sizes are the raw image's as LibRaw outputs it, upright (its `flip` turned into an EXIF orientation); the
preview is scaled to them by the callers, as any reduced decode is. Orientation comes from the raw's metadata,
never from the preview's own EXIF (cameras store the preview as the sensor saw it).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from selfie_desk.core.files import NotRegularFile, open_regular

try:  # optional at import time, so the core still loads (and JPEGs still score) if the wheel is broken
    import rawpy

    LIBRAW_VERSION: str | None = ".".join(map(str, rawpy.libraw_version))
    _MISSING: str | None = None
except Exception as exc:  # pragma: no cover - depends on the platform's wheel
    LIBRAW_VERSION = None
    _MISSING = f"camera raw files need LibRaw (the rawpy package), which cannot be loaded: {exc}"

# The formats LibRaw reads that cameras write (issue 17's list first). `.raw` and `.tif` are left out: too
# many things that are not camera raws carry them.
RAW_SUFFIXES = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".sr2", ".srf", ".raf", ".orf", ".rw2", ".pef",
    ".srw", ".3fr", ".iiq", ".rwl", ".mrw", ".erf", ".mef", ".mos", ".kdc", ".dcr", ".fff", ".x3f",
})
# The JPEG a camera writes beside the raw (RAW+JPEG): same folder, same NAME, one of these suffixes.
PAIR_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe"})
# A preview with this long edge (or the size asked for, if smaller) is used instead of a demosaic: it covers
# the 224 px model input, the 480 px view, the 384 px face search and a screen-sized loupe.
PREVIEW_MIN_EDGE = 1000
# LibRaw's flip (bit 4: swap axes, 2: flip vertically, 1: flip horizontally) as an EXIF orientation.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


class RawError(Exception):
    """A raw file that cannot be read; the message is meant for the user (one line)."""


def is_raw(path: str | os.PathLike[str]) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in RAW_SUFFIXES


def pair_up(names: Iterable[str]) -> dict[str, str]:
    """RAW+JPEG pairs among the file names of one folder: {raw name: JPEG name}. NAME is compared as it is
    spelled (IMG_1.CR2 pairs with IMG_1.JPG or IMG_1.jpg, not with img_1.jpg); a NAME with two raws pairs
    its JPEG with the first raw in name order, and one with two JPEGs takes the first JPEG."""
    raws: dict[str, str] = {}
    jpegs: dict[str, str] = {}
    for name in sorted(names):
        stem, ext = os.path.splitext(name)
        ext = ext.lower()
        if ext in RAW_SUFFIXES:
            raws.setdefault(stem, name)
        elif ext in PAIR_SUFFIXES:
            jpegs.setdefault(stem, name)
    return {raw: jpegs[stem] for stem, raw in raws.items() if stem in jpegs}


@dataclass(frozen=True)
class RawInfo:
    """What a raw says about itself, read without decoding its pixels."""

    width: int  # the upright image as LibRaw outputs it
    height: int
    orientation: int  # EXIF 1-8, from LibRaw's flip
    # ISO 8601 from the preview's EXIF or, after a demosaic, LibRaw's (whole seconds); None when neither has
    # it (rawpy reads LibRaw's time only by unpacking the raw data: ~100 ms, never paid for a preview)
    captured_at: str | None
    preview: tuple[int, int] | None = None  # the embedded preview's size as stored, when there is one


def _message(exc: BaseException) -> str:
    name = type(exc).__name__
    text = exc.args[0] if exc.args else ""
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if name == "LibRawFileUnsupportedError":
        return (f"a raw file LibRaw {LIBRAW_VERSION} cannot read: an unknown camera, or not a raw file "
                "(unsupported file format)")
    if name in ("LibRawIOError", "LibRawDataError") or "end of file" in text.lower():
        return f"truncated or damaged raw file (LibRaw: {text or name})"
    if name in ("LibRawTooBigError", "LibRawUnsufficientMemoryError", "LibRawMemPoolOverflowError", "MemoryError"):
        return "refused: the raw image is too big to decode in memory"
    if isinstance(exc, FileNotFoundError):
        return "file disappeared before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied: cannot read this file"
    return f"damaged raw file: {text or name}"


@contextmanager
def _opened(path: Path) -> Iterator[rawpy.RawPy]:
    if _MISSING is not None:
        raise RawError(_MISSING)
    try:
        with open_regular(path) as fh:  # a FIFO or device is refused, never waited on
            if os.fstat(fh.fileno()).st_size == 0:
                raise RawError("empty file (0 bytes)")
    except NotRegularFile as exc:
        raise RawError(str(exc)) from None
    except OSError as exc:
        raise RawError(_message(exc)) from None
    try:
        handle = rawpy.imread(os.fspath(path))
    except Exception as exc:
        raise RawError(_message(exc)) from None
    try:
        yield handle
    finally:
        handle.close()


def _info(handle: rawpy.RawPy) -> RawInfo:
    sizes = handle.sizes
    orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
    width, height = int(sizes.width), int(sizes.height)
    if width <= 0 or height <= 0:
        raise RawError("the raw file has no image data")
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return RawInfo(width, height, orientation, None)


def read_info(path: Path) -> RawInfo:
    """Size, orientation and capture time (no pixels decoded). Raises RawError."""
    with _opened(path) as handle:
        return _info(handle)


def orientation(path: Path) -> int:
    """The raw's orientation as EXIF's 1-8 (1 when it cannot be read): what Camera Raw's crop is measured in."""
    try:
        return read_info(path).orientation
    except RawError:
        return 1


@dataclass(frozen=True)
class RawImage:
    """A raw's pixels, upright and RGB: from its preview or a demosaic, plus what the raw says."""

    image: Image.Image
    info: RawInfo
    source: str  # "preview" | "demosaic" | "half demosaic"


def _timestamp(handle: rawpy.RawPy) -> str | None:
    """LibRaw's capture time (the raw data is unpacked already: after a demosaic)."""
    try:
        when = handle.other.timestamp
    except Exception:
        return None
    return when.isoformat() if when.year > 1970 else None  # 1970-01-01: LibRaw's "no date"


def _preview_time(im: Image.Image) -> str | None:
    from selfie_desk.core.formats.decoding import _capture_time  # decoding imports this module

    try:
        return _capture_time(im.getexif())
    except Exception:
        return None


def _preview(handle: rawpy.RawPy, long_edge: int) -> Image.Image | None:
    """The embedded preview, decoded at DCT-reduced size, as stored (not turned upright); None without one."""
    try:
        thumb = handle.extract_thumb()
    except Exception:  # none, or a damaged one: a demosaic may still read the raw data
        return None
    im: Image.Image
    if thumb.format == rawpy.ThumbFormat.JPEG and isinstance(thumb.data, bytes):
        try:
            im = Image.open(io.BytesIO(thumb.data))
            scale = long_edge / max(im.size)
            im.draft("RGB", (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
            im.load()
        except Exception:
            return None
    else:  # a bitmap (rare: old Kodak, some DNGs)
        try:
            im = Image.fromarray(np.asarray(thumb.data))
        except Exception:
            return None
    return im if im.mode == "RGB" else im.convert("RGB")


def _upright(im: Image.Image, info: RawInfo) -> Image.Image:
    """The preview turned by the raw's orientation, unless it is already upright (a portrait preview of a
    landscape sensor: some cameras store it turned)."""
    from selfie_desk.core.formats.decoding import apply_orientation  # decoding imports this module

    swaps = info.orientation in (5, 6, 7, 8)
    sensor_landscape = (info.height >= info.width) if swaps else (info.width >= info.height)
    preview_landscape = im.width >= im.height
    if swaps and sensor_landscape != preview_landscape:
        return im
    return apply_orientation(im, info.orientation)


def decode(path: Path, long_edge: int, *, full_resolution: bool = False, max_pixels: int = 100_000_000) -> RawImage:
    """The raw's pixels upright, reduced so the long edge is about `long_edge`: its preview when that is large
    enough, else a demosaic (half size when that still reaches `long_edge`). `full_resolution`: the real pixels
    (a full demosaic) unless the preview is full size. Raises RawError."""
    with _opened(path) as handle:
        info = _info(handle)
        full_edge = max(info.width, info.height)
        want = full_edge if full_resolution else min(long_edge, full_edge)
        preview = _preview(handle, want)
        if preview is not None:
            info = RawInfo(info.width, info.height, info.orientation, _preview_time(preview), preview.size)
            needed = full_edge * 0.95 if full_resolution else min(want, PREVIEW_MIN_EDGE)
            if max(preview.size) >= needed:
                return RawImage(_reduce(_upright(preview, info), long_edge, full_resolution), info, "preview")
        return _demosaic(handle, info, want, max_pixels)


def _reduce(im: Image.Image, long_edge: int, full_resolution: bool) -> Image.Image:
    factor = max(1, max(im.size) // max(1, long_edge))
    return im if full_resolution or factor == 1 else im.reduce(factor)


def _demosaic(handle: rawpy.RawPy, info: RawInfo, want: int, max_pixels: int) -> RawImage:
    half = want * 2 <= max(info.width, info.height)
    pixels = info.width * info.height // (4 if half else 1)
    if pixels > max_pixels:
        raise RawError(f"refused: demosaicing {info.width} x {info.height} pixels is over the "
                       f"{max_pixels // 1_000_000} MP pixel budget (and the raw has no usable preview)")
    try:
        rgb = handle.postprocess(
            half_size=half, use_camera_wb=True, output_bps=8)
    except Exception as exc:
        raise RawError(_message(exc)) from None
    info = RawInfo(info.width, info.height, info.orientation, info.captured_at or _timestamp(handle), info.preview)
    im = Image.fromarray(rgb)  # LibRaw turned it upright already
    factor = max(1, max(im.size) // max(1, want))
    if factor > 1:
        im = im.reduce(factor)
    return RawImage(im, info, "half demosaic" if half else "demosaic")
