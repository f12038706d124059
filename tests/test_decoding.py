"""Every format, every EXIF orientation, every kind of bad file."""

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import photo, save_jpeg
from PIL import Image

from selfie_desk.core.formats import decoding
from selfie_desk.core.formats.decoding import PhotoError, decode

FORMATS = {
    ".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".bmp": "BMP", ".gif": "GIF",
    ".avif": "AVIF", ".heic": "HEIF",
}


@pytest.mark.slow
@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_every_format_decodes_reduced_with_full_size(tmp_path: Path, suffix: str):
    im = photo((1200, 800))
    path = tmp_path / f"p{suffix}"
    kwargs = {"quality": 90} if suffix in (".jpg", ".webp", ".avif", ".heic") else {}
    im.save(path, format=FORMATS[suffix], **kwargs)
    out = decode(path, long_edge=300)
    assert (out.width, out.height) == (1200, 800)
    assert out.image.mode == "RGB"
    assert 300 <= max(out.image.size) < 1200  # reduced, never below what was asked for
    small = np.asarray(im.resize(out.image.size), np.float32)
    assert np.abs(np.asarray(out.image, np.float32) - small).mean() < 25  # the same picture


def test_gif_first_frame(tmp_path: Path):
    frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    out = decode(tmp_path / "a.gif", 64)
    assert out.image.getpixel((10, 10))[0] > 200


@pytest.mark.slow
def test_jpeg_uses_draft_mode_not_a_full_decode(tmp_path: Path):
    path = save_jpeg(tmp_path / "big.jpg", photo((4000, 3000)))
    out = decode(path, long_edge=480)
    assert out.image.size == (500, 375)  # libjpeg's 1/8 scale
    assert (out.width, out.height) == (4000, 3000)


def _marked(w=300, h=200) -> Image.Image:
    """An upright image with a red block in its top-left corner."""
    a = np.full((h, w, 3), 60, np.uint8)
    a[: h // 4, : w // 4] = (255, 0, 0)
    return Image.fromarray(a)


# How a camera stores the pixels for each orientation: the inverse of the transform that makes it upright.
STORE = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE], 6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_270],
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_makes_it_upright(tmp_path: Path, orientation: int):
    stored = _marked()
    for op in STORE[orientation]:
        stored = stored.transpose(op)
    path = save_jpeg(tmp_path / f"o{orientation}.jpg", stored, orientation=orientation, quality=95)
    out = decode(path, 400)
    assert (out.width, out.height) == (300, 200)
    a = np.asarray(out.image)
    assert a[10, 10, 0] > 200 and a[10, 10, 1] < 80  # red block back in the top-left
    assert a[-10, -10, 0] < 120  # and nowhere else


def test_capture_time_from_exif(tmp_path: Path):
    out = decode(save_jpeg(tmp_path / "t.jpg", taken="2024:07:14 18:30:05"), 200)
    assert out.captured_at == "2024-07-14T18:30:05"
    assert decode(save_jpeg(tmp_path / "n.jpg"), 200).captured_at is None


def _bomb_png(path: Path, w=50_000, h=50_000) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def _truncated(path: Path) -> Path:
    data = io.BytesIO()
    photo((800, 600)).save(data, format="JPEG", quality=90)
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    return path


BAD = {
    "zero bytes": (lambda p: (p.write_bytes(b""), p)[1], "empty file"),
    "not an image": (lambda p: (p.write_text("just some text, not a photo\n" * 20), p)[1], "not an image"),
    "truncated": (_truncated, "truncated"),
    "decompression bomb": (_bomb_png, "decompression bomb"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_files_give_a_clear_message(tmp_path: Path, kind: str):
    make, expected = BAD[kind]
    suffix = ".png" if kind == "decompression bomb" else ".jpg"
    path = make(tmp_path / f"bad{suffix}")
    with pytest.raises(PhotoError, match=expected):
        decode(path, 300)


def test_missing_file(tmp_path: Path):
    with pytest.raises(PhotoError, match="disappeared"):
        decode(tmp_path / "gone.jpg", 300)


def test_unreadable_file(tmp_path: Path, monkeypatch):
    path = save_jpeg(tmp_path / "locked.jpg")
    os.chmod(path, 0)
    if os.geteuid() == 0:  # root reads anything: make the permission boundary refuse as it would for a user
        real_open = decoding.open_regular
        def refusing_open(fp, *a, **k):
            if Path(fp) == path:
                raise PermissionError(13, "Permission denied", str(fp))
            return real_open(fp, *a, **k)
        monkeypatch.setattr(decoding, "open_regular", refusing_open)
    with pytest.raises(PhotoError, match="permission denied"):
        decode(path, 300)
