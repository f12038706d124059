"""Decisions as XMP, the metadata other editors read: stars, a colour label and Camera Raw's crop.

What we write, and what Lightroom, Adobe Camera Raw, darktable and digiKam read:
- `xmp:Rating`: 1-5 stars, 0 none, -1 rejected (Lightroom's convention);
- `xmp:Label`: a colour label (picks "Green", rejects "Red");
- `crs:HasCrop`, `crs:CropLeft/Top/Right/Bottom` (fractions 0-1) and `crs:CropAngle` (degrees).

Camera Raw's crop fractions are measured on the image AS STORED, before its EXIF orientation turns it upright
(darktable's Lightroom import, src/develop/lightroom.c, flips and swaps them by the orientation; so does ART's).
The catalog keeps crops in pixels of the upright image, so `crop_to_xmp` / `crop_from_xmp` convert between the
two; on an exported file (orientation reset to 1) both frames are the same.

Reading also takes darktable's own fields (src/common/exif.cc), where it writes a decision differently: its colour
labels as `darktable:colorlabels` (a sequence of 0 red ... 4 purple; it never writes `xmp:Label`), and its crop as
the last enabled `crop` entry of `darktable:history` before `darktable:history_end` (src/iop/crop.c's parameters:
left, top, right, bottom as fractions of the image after darktable's flip, i.e. upright, then the aspect), hex or
"gz" + zlib + base64 encoded. Every decision we write reads back: a fresh catalog takes stars, picks, rejects and
crops from sidecars and embedded packets alike (indexing.apply_xmp).

Sidecars follow Lightroom: `NAME.xmp` next to `NAME.EXT`, except where two photos of a folder share a NAME
(photo.heic and photo.avif): each then gets darktable's `NAME.EXT.xmp`. A RAW+JPEG pair is one photo: its raw
gets `NAME.xmp` (what Lightroom reads for a raw, and darktable imports), and its JPEG none of its own. We read
both conventions. Writing merges into an existing sidecar: every other field and namespace in it is kept, and the
file is replaced atomically.
"""

from __future__ import annotations

import os
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from selfie_desk.core.files import open_regular, write_atomic
from selfie_desk.core.formats import raw
from selfie_desk.core.formats.decoding import SUFFIXES
from selfie_desk.core.vocabulary import Decision

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "darktable": "http://darktable.sf.net/",
}
RDF, XMP_NS, CRS_NS, TIFF_NS = (f"{{{NS[k]}}}" for k in ("rdf", "xmp", "crs", "tiff"))
RATING, LABEL, ORIENTATION = XMP_NS + "Rating", XMP_NS + "Label", TIFF_NS + "Orientation"
CROP_FIELDS = tuple(CRS_NS + n for n in ("CropLeft", "CropTop", "CropRight", "CropBottom"))
HAS_CROP, CROP_ANGLE = CRS_NS + "HasCrop", CRS_NS + "CropAngle"
DT_NS = f"{{{NS['darktable']}}}"
DT_COLOURS = ("Red", "Yellow", "Green", "Blue", "Purple")  # darktable:colorlabels' 0-4
# What a packet says about the pixels' geometry: stale once a copy is turned upright, cropped or resized.
GEOMETRY_FIELDS = (ORIENTATION, TIFF_NS + "ImageWidth", TIFF_NS + "ImageLength", f"{{{NS['exif']}}}PixelXDimension",
                   f"{{{NS['exif']}}}PixelYDimension", HAS_CROP, *CROP_FIELDS, CROP_ANGLE)

# Lightroom's default label set: Red, Yellow, Green, Blue, Purple
LABELS: dict[str, str] = {Decision.KEEP: "Green", Decision.REJECT: "Red"}
REJECTED = -1

_PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"  # the fixed id every XMP packet wrapper carries
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_HEAD_SCAN = 256 * 1024  # formats we do not walk: the packet is looked for in the file's first 256 KiB
MAX_DEPTH = 100  # elements nested in a packet; darktable's history, the deepest we know, is under ten


class XmpError(Exception):
    """XMP that cannot be read or written; the message is meant for the user."""


@dataclass(frozen=True)
class XmpCrop:
    """Camera Raw's crop: fractions of the image as stored (before its EXIF orientation), and a straightening angle."""

    left: float
    top: float
    right: float
    bottom: float
    angle: float = 0.0


@dataclass(frozen=True)
class XmpInfo:
    """What a sidecar or an embedded packet says about a photo (None: it does not say)."""

    rating: int | None = None  # -1 rejected, 0 none, 1-5 stars
    label: str | None = None
    crop: XmpCrop | None = None
    orientation: int | None = None  # tiff:Orientation, when the packet carries one
    # darktable's crop: (left, top, right, bottom) as fractions of the upright image (no orientation to undo)
    upright_crop: tuple[float, float, float, float] | None = None

    @property
    def empty(self) -> bool:
        return self.rating is None and self.label is None and self.crop is None and self.upright_crop is None

    @property
    def decision(self) -> Decision | None:
        """The flag this says, as Selfie Desk writes it: a -1 rating rejects, a Green label picks."""
        if self.rating == REJECTED:
            return Decision.REJECT
        if (self.label or "").strip().lower() == LABELS[Decision.KEEP].lower():
            return Decision.KEEP
        return None


@dataclass(frozen=True)
class XmpUpdate:
    """Fields to set; None leaves a field as the existing packet has it."""

    rating: int | None = None
    label: str | None = None
    crop: XmpCrop | None = None
    orientation: int | None = None  # written only where the packet has none (the user may have rotated it)
    drop: tuple[str, ...] = ()  # properties ({namespace}Name) to remove before setting the fields above


# ---- geometry: upright pixels <-> Camera Raw's stored-frame fractions -------------------------------------------


def _upright_from_stored(x: float, y: float, orientation: int) -> tuple[float, float]:
    """Where a point of the stored image (fractions) lands once the EXIF orientation makes it upright."""
    return {
        2: (1 - x, y), 3: (1 - x, 1 - y), 4: (x, 1 - y), 5: (y, x),
        6: (1 - y, x), 7: (1 - y, 1 - x), 8: (y, 1 - x),
    }.get(orientation, (x, y))


def _stored_from_upright(u: float, v: float, orientation: int) -> tuple[float, float]:
    return {
        2: (1 - u, v), 3: (1 - u, 1 - v), 4: (u, 1 - v), 5: (v, u),
        6: (v, 1 - u), 7: (1 - v, 1 - u), 8: (1 - v, u),
    }.get(orientation, (u, v))


def _corners(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float, float]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


def crop_to_xmp(box: tuple[float, float, float, float], width: int, height: int, orientation: int = 1) -> XmpCrop:
    """A crop in pixels of the upright image (`width` x `height`, upright) as Camera Raw's fractions."""
    x0, y0, x1, y1 = box
    u0, v0 = max(0.0, min(1.0, x0 / width)), max(0.0, min(1.0, y0 / height))
    u1, v1 = max(0.0, min(1.0, x1 / width)), max(0.0, min(1.0, y1 / height))
    left, top, right, bottom = _corners(_stored_from_upright(u0, v0, orientation),
                                        _stored_from_upright(u1, v1, orientation))
    return XmpCrop(left, top, right, bottom, 0.0)


def crop_from_xmp(crop: XmpCrop, width: int, height: int, orientation: int = 1) -> tuple[float, float, float, float]:
    """Camera Raw's fractions as a box in pixels of the upright image (`width` x `height`, upright).
    The angle is not applied: the box is the crop's axis-aligned extent."""
    u0, v0, u1, v1 = _corners(_upright_from_stored(crop.left, crop.top, orientation),
                              _upright_from_stored(crop.right, crop.bottom, orientation))
    return u0 * width, v0 * height, u1 * width, v1 * height


# ---- reading ------------------------------------------------------------------------------------------------------


def photo_stems(folder: Path) -> Counter[str]:
    """How many photos of `folder` have each NAME (photo.heic and photo.avif: 2 for "photo"). A RAW+JPEG pair is
    one photo (IMG_1.CR2 and IMG_1.JPG: 1), so the raw gets Lightroom's IMG_1.xmp, as Lightroom and darktable
    read it for a raw."""
    try:
        names = [n for n in os.listdir(folder) if not n.startswith(".") and Path(n).suffix.lower() in SUFFIXES]
    except OSError:
        return Counter()
    paired = set(raw.pair_up(names).values())
    return Counter(Path(n).stem for n in names if n not in paired)


def shares_name(photo: Path, stems: Mapping[str, int] | None = None) -> bool:
    """Whether another photo in the same folder has the same NAME (photo.heic and photo.avif, IMG_1.jpg and
    IMG_1.JPG): a bare NAME.xmp would then be both photos' sidecar. `stems`: `photo_stems` of the folder,
    when the caller has it already."""
    if stems is None:
        stems = photo_stems(photo.parent)
    return stems.get(photo.stem, 0) > 1


def sidecar_path(photo: Path, stems: Mapping[str, int] | None = None) -> Path:
    """The sidecar we write for a photo: Lightroom's NAME.xmp next to NAME.EXT, or darktable's NAME.EXT.xmp
    whenever another photo of the folder has the same NAME (two photos must never share one sidecar)."""
    if shares_name(photo, stems):
        return photo.with_name(photo.name + ".xmp")
    return photo.with_suffix(".xmp")


def sidecar_candidates(photo: Path, stems: Mapping[str, int] | None = None) -> list[Path]:
    """Sidecars other apps may have written, most specific first: darktable's NAME.EXT.xmp, then NAME.xmp/.XMP
    (only when no other photo of the folder has the same NAME: such a NAME.xmp cannot say whose it is)."""
    own = photo.with_name(photo.name + ".xmp")
    bare = [p for p in (photo.with_suffix(".xmp"), photo.with_suffix(".XMP")) if os.path.lexists(p)]
    if not bare or shares_name(photo, stems):  # the folder is listed only when a bare sidecar is there
        return [own]
    return [own, *bare]


def parse(data: bytes) -> XmpInfo:
    """The fields we know from an XMP packet (a sidecar's text or an embedded packet)."""
    root = _parse_root(data)
    values: dict[str, str] = {}
    for desc in root.iter(RDF + "Description"):
        for key, value in desc.attrib.items():
            values.setdefault(key, value)
        for child in desc:
            if child.text and child.text.strip() and len(child) == 0:
                values.setdefault(child.tag, child.text.strip())
    rating = _int(values.get(RATING))
    if rating is not None and not -1 <= rating <= 5:
        rating = None
    crop = None
    if values.get(HAS_CROP, "").strip().lower() == "true":
        left, top, right, bottom = (_float(values.get(k)) for k in CROP_FIELDS)
        if left is not None and top is not None and right is not None and bottom is not None:
            if 0 <= left < right <= 1 and 0 <= top < bottom <= 1:
                crop = XmpCrop(left, top, right, bottom, _float(values.get(CROP_ANGLE)) or 0.0)
    orientation = _int(values.get(ORIENTATION))
    label = values.get(LABEL) or _darktable_label(root)
    return XmpInfo(rating=rating, label=label or None, crop=crop,
                   orientation=orientation if orientation in range(1, 9) else None,
                   upright_crop=None if crop is not None else _darktable_crop(root, values))


def _darktable_label(root: ET.Element) -> str | None:
    """darktable's colour labels (it writes no xmp:Label): Green when green is among them (a pick), else the first."""
    found = []
    for labels in root.iter(DT_NS + "colorlabels"):
        for li in labels.iter(RDF + "li"):
            n = _int((li.text or "").strip())
            if n is not None and 0 <= n < len(DT_COLOURS):
                found.append(DT_COLOURS[n])
    return "Green" if "Green" in found else (found[0] if found else None)


def _darktable_crop(root: ET.Element, values: Mapping[str, str]) -> tuple[float, float, float, float] | None:
    """The crop darktable applies: its history's last enabled `crop` entry among the first history_end."""
    end = _int(values.get(DT_NS + "history_end"))
    crop = None
    for history in root.iter(DT_NS + "history"):
        for i, li in enumerate(history.iter(RDF + "li")):
            num = _int(li.get(DT_NS + "num"))
            if end is not None and (num if num is not None else i) >= end:
                continue
            if li.get(DT_NS + "operation") != "crop":
                continue
            box = _darktable_crop_params(li.get(DT_NS + "params") or "")
            enabled = li.get(DT_NS + "enabled", "1").strip() not in ("0", "false", "False")
            crop = box if enabled else None
    return crop


def _darktable_crop_params(text: str) -> tuple[float, float, float, float] | None:
    """src/iop/crop.c's dt_iop_crop_params_t (float cx, cy, cw, ch; int ratio_n, ratio_d), little-endian, as
    darktable's dt_exif_xmp_encode writes a blob: hex, or "gz", two digits, then base64 of zlib."""
    import base64
    import binascii

    try:
        if text.startswith("gz"):
            blob = zlib.decompressobj().decompress(base64.b64decode(text[4:]), 4096)
        else:
            blob = bytes.fromhex(text)
        left, top, right, bottom = struct.unpack_from("<4f", blob)
    except (ValueError, binascii.Error, zlib.error, struct.error):
        return None
    if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
        return None
    if (left, top, right, bottom) == (0.0, 0.0, 1.0, 1.0):
        return None  # the whole frame: no crop
    return left, top, right, bottom


def read(path: Path) -> XmpInfo:
    """What the XMP around a photo says: its sidecar (darktable's or Lightroom's), else the packet embedded in it.
    Unreadable or malformed XMP counts as none (indexing must not stop on another app's bad file)."""
    path = Path(path)
    for sidecar in sidecar_candidates(path):
        try:
            with open_regular(sidecar) as fh:  # a FIFO named NAME.xmp must not hang indexing
                info = parse(fh.read())
        except (OSError, XmpError):
            continue
        if not info.empty:
            return info
    try:
        packet = read_embedded(path)
        return parse(packet) if packet else XmpInfo()
    except (OSError, XmpError):
        return XmpInfo()


def read_embedded(path: Path) -> bytes | None:
    """The XMP packet inside a photo file, found without decoding the image (JPEG, PNG and WebP are walked
    segment by segment; other formats are searched in their first 256 KiB)."""
    with open_regular(path) as fh:
        head = fh.read(16)
        fh.seek(0)
        try:
            if head.startswith(b"\xff\xd8"):
                return _jpeg_xmp(fh)
            if head.startswith(b"\x89PNG\r\n\x1a\n"):
                return _png_xmp(fh)
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp_xmp(fh)
        except (struct.error, ValueError, zlib.error):  # a truncated or damaged file: no packet found
            return None
        return _scan(fh.read(_HEAD_SCAN))


def _jpeg_xmp(fh: BinaryIO) -> bytes | None:
    fh.seek(2)
    while True:
        marker = fh.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue
        if kind in (0xDA, 0xD9):  # start of scan: the metadata segments are all before it
            return None
        size = struct.unpack(">H", fh.read(2))[0]
        if kind == 0xE1:
            body = fh.read(size - 2)
            if body.startswith(_JPEG_XMP):
                return body[len(_JPEG_XMP):]
        else:
            fh.seek(size - 2, os.SEEK_CUR)


def _png_xmp(fh: BinaryIO) -> bytes | None:
    fh.seek(8)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return None
        size, kind = struct.unpack(">I4s", head)
        if kind == b"iTXt":
            body = fh.read(size)
            keyword, _, rest = body.partition(b"\x00")
            if keyword == b"XML:com.adobe.xmp" and len(rest) >= 2:
                compressed = rest[0] == 1
                text = rest[2:].split(b"\x00", 2)[-1]  # skip language tag and translated keyword
                if compressed:
                    text = zlib.decompress(text)
                return text
            fh.seek(4, os.SEEK_CUR)
        elif kind == b"IEND":
            return None
        else:
            fh.seek(size + 4, os.SEEK_CUR)


def _webp_xmp(fh: BinaryIO) -> bytes | None:
    fh.seek(12)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return None
        kind, size = struct.unpack("<4sI", head)
        if kind == b"XMP ":
            return fh.read(size)
        fh.seek(size + (size & 1), os.SEEK_CUR)


def _scan(data: bytes) -> bytes | None:
    start = data.find(b"<x:xmpmeta")
    end = data.find(b"</x:xmpmeta>", start)
    if start < 0 or end < 0:
        return None
    return data[start:end + len(b"</x:xmpmeta>")]


def _parse_root(data: bytes) -> ET.Element:
    """The packet's root element. A packet nested deeper than MAX_DEPTH is refused while it is parsed: writing
    one back (ElementTree serialises recursively) raised RecursionError at ~1,000 levels, and no editor nests
    XMP more than a dozen deep."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    root: ET.Element | None = None
    depth = 0
    try:
        parser.feed(data.strip(b"\x00 \t\r\n"))
        parser.close()
        for event, element in cast(Iterator[tuple[str, ET.Element]], parser.read_events()):
            if event == "start":
                root = element if root is None else root
                depth += 1
                if depth > MAX_DEPTH:
                    raise XmpError(f"nested more than {MAX_DEPTH} levels deep: not an XMP packet any editor writes")
            else:
                depth -= 1
    except ET.ParseError as exc:
        raise XmpError(f"malformed XMP: {exc}") from None
    if root is None:
        raise XmpError("not an XMP packet (empty)")
    if root.tag == RDF + "RDF":  # a bare rdf:RDF (allowed): wrap it as x:xmpmeta
        meta = ET.Element(f"{{{NS['x']}}}xmpmeta")
        meta.append(root)
        root = meta
    if root.find(RDF + "RDF") is None:
        raise XmpError("not an XMP packet (no rdf:RDF)")
    return root


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


# ---- writing ------------------------------------------------------------------------------------------------------


def _namespaces(data: bytes) -> list[tuple[str, str]]:
    """The document's own prefixes, so that a merged file keeps them (ElementTree would invent ns0, ns1...)."""
    out = []
    for prefix, uri in re.findall(rb'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']([^"\']*)["\']', data):
        out.append((prefix.decode(), uri.decode(errors="replace")))
    return out


def _register(pairs: list[tuple[str, str]]) -> None:
    for prefix, uri in pairs:
        if not re.fullmatch(r"ns\d+", prefix):
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:
                pass
    for prefix, uri in NS.items():  # ours last: our fields always get their usual prefixes
        ET.register_namespace(prefix, uri)


def merge(update: XmpUpdate, existing: bytes | None = None) -> bytes:
    """A packet with `update`'s fields set, and everything else `existing` holds kept as it was."""
    if existing and existing.strip(b"\x00 \t\r\n"):
        root = _parse_root(existing)
        _register(_namespaces(existing))
    else:
        _register([])
        root = ET.Element(f"{{{NS['x']}}}xmpmeta")
        ET.SubElement(root, RDF + "RDF")
    rdf = root.find(RDF + "RDF")
    assert rdf is not None
    descriptions = rdf.findall(RDF + "Description")
    if not descriptions:
        target = ET.SubElement(rdf, RDF + "Description", {RDF + "about": ""})
        descriptions = [target]
    target = descriptions[0]
    for key in update.drop:
        for desc in descriptions:
            desc.attrib.pop(key, None)
            for child in desc.findall(key):
                desc.remove(child)

    fields: dict[str, str] = {}
    if update.rating is not None:
        if not -1 <= update.rating <= 5:
            raise ValueError("an XMP rating is -1 (rejected) or 0-5")
        fields[RATING] = str(update.rating)
    if update.label is not None:
        fields[LABEL] = update.label
    if update.crop is not None:
        c = update.crop
        fields[HAS_CROP] = "True"
        for key, edge in zip(CROP_FIELDS, (c.left, c.top, c.right, c.bottom), strict=True):
            fields[key] = f"{edge:.6f}"
        fields[CROP_ANGLE] = f"{c.angle:g}"
    if update.orientation is not None and not _has(descriptions, ORIENTATION):
        fields[ORIENTATION] = str(update.orientation)

    for key, value in fields.items():
        for desc in descriptions:  # one value per property: drop it wherever (and however) it was written
            desc.attrib.pop(key, None)
            for child in desc.findall(key):
                desc.remove(child)
        target.set(key, value)
    body = ET.tostring(root, encoding="unicode")
    return (f'<?xpacket begin="\ufeff" id="{_PACKET_ID}"?>\n{body}\n<?xpacket end="w"?>').encode()


def jpeg_with_xmp(data: bytes, packet: bytes) -> bytes | None:
    """The JPEG `data` with `packet` as its XMP segment (replacing any), the image data untouched: a lossless
    copy. None when the packet does not fit one segment or the file's segments cannot be walked."""
    segment_body = _JPEG_XMP + packet
    if len(segment_body) + 2 > 0xFFFF or not data.startswith(b"\xff\xd8"):
        return None
    kept, pos, insert_at = [data[:2]], 2, None
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        kind = data[pos + 1]
        if kind in (0xDA, 0xD9):  # the image data: everything from here on is copied as it is
            break
        size = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment = data[pos:pos + 2 + size]
        if len(segment) < 2 + size:
            return None
        if kind == 0xE1 and segment[4:].startswith(_JPEG_XMP):
            pass  # the old packet: replaced
        else:
            kept.append(segment)
            if kind in (0xE0, 0xE1):
                insert_at = len(kept)  # after JFIF and EXIF, as other writers place it
        pos += 2 + size
    else:
        return None
    new = b"\xff\xe1" + struct.pack(">H", len(segment_body) + 2) + segment_body
    kept.insert(insert_at if insert_at is not None else 1, new)
    return b"".join(kept) + data[pos:]


def _has(descriptions: list[ET.Element], key: str) -> bool:
    return any(key in d.attrib or d.find(key) is not None for d in descriptions)


def write_sidecar(photo: Path, update: XmpUpdate, stems: Mapping[str, int] | None = None) -> Path:
    """Merge `update` into the photo's sidecar (`sidecar_path`; created if absent). Raises XmpError with a
    user-facing message."""
    target = sidecar_path(Path(photo), stems)
    try:
        existing = None
        if os.path.lexists(target):
            with open_regular(target) as fh:
                existing = fh.read()
    except OSError as exc:
        raise XmpError(f"cannot read {target.name}: {exc.strerror or exc}") from None
    try:
        data = merge(update, existing)
    except XmpError as exc:
        raise XmpError(f"{target.name} is not valid XMP, left as it is ({exc})") from None
    try:
        write_atomic(target, data, suffix=".xmp.part", keep_mode=True)  # a crash's leftover: clean_temp
    except OSError as exc:
        raise XmpError(f"cannot write {target.name}: {exc.strerror or exc}") from None
    return target
