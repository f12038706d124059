"""Reading photos: every supported format, upright, at reduced size, with a clear error for bad files.

Everything downstream (sizes, face boxes, crops) is in the coordinates of the upright full-resolution
image, so this module reports that size even though it only ever decodes a reduced copy: JPEGs through
libjpeg's DCT scaling (draft mode), other formats through the cheapest reduction Pillow offers.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from PIL import Image, UnidentifiedImageError

from selfie_desk.core.files import NotRegularFile, open_regular
from selfie_desk.core.formats import raw

log = logging.getLogger(__name__)

try:  # HEIC/HEIF: optional at import time so the core still loads if the plug-in is broken
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except Exception:  # pragma: no cover - depends on the platform's wheel
    HEIF_AVAILABLE = False

SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".avif", ".heic", ".heif"}
) | raw.RAW_SUFFIXES  # camera raws: their embedded preview, through LibRaw (core/formats/raw.py)

# Real cameras reach ~200 MP (Hasselblad multi-shot is 400 MP); 50k x 50k (2.5 GP) is a bomb.
# Pillow's own guard (89 MP warning, 179 MP error) would refuse real medium-format files, so we raise it
# to our limit and refuse above it ourselves; its warning is silenced because we act on the size anyway.
MAX_PIXELS = 400_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


# Pillow warns (on stderr, through `warnings`) about one file's damaged metadata: "Corrupt EXIF data", "Tag data
# larger than file". Those are per-file facts, so they never reach the terminal: while `decode` reads a file on a
# thread, what Pillow says is collected and told as that photo's note; anywhere else it goes to the log.
_PIL_DIR = os.path.dirname(Image.__file__)
_collecting = threading.local()
_show_warning = warnings.showwarning


def _pil_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:  # warnings.showwarning's signature
    if not str(filename).startswith(_PIL_DIR):
        return _show_warning(message, category, filename, lineno, file, line)
    notes = getattr(_collecting, "notes", None)
    if notes is not None:
        notes.append(" ".join(str(message).split()))
    else:
        log.debug("Pillow: %s", message)


warnings.filterwarnings("always", module=r"PIL\.")  # each file's warnings, not only the first of their kind
warnings.showwarning = _pil_warning
# The pixel budget: memory per photo stays bounded whatever its header or file size says. A baseline JPEG
# is decoded reduced (1/8 at most, libjpeg's DCT scaling), so it may have up to MAX_PIXELS; every other
# format (PNG, TIFF, WebP, GIF, BMP, HEIC, AVIF) and progressive JPEG (whose coefficients libjpeg keeps at
# full size) is decoded at full size, so it is refused above FULL_DECODE_PIXELS: 100 MP is ~400 MB as RGBA,
# and a 19999 x 19999 PNG of 48 KB on disk (a 2.9 GB decode) is refused from its header.
FULL_DECODE_PIXELS = 100_000_000
_REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "I", "F", "CMYK", "YCbCr")
_EARLY_REDUCE_PIXELS = 24_000_000  # above this a big decode is reduced before its colour conversion

# EXIF tags (export and sidecars read the same ones)
ORIENTATION = 0x0112
_DATETIME = 0x0132
EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_SUBSEC_ORIGINAL = 0x9291  # SubSecTimeOriginal: the fraction of a second (bursts are 0.1-0.5 s apart)
_EXPOSURE_BIAS = 0x9204  # ExposureBiasValue in EV: an exposure bracket's steps (core/culling/groups.py)


class PhotoError(Exception):
    """A photo that cannot be read; the message is meant for the user, one line, no traceback."""


@dataclass(frozen=True)
class Decoded:
    """A reduced, upright RGB copy of a photo plus what we know of the full-size original."""

    image: Image.Image  # upright, RGB, long edge >= the requested size unless the original is smaller
    width: int  # upright full-resolution size
    height: int
    captured_at: str | None  # ISO 8601 from EXIF, when present (with the fraction of a second when known)
    exposure_bias: float | None = None  # EV, from EXIF ExposureBiasValue
    # said to the user, when the photo was read from another file than the one asked for: a RAW+JPEG pair's
    # JPEG, because the raw itself could not be read (a camera LibRaw does not know, a truncated file)
    note: str | None = None


def is_photo(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def _capture_time(exif: Image.Exif) -> str | None:
    raw = None
    subsec = None
    try:
        ifd = exif.get_ifd(EXIF_IFD)
        raw = ifd.get(_DATETIME_ORIGINAL)
        subsec = ifd.get(_SUBSEC_ORIGINAL) if raw else None
    except Exception:
        raw = None
    raw = raw or exif.get(_DATETIME)
    if not raw:
        return None
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    text = text.strip().rstrip("\x00")
    try:
        when = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    digits = "".join(ch for ch in str(subsec or "") if ch.isdigit())[:6]
    if digits:  # "25" is .25 s: SubSecTime holds the decimal digits of the fraction
        when = when.replace(microsecond=int(digits.ljust(6, "0")))
    return when.isoformat()


def _exposure_bias(exif: Image.Exif) -> float | None:
    try:
        raw = exif.get_ifd(EXIF_IFD).get(_EXPOSURE_BIAS)
        value = None if raw is None else float(raw)
    except Exception:
        return None
    return value if value is not None and -20.0 <= value <= 20.0 else None  # NaN and junk left out


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file disappeared before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied: cannot read this file"
    if isinstance(exc, IsADirectoryError):
        return "not a file"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or a format Selfie Desk cannot read"
    if isinstance(exc, Image.DecompressionBombError):
        return "refused: image dimensions are implausibly large (decompression bomb)"
    if isinstance(exc, OSError) and "truncated" in str(exc).lower():
        return "truncated or damaged image data"
    if isinstance(exc, SyntaxError | ValueError | OSError | EOFError):
        return f"damaged image: {exc}"
    return f"cannot read: {exc}"


def decode(path: Path, long_edge: int, *, full_resolution: bool = False, pair: str | Path | None = None) -> Decoded:
    """Decode `path` upright, reduced so its long edge is about `long_edge` (never a full decode of a JPEG).
    A camera raw gives its embedded preview when that is large enough (core/formats/raw.py); `full_resolution` asks
    for its real pixels (the loupe at 100 %: a demosaic unless the preview is full size). `pair` is a raw's
    JPEG of a RAW+JPEG pair: when the raw cannot be read, the photo is read from the JPEG, and `note` says so.

    Raises PhotoError with a user-facing message for anything that is not a readable photo.
    """
    if raw.is_raw(path):
        try:
            return _decode_raw(path, long_edge, full_resolution)
        except PhotoError as exc:
            if not pair:
                raise
            try:
                got = decode(Path(pair), long_edge, full_resolution=full_resolution)
            except PhotoError:
                raise exc from None  # neither file reads: the raw's own reason
            return replace(got, note=f"read from its JPEG {Path(pair).name}, the raw itself cannot be: {exc}")
    notes: list[str] = []
    _collecting.notes = notes
    try:
        with open_regular(path) as fh:  # a FIFO or device is refused, never waited on
            if os.fstat(fh.fileno()).st_size == 0:
                raise PhotoError("empty file (0 bytes)")
            with Image.open(fh) as im:
                _check_jpeg_data(im, os.fstat(fh.fileno()).st_size)
                got = _decode_open(im, long_edge)
        if notes:
            said = "; ".join(dict.fromkeys(notes))
            got = replace(got, note=f"damaged EXIF or metadata ({said[:200]}); the pixels were read")
        return got
    except PhotoError:
        raise
    except NotRegularFile as exc:
        raise PhotoError(str(exc)) from None
    except (MemoryError, Exception) as exc:  # Pillow raises many types for bad data
        raise PhotoError(_describe(exc)) from None
    finally:
        _collecting.notes = None


def _decode_raw(path: Path, long_edge: int, full_resolution: bool) -> Decoded:
    try:
        got = raw.decode(path, long_edge, full_resolution=full_resolution, max_pixels=FULL_DECODE_PIXELS)
    except raw.RawError as exc:
        raise PhotoError(str(exc)) from None
    except (MemoryError, Exception) as exc:  # LibRaw and Pillow raise many types for bad data
        raise PhotoError(f"damaged raw file: {exc}") from None
    exposure_bias = None
    captured_at = got.info.captured_at
    fraction = _raw_exif(path)
    if fraction is not None:
        captured_at = fraction[0] or captured_at
        exposure_bias = fraction[1]
    return Decoded(image=got.image, width=got.info.width, height=got.info.height, captured_at=captured_at,
                   exposure_bias=exposure_bias)


def _raw_exif(path: Path) -> tuple[str | None, float | None] | None:
    """The capture time with its fraction of a second and the exposure bias, from a TIFF-based raw's EXIF (DNG,
    CR2, NEF, ARW, PEF, SRW...: Pillow reads their first IFD without decoding anything); None for the others
    (CR3, CRW, RAF, ORF, RW2), which keep LibRaw's whole-second time. Bursts and brackets are told by these."""
    try:
        with open_regular(path) as fh:
            if fh.read(4) not in (b"II*\0", b"MM\0*"):
                return None
            fh.seek(0)
            with Image.open(fh) as im:
                exif = im.getexif()
                return _capture_time(exif), _exposure_bias(exif)
    except Exception:
        return None


def _check_jpeg_data(im: Image.Image, file_size: int) -> None:
    """PhotoError when a JPEG's header claims more pixels than its data can hold. Each 8 x 8 block of the image is
    coded with at least one bit (its DC difference, whatever the Huffman table, in a baseline or a progressive
    file), so a file of N bytes holds at most 8 N blocks: a 45 KB file claiming 19000 x 19000 (5.6 million blocks)
    lies, and libjpeg would fill what is missing with grey and hand over a "photo" of that size. Honest files are
    far above the bound: a flat grey 6000 x 4000 at quality 5 takes 6 bits a block."""
    if im.format != "JPEG":
        return
    width, height = im.size
    blocks = -(-width // 8) * -(-height // 8)
    if blocks > 8 * file_size:
        raise PhotoError(f"its header claims {width} x {height} pixels, but the file's {file_size:,} bytes cannot "
                         f"hold more than {8 * file_size * 64 / 1e6:.1f} MP: damaged or forged, not read")


def _decode_open(im: Image.Image, long_edge: int) -> Decoded:
    raw_w, raw_h = im.size
    if raw_w <= 0 or raw_h <= 0:
        raise PhotoError("image has no pixels")
    if raw_w * raw_h > MAX_PIXELS:
        raise PhotoError(
            f"refused: {raw_w} x {raw_h} pixels is implausibly large (decompression bomb)"
        )
    progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    if (im.format != "JPEG" or progressive) and raw_w * raw_h > FULL_DECODE_PIXELS:
        kind = "progressive JPEG" if im.format == "JPEG" else (im.format or "image")
        raise PhotoError(
            f"refused: {raw_w} x {raw_h} pixels ({raw_w * raw_h / 1e6:.0f} MP) is over the "
            f"{FULL_DECODE_PIXELS // 1_000_000} MP a {kind} is decoded at (the pixel budget)"
        )
    exif = im.getexif()
    orientation = exif.get(ORIENTATION, 1)
    swapped = orientation in (5, 6, 7, 8)
    width, height = (raw_h, raw_w) if swapped else (raw_w, raw_h)
    captured_at = _capture_time(exif)
    exposure_bias = _exposure_bias(exif)

    if im.format == "JPEG":
        # DCT scaling: decode at 1/2, 1/4 or 1/8 so that the result is still >= the requested size.
        scale = long_edge / max(raw_w, raw_h)
        im.draft("RGB", (max(1, int(raw_w * scale)), max(1, int(raw_h * scale))))
    elif getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # GIF/WebP/TIFF: first frame only

    im.load()  # a truncated file fails here (Pillow's LOAD_TRUNCATED_IMAGES stays False)
    factor = max(1, max(im.size) // max(1, long_edge))
    if factor > 1 and im.mode in _REDUCIBLE_MODES and im.width * im.height > _EARLY_REDUCE_PIXELS:
        im = im.reduce(factor)  # before the conversion: the full-size copy is never made twice
        factor = 1
    if im.mode != "RGB":
        im = _to_rgb(im)
    if factor > 1:
        im = im.reduce(factor)  # box filter by an integer factor: cheap and alias-free
    im = apply_orientation(im, orientation)
    return Decoded(image=im, width=width, height=height, captured_at=captured_at, exposure_bias=exposure_bias)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale down to 8 bits rather than clip
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    return im.convert("RGB")


_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    """Make an image upright given its EXIF orientation (1-8); other values leave it as it is."""
    for op in _TRANSPOSE.get(orientation, ()):
        im = im.transpose(op)
    return im


def thumbnail(decoded: Decoded, size: int) -> Image.Image:
    """A thumbnail whose long edge is `size`, from the already-reduced decode."""
    im = decoded.image.copy()
    im.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return im
