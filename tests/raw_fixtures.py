"""Small camera raw files built in the test run: DNGs (a real Bayer mosaic LibRaw demosaics) with or without an
embedded JPEG preview, with an orientation and a capture time, written by a minimal TIFF writer of our own.

Why our own writer: tifffile writes JPEG-compressed IFDs only through imagecodecs, which does not install here,
and a committed sample from a camera would be megabytes and of unclear licence. DNG is a TIFF whose raw IFD has
PhotometricInterpretation 32803 (CFA); LibRaw takes the largest JPEG in a SubIFD as the file's preview, as
cameras and Adobe's converter write it.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

_TYPES = {"B": (1, "B"), "A": (2, "B"), "H": (3, "H"), "I": (4, "I"), "R": (5, "II"), "SR": (10, "ii")}


def _entries_bytes(entries: list[tuple[int, str, list[int] | bytes]], ifd_at: int, next_ifd: int) -> bytes:
    """One IFD at file offset `ifd_at` with its out-of-line values right after it."""
    entries = sorted(entries, key=lambda e: e[0])
    head = struct.pack("<H", len(entries))
    tail = b""
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    body = b""
    for tag, kind, values in entries:
        code, fmt = _TYPES[kind]
        if kind == "A":
            blob = bytes(values) if isinstance(values, bytes) else bytes(values)
            count = len(blob)
        elif kind in ("R", "SR"):
            blob = b"".join(struct.pack("<" + fmt, *pair) for pair in zip(values[::2], values[1::2], strict=True))
            count = len(values) // 2
        else:
            blob = struct.pack("<" + fmt * len(values), *values)
            count = len(values)
        if len(blob) <= 4:
            body += struct.pack("<HHI", tag, code, count) + blob.ljust(4, b"\0")
        else:
            offset = data_at + len(tail)
            body += struct.pack("<HHII", tag, code, count, offset)
            tail += blob + (b"\0" if len(blob) % 2 else b"")
    return head + body + struct.pack("<I", next_ifd) + tail


def jpeg_bytes(width: int, height: int, seed: int = 0, quality: int = 85) -> bytes:
    """A JPEG with structure (a gradient, a disc, noise), so that it is not trivially small."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                    np.full_like(xx, 120)], axis=-1).astype(np.float32)
    disc = (xx - width * 0.6) ** 2 + (yy - height * 0.4) ** 2 < (min(width, height) * 0.2) ** 2
    img[disc] = (240, 220, 60)
    img += rng.normal(0, 6, img.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_dng(path: Path, width: int = 320, height: int = 240, *, preview: bytes | None = None,
              orientation: int = 1, captured: str = "2025:06:01 10:20:30", make: str = "Selfie Desk Test",
              model: str = "Mosaic 1", seed: int = 0) -> Path:
    """A DNG: a 12-bit RGGB mosaic of `width` x `height` (even), a camera name, an orientation (EXIF 1-8) and a
    DateTime, and `preview` (JPEG bytes) as a SubIFD preview when given."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = (xx * 3000 // max(1, width)) + 400
    cfa = (base + rng.integers(0, 200, (height, width))).astype("<u2")
    raw = cfa.tobytes()
    ascii_ = lambda s: s.encode() + b"\0"  # noqa: E731
    # layout: header (8) | IFD0 | raw strip | preview IFD | preview JPEG
    ifd0_at = 8
    common = [
        (271, "A", ascii_(make)), (272, "A", ascii_(model)), (274, "H", [orientation]),
        (306, "A", ascii_(captured)),
        (50706, "B", [1, 4, 0, 0]), (50707, "B", [1, 1, 0, 0]), (50708, "A", ascii_(f"{make} {model}")),
        (50721, "SR", [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]),  # ColorMatrix1: identity
        (50778, "H", [21]),  # D65
    ]
    raw_tags = [
        (254, "I", [0]), (256, "I", [width]), (257, "I", [height]), (258, "H", [16]), (259, "H", [1]),
        (262, "H", [32803]), (277, "H", [1]), (278, "I", [height]), (284, "H", [1]),
        (33421, "H", [2, 2]), (33422, "B", [0, 1, 1, 2]), (50717, "I", [4095]),
    ]
    # sizes are fixed by the content, so two passes: lay out IFD0 with placeholder offsets, then for real
    def ifd0(strip_at: int, sub_at: int) -> bytes:
        tags = common + raw_tags + [(273, "I", [strip_at]), (279, "I", [len(raw)])]
        if preview is not None:
            tags.append((330, "I", [sub_at]))
        return _entries_bytes(tags, ifd0_at, 0)

    first = ifd0(0, 0)
    strip_at = ifd0_at + len(first)
    sub_at = strip_at + len(raw)
    block0 = ifd0(strip_at, sub_at)
    assert len(block0) == len(first)
    out = b"II*\0" + struct.pack("<I", ifd0_at) + block0 + raw
    if preview is not None:
        pw, ph = Image.open(io.BytesIO(preview)).size

        def sub(jpeg_at: int) -> bytes:
            return _entries_bytes([
                (254, "I", [1]), (256, "I", [pw]), (257, "I", [ph]), (258, "H", [8, 8, 8]), (259, "H", [7]),
                (262, "H", [6]), (273, "I", [jpeg_at]), (277, "H", [3]), (278, "I", [ph]),
                (279, "I", [len(preview)]),
            ], sub_at, 0)

        block = sub(0)
        out += sub(sub_at + len(block)) + preview
    path.write_bytes(out)
    return path


def truncate(path: Path, keep: float = 0.3) -> Path:
    """Cut a file to a fraction of its bytes, as a card pulled out mid-copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: max(16, int(len(data) * keep))])
    return path
