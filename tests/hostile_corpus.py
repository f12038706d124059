"""A hostile folder, generated at test time: every kind of file a user's disk can hold that is not a plain,
well-formed photo (issue 15). `build(root)` writes it and returns what it holds, by class, so tests can check
each class: no traceback, no hang, no original changed, no decision lost, no file left behind.

Run the whole corpus: `.venv/bin/python -m pytest -q tests/test_reliability.py tests/test_reliability_cli.py`
(docs/reliability.md has the figures).
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SPECIAL = "special file"
NAME = "file name"
LINK = "symbolic link"
CONTENT = "damaged or odd content"
SIZE = "pixel bomb"
STEM = "shared NAME (sidecar collision)"
SIDECAR = "hostile sidecar"
DUPLICATE = "duplicate content"
FOLDER = "odd folder"


@dataclass
class Corpus:
    root: Path
    good: list[str] = field(default_factory=list)  # photos that must be scored (paths as os.fsdecode gives them)
    bad: list[str] = field(default_factory=list)  # files that must be catalogued with an error, not scored
    skipped: list[str] = field(default_factory=list)  # folder-level skips (told, not catalogued)
    classes: dict[str, list[str]] = field(default_factory=dict)  # class -> paths (good or bad) of that class
    sockets: list[socket.socket] = field(default_factory=list)

    def add(self, kind: str, path: Path | str, good: bool) -> None:
        text = os.fsdecode(path)
        (self.good if good else self.bad).append(text)
        self.classes.setdefault(kind, []).append(text)

    def close(self) -> None:
        for s in self.sockets:
            s.close()


def image(seed: int, size=(96, 72)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 90 * np.sin(x / w * 3 + seed), 128 + 90 * np.cos(y / h * 2 + seed),
                     255 * (x + y) / (w + h)], -1) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def jpeg_bytes(seed: int, size=(96, 72), **kw) -> bytes:
    buf = io.BytesIO()
    image(seed, size).save(buf, format="JPEG", quality=85, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height, then a tiny IDAT of zeros and IEND: what a
    'decompression bomb' looks like on disk (the pixels compress to almost nothing)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def lying_jpeg(width: int, height: int, seed: int = 0) -> bytes:
    """A real 640 x 480 JPEG (~45 KB) whose frame header (SOF) says `width` x `height`: libjpeg decodes it, filling
    what the data does not hold with grey (issue 31: scored as a 19000 x 19000 photo)."""
    data = jpeg_bytes(seed, size=(640, 480))
    i = 2
    while i + 4 <= len(data):
        marker, size = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            return data[:i + 5] + struct.pack(">HH", height, width) + data[i + 9:]
        i += 2 + size
    raise ValueError("no frame header")


def big_png(path: Path, width: int, height: int) -> None:
    """A really decodable width x height greyscale PNG, written row by row (a few KB on disk)."""
    row = b"\x00" + b"\x00" * width
    comp = zlib.compressobj(9)
    data = bytearray()
    for _ in range(height):
        data += comp.compress(row)
    data += comp.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(data)) + chunk(b"IEND", b""))


def build(root: Path, privileged_cases: bool = True) -> Corpus:
    """Write the corpus under `root` (created). Returns what it holds."""
    root.mkdir(parents=True, exist_ok=True)
    c = Corpus(root)
    seed = iter(range(1000))

    def good(kind: str, name: str | bytes, data: bytes | None = None, folder: Path | None = None) -> Path:
        base = os.fsencode(folder or root)
        path = Path(os.fsdecode(os.path.join(base, os.fsencode(name))))
        path.write_bytes(data if data is not None else jpeg_bytes(next(seed)))
        c.add(kind, path, True)
        return path

    def bad(kind: str, name: str | bytes, data: bytes, folder: Path | None = None) -> Path:
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder or root), os.fsencode(name))))
        path.write_bytes(data)
        c.add(kind, path, False)
        return path

    # ---- file names: bytes on Linux ---------------------------------------------------------------------------
    good(NAME, b"caf\xe9.jpg")  # Latin-1, not UTF-8
    good(NAME, b"\xff\xfe broken.jpg")
    good(NAME, "new\nline.jpg")
    good(NAME, "-rf.jpg")
    good(NAME, 'quote" back\\slash.jpg')
    good(NAME, "emoji 📷 ü.jpg")
    good(NAME, "x" * 240 + ".jpg")
    good(NAME, "tab\tand %s %d {name}.jpg")
    latin = root / os.fsdecode(b"dossier \xe9t\xe9")
    latin.mkdir()
    good(NAME, "inside.jpg", folder=latin)
    good(NAME, b"nested \xe9.jpg", folder=latin)

    # ---- special files: never opened ----------------------------------------------------------------------------
    os.mkfifo(root / "fifo.jpg")
    c.add(SPECIAL, root / "fifo.jpg", False)
    sock_path = root / "socket.png"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(sock_path))
        c.sockets.append(s)
        c.add(SPECIAL, sock_path, False)
    except OSError:  # a path too long for AF_UNIX: no socket case here
        s.close()
    os.symlink("/dev/zero", root / "zero.jpg")
    c.add(SPECIAL, root / "zero.jpg", False)
    os.symlink("/dev/null", root / "null.png")
    c.add(SPECIAL, root / "null.png", False)
    os.symlink("/dev/urandom", root / "random.webp")
    c.add(SPECIAL, root / "random.webp", False)

    # ---- links ------------------------------------------------------------------------------------------------
    os.symlink(root / "nowhere.jpg", root / "dangling.jpg")
    c.add(LINK, root / "dangling.jpg", False)
    os.symlink("self.jpg", root / "self.jpg")
    c.add(LINK, root / "self.jpg", False)
    os.symlink("loop-b.jpg", root / "loop-a.jpg")
    os.symlink("loop-a.jpg", root / "loop-b.jpg")
    c.add(LINK, root / "loop-a.jpg", False)
    c.add(LINK, root / "loop-b.jpg", False)
    target = good(LINK, "link-target.jpg")
    os.symlink(target.name, root / "link-to-photo.jpg")
    c.add(LINK, root / "link-to-photo.jpg", True)
    os.symlink(".", root / "loop-dir")  # a folder link back to its parent: never followed
    c.skipped.append(str(root / "loop-dir"))
    c.classes.setdefault(LINK, []).append(str(root / "loop-dir"))

    # ---- odd folders ---------------------------------------------------------------------------------------------
    (root / "folder.jpg").mkdir()  # a folder with a photo's name: walked as a folder
    good(FOLDER, "in-folder-named-jpg.jpg", folder=root / "folder.jpg")
    deep = root
    for i in range(40):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    good(FOLDER, "deep.jpg", folder=deep)
    (root / "empty").mkdir()
    if privileged_cases:
        locked = root / "locked"
        locked.mkdir()
        good(FOLDER, "behind-a-lock.jpg", folder=locked)  # readable until the test takes the permission away

    # ---- damaged or odd content -------------------------------------------------------------------------------
    bad(CONTENT, "empty.jpg", b"")
    bad(CONTENT, "truncated.jpg", jpeg_bytes(next(seed))[:700])
    bad(CONTENT, "garbage.jpg", os.urandom(5000))
    bad(CONTENT, "text.png", b"this is not a PNG\n" * 20)
    bad(CONTENT, "html.jpg", b"<html><body>404 Not Found</body></html>")
    bad(CONTENT, "header-only.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    bad(CONTENT, "png-no-idat.png", png_header_only(10, 10)[:33])
    buf = io.BytesIO()
    image(next(seed)).save(buf, format="PNG")
    bad(CONTENT, "png-cut.png", buf.getvalue()[: len(buf.getvalue()) // 2])
    good(CONTENT, "orientation-9.jpg", _jpeg_with_orientation(next(seed), 9))
    good(CONTENT, "orientation-6.jpg", _jpeg_with_orientation(next(seed), 6))
    good(CONTENT, "one-pixel.png", _png(Image.new("RGB", (1, 1), (9, 9, 9))))
    good(CONTENT, "strip.png", _png(Image.new("L", (4000, 1), 128)))
    good(CONTENT, "grey16.png", _png(Image.fromarray((np.arange(64 * 48, dtype=np.uint16) * 20).reshape(48, 64))))
    good(CONTENT, "palette-alpha.png", _png(image(next(seed)).convert("P"), transparency=0))
    good(CONTENT, "cmyk.jpg", _encoded(image(next(seed)).convert("CMYK"), "JPEG"))
    good(CONTENT, "progressive.jpg", jpeg_bytes(next(seed), progressive=True))
    good(CONTENT, "tiff.tif", _encoded(image(next(seed)), "TIFF"))
    good(CONTENT, "bmp.bmp", _encoded(image(next(seed)), "BMP"))
    good(CONTENT, "UPPER.JPG")
    bad(CONTENT, "trailing-junk.gif", b"GIF89a" + os.urandom(200))

    # ---- pixel bombs: tiny files, huge headers --------------------------------------------------------------------
    big_png(root / "bomb-19999.png", 19999, 19999)
    c.add(SIZE, root / "bomb-19999.png", False)
    bad(SIZE, "bomb-header-60000.png", png_header_only(60000, 60000))
    bad(SIZE, "bomb-header-1x400M.png", png_header_only(1, 400_000_001))
    bad(SIZE, "lying-19000.jpg", lying_jpeg(19000, 19000, next(seed)))  # issue 31: scored as 19000 x 19000

    # ---- two photos, one NAME: sidecars must not collide ---------------------------------------------------------
    good(STEM, "photo.heic", _encoded(image(next(seed)), "HEIF"))
    good(STEM, "photo.avif", _encoded(image(next(seed)), "AVIF"))
    good(STEM, "anim.gif", _animated(next(seed), "GIF"))
    good(STEM, "anim.webp", _animated(next(seed), "WEBP"))
    good(STEM, "same.jpg")
    good(STEM, "same.JPG")

    # ---- hostile sidecars next to good photos ---------------------------------------------------------------------
    good(SIDECAR, "fifo-sidecar.jpg")
    os.mkfifo(root / "fifo-sidecar.xmp")
    c.classes[SIDECAR].append(str(root / "fifo-sidecar.xmp"))
    good(SIDECAR, "zero-sidecar.jpg")
    os.symlink("/dev/zero", root / "zero-sidecar.xmp")  # would read for ever
    c.classes[SIDECAR].append(str(root / "zero-sidecar.xmp"))
    good(SIDECAR, "dir-sidecar.jpg")
    (root / "dir-sidecar.xmp").mkdir()
    c.classes[SIDECAR].append(str(root / "dir-sidecar.xmp"))
    good(SIDECAR, "laughs.jpg")
    (root / "laughs.xmp").write_text(_BILLION_LAUGHS)
    good(SIDECAR, "malformed.jpg")
    (root / "malformed.xmp").write_text("<x:xmpmeta><rdf:RDF>")
    good(SIDECAR, "huge-rating.jpg")
    (root / "huge-rating.xmp").write_text(_xmp_rating("99999999999999999999"))
    good(SIDECAR, "rated.jpg")
    (root / "rated.xmp").write_text(_xmp_rating("4"))
    good(SIDECAR, "deep-sidecar.jpg")  # issue 31: writing into it raised RecursionError and stopped `sidecars`
    (root / "deep-sidecar.xmp").write_text(deep_xmp(1000))

    # ---- duplicates -------------------------------------------------------------------------------------------------
    data = jpeg_bytes(next(seed))
    good(DUPLICATE, "dup-a.jpg", data)
    good(DUPLICATE, "dup-b.jpg", data)
    os.link(root / "dup-a.jpg", root / "hardlink.jpg")
    c.add(DUPLICATE, root / "hardlink.jpg", True)

    # ---- hidden things are skipped on purpose ----------------------------------------------------------------
    (root / ".hidden.jpg").write_bytes(jpeg_bytes(next(seed)))
    return c


def _png(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _encoded(im: Image.Image, fmt: str) -> bytes:
    if fmt in ("HEIF", "AVIF"):
        import pillow_heif  # noqa: F401  (registers HEIF)

        pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _animated(seed: int, fmt: str) -> bytes:
    frames = [image(seed + k) for k in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _jpeg_with_orientation(seed: int, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg_bytes(seed, exif=exif.tobytes())


def deep_xmp(levels: int) -> str:
    """A well-formed packet with its rating, and `levels` empty elements nested inside it."""
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="2">' + "<a>" * levels
            + "</a>" * levels + "</rdf:Description></rdf:RDF></x:xmpmeta>")


def _xmp_rating(value: str) -> str:
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="{value}"/></rdf:RDF></x:xmpmeta>')


_BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="&lol9;"/></rdf:RDF></x:xmpmeta>"""


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under `root` (links not followed): kind, size and a content digest of regular files, so a
    test can tell that no original changed and nothing was added but what it expects."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            key = os.fsdecode(path)
            if os.path.islink(path):
                out[key] = ("link", os.readlink(path))
            elif os.path.isfile(path) and not os.path.islink(path) and (st.st_mode & 0o170000) == 0o100000:
                with open(path, "rb") as fh:
                    out[key] = ("file", st.st_size, hashlib.blake2b(fh.read(), digest_size=16).hexdigest())
            else:
                out[key] = ("other", st.st_mode & 0o170000)
    return out
