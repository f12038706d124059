"""Exporting the keepers: which photos, how each copy is made, and where it goes, without ever losing a file.

Copies are upright in their pixels (EXIF orientation reset to 1), keep their EXIF (camera, dates, GPS unless
asked to strip it) and ICC profile, and can carry the decisions as embedded XMP. Originals are only read. Each
copy is written to a temporary name in the destination, then linked into place under a name nothing else has:
an existing file is never replaced (the user chooses a new name "photo (2).jpg" or a skip). A full disk, a
read-only destination or a source that vanished fails that one file with a clear message; what was written stays.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from selfie_desk.core.culling.groups import best_of_groups
from selfie_desk.core.culling.ranking import best_first
from selfie_desk.core.files import LEGACY_EXPORT, clean_temp, open_regular, write_new
from selfie_desk.core.formats import raw, xmp
from selfie_desk.core.formats.decoding import (
    EXIF_IFD,
    FULL_DECODE_PIXELS,
    ORIENTATION,
    PhotoError,
    apply_orientation,
    decode,
)
from selfie_desk.core.storage.catalog import Box, Catalog, Photo
from selfie_desk.core.vocabulary import Decision

SELECTIONS = ("picks", "top", "min_score", "ids", "best_of_groups")
FORMATS = ("same", "jpeg", "png", "webp")
_DECISION_WORDS: dict[str, str] = {Decision.KEEP: "pick", Decision.REJECT: "reject"}  # {decision} in a file name
# What a raw photo's export copies: the raw as it is, its JPEG (the pair's, else one made from the raw), or both.
RAW_FILES = ("both", "raw", "jpeg")
_EXT = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_FROM_PIL = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp"}
PATTERN_FIELDS = ("rank", "name", "score", "rating", "decision", "date", "ext")
LIST_NAME = "selfie-desk-export"

_GPS_IFD = 0x8825
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003


class ExportError(Exception):
    """A bad request (unknown pattern field, no destination...): the message is meant for the user."""


@dataclass(frozen=True)
class ExportOptions:
    selection: str = "picks"  # picks | top | min_score | ids | best_of_groups
    top_n: int | None = None
    min_score: float | None = None
    photo_ids: tuple[int, ...] = ()
    apply_crop: bool = False  # the crops the user accepted
    apply_proposals: bool = False  # the crop search's proposal where none was accepted: unreviewed, asked for apart
    long_edge: int | None = None
    format: str = "same"  # same | jpeg | png | webp
    quality: int = 90
    name_pattern: str = "{name}"
    embed_xmp: bool = False
    list_only: bool = False
    skip_existing: bool = False  # on a name clash: skip instead of adding " (2)"
    strip_gps: bool = False
    model: str = "default"
    raw_files: str = "both"  # a raw photo (RAW+JPEG or alone): RAW_FILES


@dataclass(frozen=True)
class ExportProgress:
    done: int
    total: int
    path: str  # the photo just handled


@dataclass(frozen=True)
class FileOutcome:
    source: str
    target: str | None = None  # None when skipped or failed
    error: str | None = None
    skipped: str | None = None  # why it was skipped (a file of that name exists)
    also: str | None = None  # the second file written for a raw photo exported as both raw and JPEG


@dataclass
class ExportReport:
    selected: int = 0
    outcomes: list[FileOutcome] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)  # the CSV/JSON written by a list-only export
    cancelled: bool = False
    elapsed: float = 0.0
    cleaned: int = 0  # temporary files a killed export had left in the destination, removed

    @property
    def written(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.target]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def skipped(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.skipped]

    def summary(self) -> str:
        if self.lists:
            text = f"Listed {self.selected} photo{'s' if self.selected != 1 else ''} in " + ", ".join(
                Path(p).name for p in self.lists)
        else:
            text = f"Exported {len(self.written)} of {self.selected} photo{'s' if self.selected != 1 else ''}"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped (a file of that name exists)"
        if self.failed:
            text += f"; {len(self.failed)} failed"
        if self.cancelled:
            text += "; cancelled before the end"
        if self.cleaned:
            text += f"; removed {self.cleaned} temporary file{'s' if self.cleaned != 1 else ''} a crash had left"
        return text + f" ({self.elapsed:.1f} s)"


# ---- which photos ----------------------------------------------------------------------------------------------


def _by_score(photos: Sequence[Photo]) -> list[Photo]:
    return sorted(photos, key=best_first)


def select(photos: Sequence[Photo], options: ExportOptions) -> list[Photo]:
    """The photos an export takes, best score first. Rejected photos are never taken by a score rule."""
    usable = [p for p in photos if p.error is None]
    rule = options.selection
    if rule == "picks":
        return _by_score([p for p in usable if p.decision == Decision.KEEP])
    if rule == "top":
        if options.top_n is None or options.top_n < 1:
            raise ExportError("top N needs N >= 1")
        scored = [p for p in usable if p.score is not None and p.decision != Decision.REJECT]
        return _by_score(scored)[: options.top_n]
    if rule == "min_score":
        if options.min_score is None:
            raise ExportError("a minimum score is needed")
        return _by_score([p for p in usable if p.score is not None and p.decision != Decision.REJECT
                          and p.score >= options.min_score])
    if rule == "best_of_groups":  # one photo per moment: each group's best not rejected, and the photos alone
        return _by_score(best_of_groups(usable))
    if rule == "ids":
        wanted = set(options.photo_ids)
        return _by_score([p for p in usable if p.id in wanted])
    raise ExportError(f"selection must be one of {', '.join(SELECTIONS)}, not {rule!r}")


def crop_for(photo: Photo, catalog: Catalog | None, model: str) -> tuple[float, float, float, float] | None:
    """The photo's crop as a list shows it: the accepted one, else the search's proposal for the original aspect."""
    if photo.crop is not None:
        return photo.crop
    return proposed_crop(photo, catalog, model)


def proposed_crop(photo: Photo, catalog: Catalog | None, model: str) -> tuple[float, float, float, float] | None:
    """The search's proposal for the original aspect (what "apply proposed crops" would cut), if any. A
    "keep as is" proposal (the whole frame: no crop scored clearly higher) is no crop."""
    if catalog is None:
        return None
    proposal = catalog.crop_proposal(photo.id, model, "original")
    if proposal is None:
        return None
    x0, y0, x1, y1 = proposal.crop
    if photo.width and photo.height and x0 <= 0.5 and y0 <= 0.5 and x1 >= photo.width - 0.5 \
            and y1 >= photo.height - 0.5:
        return None
    return proposal.crop


def applied_crop(photo: Photo, options: ExportOptions,
                 catalog: Catalog | None) -> tuple[float, float, float, float] | None:
    """The crop an export cuts into the pixels: the accepted crop with `apply_crop`; a proposal nobody reviewed
    only with `apply_proposals`, which the user asks for apart (the window lists those photos first)."""
    if photo.crop is not None:
        return photo.crop if options.apply_crop else None
    return proposed_crop(photo, catalog, options.model) if options.apply_proposals else None


# ---- names -------------------------------------------------------------------------------------------------------


def _pattern_parts(pattern: str) -> list[tuple[str, str | None]]:
    """The pattern as (literal text, field name or None) pairs. Only the bare documented placeholders are fields: a
    pattern is never a Python format string (no attributes, indexes, conversions or format specs, which reach
    an object's innards or allocate without bound), so anything else is an ExportError saying what is allowed."""
    known = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ExportError(f"bad name pattern {pattern!r}: {exc}; use {known} ({{{{ and }}}} for braces)") from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        if name not in PATTERN_FIELDS:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise ExportError(f"unknown field {{{shown}}} in the name pattern; use {known} as they are")
        if spec or conversion:
            raise ExportError(f"the name pattern takes {{{name}}} as it is, without '!' or ':' after it; "
                              f"use {known}")
        parts.append((literal, name))
    return parts


def check_pattern(pattern: str) -> None:
    """ExportError for a pattern that names an unknown field, formats one, or is malformed."""
    parts = _pattern_parts(pattern)
    if not any(name for _, name in parts) and not pattern.strip():
        raise ExportError("the name pattern is empty")


def file_stem(pattern: str, photo: Photo, rank: int, total: int) -> str:
    """The new file's name without extension, from the pattern: {rank} (zero-padded), {name}, {score}..."""
    src = Path(photo.path)
    values = {
        "rank": str(rank).zfill(len(str(total))),
        "name": src.stem,
        "score": "none" if photo.score is None else f"{photo.score:.3f}",
        "rating": str(photo.rating),
        "decision": _DECISION_WORDS.get(photo.decision or "", "none"),
        "date": (photo.captured_at or "")[:10] or "nodate",
        "ext": src.suffix.lstrip(".").lower(),
    }
    stem = "".join(literal + ("" if name is None else values[name]) for literal, name in _pattern_parts(pattern))
    stem = re.sub(r'[/\\\x00-\x1f:*?"<>|]', "_", stem).strip().strip(".")
    return stem or src.stem


def output_format(photo_path: str, requested: str) -> str:
    """jpeg, png or webp. "same" keeps the source's format where it is one of those; others become JPEG."""
    if requested != "same":
        return requested
    suffix = Path(photo_path).suffix.lower()
    return {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".webp": "webp"}.get(suffix, "jpeg")


# ---- one copy ------------------------------------------------------------------------------------------------------


def _encode(photo: Photo, options: ExportOptions, fmt: str, crop: Box | None, xmp_packet: bytes | None) -> bytes:
    """The exported file's bytes: upright, cropped, resized, EXIF/ICC kept, XMP embedded."""
    with open_regular(photo.path) as fh, Image.open(fh) as im:
        if im.width * im.height > FULL_DECODE_PIXELS:  # the pixel budget holds for exports too
            raise ExportError(
                f"{im.width} x {im.height} pixels is over the {FULL_DECODE_PIXELS // 1_000_000} MP pixel budget for "
                "re-encoding; export it without crop, resize or a format change to copy it as it is")
        exif = im.getexif()
        icc = im.info.get("icc_profile")
        orientation = exif.get(ORIENTATION, 1)
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        im.load()
        mode = im.mode
        out: Image.Image = im
        if fmt == "jpeg" and out.mode not in ("RGB", "L"):
            out = _flatten(out).convert("RGB") if out.mode in ("RGBA", "LA", "PA", "P") else out.convert("RGB")
        elif fmt in ("png", "webp") and out.mode not in ("RGB", "RGBA", "L", "LA"):
            out = out.convert("RGBA" if "A" in out.mode or "transparency" in out.info else "RGB")
        if out.mode != mode and mode not in ("RGB", "RGBA", "P", "L", "LA"):
            icc = None  # a CMYK (or other) profile does not describe the converted pixels
        out = apply_orientation(out, orientation)
        if crop is not None:
            crop = _scaled(crop, photo, out.size)
            x0, y0, x1, y1 = (int(round(v)) for v in crop)
            x0, y0 = max(0, x0), max(0, y0)
            x1, y1 = min(out.width, x1), min(out.height, y1)
            if x1 > x0 and y1 > y0:
                out = out.crop((x0, y0, x1, y1))
        if options.long_edge and max(out.size) > options.long_edge:
            scale = options.long_edge / max(out.size)
            out = out.resize((max(1, round(out.width * scale)), max(1, round(out.height * scale))),
                             Image.Resampling.LANCZOS)

    exif[ORIENTATION] = 1  # the pixels are upright now
    if options.strip_gps and _GPS_IFD in exif:
        del exif[_GPS_IFD]
    sub = exif.get_ifd(EXIF_IFD)
    if sub:
        if _PIXEL_X in sub:
            sub[_PIXEL_X] = out.width
        if _PIXEL_Y in sub:
            sub[_PIXEL_Y] = out.height
    params: dict[str, Any] = {"exif": exif.tobytes()}  # Image.save's options for the format
    if icc:
        params["icc_profile"] = icc
    if fmt == "jpeg":
        params.update(quality=options.quality, optimize=True)
        if xmp_packet:
            params["xmp"] = xmp_packet
    elif fmt == "webp":
        params.update(quality=options.quality, method=4)
        if xmp_packet:
            params["xmp"] = xmp_packet
    elif fmt == "png":
        if xmp_packet:
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp_packet.decode(), zip=False)
            params["pnginfo"] = info
    buf = io.BytesIO()
    out.save(buf, format=_PIL_FORMAT[fmt], **params)
    return buf.getvalue()


def _scaled(crop: Box, photo: Photo, size: tuple[int, int]) -> Box:
    """A crop in the catalog's pixels (the photo's upright size) in those of `size`: the JPEG of a RAW+JPEG pair,
    or a raw's rendering, may differ from the raw's size by a few pixels or be smaller."""
    if not photo.width or not photo.height or (photo.width, photo.height) == size:
        return crop
    sx, sy = size[0] / photo.width, size[1] / photo.height
    return crop[0] * sx, crop[1] * sy, crop[2] * sx, crop[3] * sy


def _encode_raw(photo: Photo, options: ExportOptions, fmt: str, crop: Box | None, xmp_packet: bytes | None) -> bytes:
    """A raw without a JPEG beside it, as a JPEG (PNG, WebP): its full-size preview, else a demosaic; upright,
    cropped, resized. The raw's EXIF is not carried (LibRaw does not hand it over)."""
    try:
        im = decode(Path(photo.path), options.long_edge or 1 << 20, full_resolution=True).image
    except PhotoError as exc:
        raise ExportError(str(exc)) from None
    if crop is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in _scaled(crop, photo, im.size))
        if x1 > x0 and y1 > y0:
            im = im.crop((max(0, x0), max(0, y0), min(im.width, x1), min(im.height, y1)))
    if options.long_edge and max(im.size) > options.long_edge:
        scale = options.long_edge / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
    params: dict[str, Any] = {}
    if fmt in ("jpeg", "webp"):
        params["quality"] = options.quality
    if xmp_packet and fmt in ("jpeg", "webp"):
        params["xmp"] = xmp_packet
    buf = io.BytesIO()
    im.save(buf, format=_PIL_FORMAT[fmt], **params)
    return buf.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def decisions_update(photo: Photo, crop: tuple[float, float, float, float] | None, width: int | None,
                     height: int | None, orientation: int = 1) -> xmp.XmpUpdate:
    """The catalog's decisions for a photo as XMP fields (crop in pixels of the upright image)."""
    rating = xmp.REJECTED if photo.decision == Decision.REJECT else photo.rating
    xcrop = None
    if crop is not None and width and height:
        xcrop = xmp.crop_to_xmp(crop, width, height, orientation)
    return xmp.XmpUpdate(rating=rating, label=xmp.LABELS.get(photo.decision or ""), crop=xcrop)


def _describe(exc: BaseException, photo: Photo, dest: Path) -> str:
    if isinstance(exc, FileNotFoundError) and not os.path.exists(photo.path):
        return "the photo is gone (moved, deleted or unplugged) and was not exported"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM) and exc.filename == photo.path:
        return f"permission denied: cannot read {photo.path}"
    if isinstance(exc, OSError):
        return _describe_dest(exc, dest)
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or a format Selfie Desk cannot read"
    if isinstance(exc, ExportError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _describe_dest(exc: OSError, dest: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"the destination is full (no space left on {dest}); files already exported are kept"
    if exc.errno == errno.EDQUOT:
        return f"the disk quota for {dest} is used up; files already exported are kept"
    if exc.errno == errno.EROFS:
        return f"cannot write to {dest}: it is on a read-only disk"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: cannot write to {dest} (read-only folder?)"
    return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")


def _can_copy(photo: Photo, options: ExportOptions, fmt: str, crop: Box | None) -> bool:
    """Whether the copy can be the original's own bytes: same format, already upright, nothing to crop, shrink
    or strip. Re-encoding only loses quality then."""
    if crop is not None:
        return False
    with open_regular(photo.path) as fh, Image.open(fh) as im:
        if _FROM_PIL.get(im.format or "") != fmt or getattr(im, "n_frames", 1) > 1:
            return False
        exif = im.getexif()
        if exif.get(ORIENTATION, 1) != 1:
            return False
        if options.long_edge and max(im.size) > options.long_edge:
            return False
        return not (options.strip_gps and _GPS_IFD in exif)


def _packet(photo: Photo, options: ExportOptions, geometry_changed: bool) -> bytes:
    """The copy's XMP: the original's own packet (keywords, captions... kept) with our decisions merged in.
    Applied, the crop is in the pixels already; not applied, the accepted crop travels as Camera Raw's."""
    travelling = None if options.apply_crop else photo.crop  # applied, the accepted crop is in the pixels
    update = decisions_update(photo, travelling, photo.width, photo.height, 1)
    if geometry_changed:
        update = xmp.XmpUpdate(update.rating, update.label, update.crop, drop=xmp.GEOMETRY_FIELDS)
    try:
        existing = xmp.read_embedded(Path(photo.path))
        return xmp.merge(update, existing)
    except (OSError, xmp.XmpError):
        return xmp.merge(update)


def _export_raw(photo: Photo, dest: Path, stem: str, options: ExportOptions, catalog: Catalog | None) -> FileOutcome:
    """A raw photo: the raw copied as it is (its decisions in a NAME.xmp beside it with `embed_xmp`, the way
    Lightroom and darktable read a raw's), and/or its JPEG: the pair's, through the JPEG export (crop, resize,
    format), else one made from the raw."""
    raw_target = jpeg_target = None
    try:
        if options.raw_files in ("raw", "both"):
            with open_regular(photo.path) as fh:
                data = fh.read()
            written = write_new(dest, stem, Path(photo.path).suffix, data, skip_existing=options.skip_existing)
            if written is None:
                return FileOutcome(photo.path, skipped=f"{stem}{Path(photo.path).suffix} exists")
            raw_target = str(written)
        if options.raw_files in ("jpeg", "both"):
            if photo.pair is not None:
                jpeg = export_one(replace(photo, path=photo.pair, pair=None), dest, stem, options, catalog)
                if jpeg.error or jpeg.skipped:
                    return FileOutcome(photo.path, target=raw_target, error=jpeg.error, skipped=jpeg.skipped)
                jpeg_target = jpeg.target
            else:
                fmt = "jpeg" if options.format == "same" else options.format
                crop = applied_crop(photo, options, catalog)
                packet = xmp.merge(decisions_update(photo, None, photo.width, photo.height)) \
                    if options.embed_xmp else None
                written = write_new(dest, stem, _EXT[fmt], _encode_raw(photo, options, fmt, crop, packet),
                                    skip_existing=options.skip_existing)
                jpeg_target = None if written is None else str(written)
        if raw_target is not None and options.embed_xmp:
            orientation = raw.orientation(Path(photo.path))
            update = decisions_update(photo, photo.crop, photo.width, photo.height, orientation)
            if update.crop is not None:
                update = xmp.XmpUpdate(update.rating, update.label, update.crop, orientation=orientation)
            xmp.write_sidecar(Path(raw_target), update)
    except Exception as exc:  # one file's failure is reported, never the end of the export
        return FileOutcome(photo.path, target=raw_target, error=_describe(exc, photo, dest))
    first = raw_target or jpeg_target
    if first is None:
        return FileOutcome(photo.path, skipped=f"{stem} exists")
    return FileOutcome(photo.path, target=first, also=jpeg_target if raw_target else None)


def export_one(photo: Photo, dest: Path, stem: str, options: ExportOptions, catalog: Catalog | None) -> FileOutcome:
    if raw.is_raw(photo.path):
        return _export_raw(photo, dest, stem, options, catalog)
    fmt = output_format(photo.path, options.format)
    crop = applied_crop(photo, options, catalog)
    try:
        data = None
        if _can_copy(photo, options, fmt, crop):
            with open_regular(photo.path) as fh:
                data = fh.read()
            if options.embed_xmp:
                data = xmp.jpeg_with_xmp(data, _packet(photo, options, False)) if fmt == "jpeg" else None
        if data is None:
            packet = _packet(photo, options, True) if options.embed_xmp else None
            data = _encode(photo, options, fmt, crop, packet)
        target = write_new(dest, stem, _EXT[fmt], data, skip_existing=options.skip_existing)
        if target is None:
            return FileOutcome(photo.path, skipped=f"{stem}{_EXT[fmt]} exists")
        return FileOutcome(photo.path, target=str(target))
    except Exception as exc:  # one file's failure is reported, never the end of the export
        return FileOutcome(photo.path, error=_describe(exc, photo, dest))


# ---- the list ------------------------------------------------------------------------------------------------------


def list_rows(photos: Sequence[Photo], catalog: Catalog | None, model: str) -> list[dict[str, Any]]:
    rows = []
    for rank, p in enumerate(photos, 1):
        crop = crop_for(p, catalog, model)
        rows.append({
            "rank": rank,
            "path": p.path,
            "score": None if p.score is None else round(p.score, 6),
            "decision": p.decision,
            "rating": xmp.REJECTED if p.decision == Decision.REJECT else p.rating,
            "crop": None if crop is None else [round(v, 1) for v in crop],
            "crop_accepted": p.crop is not None,
            "width": p.width,
            "height": p.height,
            "pair": p.pair,  # the JPEG of a RAW+JPEG pair (`path` is the raw)
        })
    return rows


def write_lists(rows: list[dict[str, Any]], dest: Path, skip_existing: bool = False) -> list[Path]:
    """The selection as CSV and as JSON in `dest` (new names, never replacing a file)."""
    text = io.StringIO()
    writer = csv.writer(text)
    keys = list(rows[0]) if rows else ["rank", "path", "score", "decision", "rating", "crop", "crop_accepted",
                                       "width", "height", "pair"]
    writer.writerow(keys)
    for row in rows:
        writer.writerow(["" if row[k] is None else (" ".join(map(str, row[k])) if k == "crop" else row[k])
                         for k in keys])
    out = []
    # a file name that is not UTF-8 goes into the CSV as its own bytes (as it is on disk); JSON escapes it
    csv_data = text.getvalue().encode("utf-8", "surrogateescape")
    for ext, data in ((".csv", csv_data), (".json", (json.dumps(rows, indent=1) + "\n").encode())):
        target = write_new(dest, LIST_NAME, ext, data, skip_existing=skip_existing)
        if target is not None:
            out.append(target)
    return out


# ---- the whole export ----------------------------------------------------------------------------------------------


def check_options(options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {options.format!r}")
    if options.raw_files not in RAW_FILES:
        raise ExportError(f"raw files must be one of {', '.join(RAW_FILES)}, not {options.raw_files!r}")
    if not 1 <= options.quality <= 100:
        raise ExportError("quality must be 1-100")
    if options.long_edge is not None and options.long_edge < 1:
        raise ExportError("the long edge must be at least 1 pixel")
    if options.selection not in SELECTIONS:
        raise ExportError(f"selection must be one of {', '.join(SELECTIONS)}")
    check_pattern(options.name_pattern)


def export(photos: Sequence[Photo], dest: Path, options: ExportOptions, catalog: Catalog | None = None,
           progress: Callable[[ExportProgress], None] | None = None,
           cancel: threading.Event | None = None) -> ExportReport:
    """Export the photos `options` selects from `photos` into `dest` (created if needed).

    `catalog` (optional) gives the crop search's proposals; `progress` is called after each file; setting
    `cancel` stops after the file in progress (everything written so far stays)."""
    check_options(options)
    started = time.monotonic()
    chosen = select(photos, options)
    report = ExportReport(selected=len(chosen))
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        message = f"cannot create the destination {dest}: {exc.strerror or exc}"
        report.outcomes = [FileOutcome(p.path, error=message) for p in chosen]
        report.elapsed = time.monotonic() - started
        return report
    report.cleaned = len(clean_temp(dest, legacy=LEGACY_EXPORT))  # what a killed export left here
    if options.list_only:
        try:
            report.lists = [str(p) for p in write_lists(list_rows(chosen, catalog, options.model), dest,
                                                        options.skip_existing)]
        except OSError as exc:
            report.outcomes = [FileOutcome(str(dest / LIST_NAME), error=_describe_dest(exc, dest))]
        report.elapsed = time.monotonic() - started
        return report
    for rank, photo in enumerate(chosen, 1):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        stem = file_stem(options.name_pattern, photo, rank, len(chosen))
        report.outcomes.append(export_one(photo, dest, stem, options, catalog))
        if progress is not None:
            progress(ExportProgress(rank, len(chosen), photo.path))
    report.elapsed = time.monotonic() - started
    return report


def inside(folder: Path, dest: Path) -> bool:
    """Whether `dest` is `folder` or under it: the copies would then join the folder's photos at its next scan."""
    try:
        Path(os.path.abspath(dest)).relative_to(os.path.abspath(folder))
        return True
    except ValueError:
        return False
