"""A minimal DNG writer: a 12-bit RGGB Bayer mosaic LibRaw demosaics, a camera name, an orientation, a capture
time and, when given, a JPEG as the SubIFD preview that cameras and Adobe's converter embed.

What for: `--self-test` proves the installed LibRaw reads a raw (and the scoring pass scores it from its preview)
without shipping a camera's file, and the tests build their raws with it. Our own writer because tifffile writes
JPEG-compressed IFDs only through imagecodecs, which does not install here; a sample from a camera would be
megabytes and of unclear licence. DNG is a TIFF whose raw IFD has PhotometricInterpretation 32803 (CFA); LibRaw
takes the largest JPEG in a SubIFD as the file's preview.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

_TYPES = {"B": (1, "B"), "A": (2, "B"), "H": (3, "H"), "I": (4, "I"), "R": (5, "II"), "SR": (10, "ii")}


Entry = tuple[int, str, Sequence[int] | bytes]


def _entries_bytes(entries: list[Entry], ifd_at: int, next_ifd: int) -> bytes:
    """One IFD at file offset `ifd_at` with its out-of-line values right after it."""
    entries = sorted(entries, key=lambda e: e[0])
    head = struct.pack("<H", len(entries))
    tail = b""
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    body = b""
    for tag, kind, values in entries:
        code, fmt = _TYPES[kind]
        if kind == "A":
            blob = bytes(values)
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


def _ascii(text: str) -> bytes:
    return text.encode() + b"\0"


def write_dng(path: Path, width: int = 320, height: int = 240, *, preview: bytes | None = None,
              orientation: int = 1, captured: str = "2025:06:01 10:20:30", make: str = "Selfie Desk Test",
              model: str = "Mosaic 1", seed: int = 0, sparse: bool = False) -> Path:
    """A DNG: a 12-bit RGGB mosaic of `width` x `height` (even), a camera name, an orientation (EXIF 1-8) and a
    DateTime, and `preview` (JPEG bytes) as a SubIFD preview when given. `sparse`: the mosaic is left a hole of
    zeros of its real size (a benchmark's 12 MP raws take no disk: reading the preview never touches it)."""
    raw_size = width * height * 2
    raw = b""
    if not sparse:
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:height, 0:width]
        base = (xx * 3000 // max(1, width)) + 400
        raw = (base + rng.integers(0, 200, (height, width))).astype("<u2").tobytes()
    # layout: header (8) | IFD0 | raw strip | preview IFD | preview JPEG
    ifd0_at = 8
    common: list[Entry] = [
        (271, "A", _ascii(make)), (272, "A", _ascii(model)), (274, "H", [orientation]),
        (306, "A", _ascii(captured)),
        (50706, "B", [1, 4, 0, 0]), (50707, "B", [1, 1, 0, 0]), (50708, "A", _ascii(f"{make} {model}")),
        (50721, "SR", [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]),  # ColorMatrix1: identity
        (50778, "H", [21]),  # D65
    ]
    raw_tags: list[Entry] = [
        (254, "I", [0]), (256, "I", [width]), (257, "I", [height]), (258, "H", [16]), (259, "H", [1]),
        (262, "H", [32803]), (277, "H", [1]), (278, "I", [height]), (284, "H", [1]),
        (33421, "H", [2, 2]), (33422, "B", [0, 1, 1, 2]), (50717, "I", [4095]),
    ]
    # sizes are fixed by the content, so two passes: lay out IFD0 with placeholder offsets, then for real
    def ifd0(strip_at: int, sub_at: int) -> bytes:
        tags: list[Entry] = common + raw_tags + [(273, "I", [strip_at]), (279, "I", [raw_size])]
        if preview is not None:
            tags.append((330, "I", [sub_at]))
        return _entries_bytes(tags, ifd0_at, 0)

    first = ifd0(0, 0)
    strip_at = ifd0_at + len(first)
    sub_at = strip_at + raw_size
    block0 = ifd0(strip_at, sub_at)
    assert len(block0) == len(first)
    head = b"II*\0" + struct.pack("<I", ifd0_at) + block0 + raw
    out = b""
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
    with open(path, "wb") as fh:
        fh.write(head)
        fh.seek(sub_at)  # past the mosaic: a hole when it is sparse
        fh.write(out)
        fh.truncate(max(sub_at, fh.tell()))
    return path
