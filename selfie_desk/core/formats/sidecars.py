"""XMP sidecars for the originals, written only when the user asks: the catalog's stars, flags and crops as
NAME.xmp next to each photo (NAME.EXT.xmp where two photos share a NAME), merged into any sidecar already
there. The photos themselves are never touched.

Only photos with something decided (a flag, stars or an accepted crop) get a sidecar: an untouched photo has
nothing to tell another editor, and an empty sidecar would hide the one its camera or another app may write.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from selfie_desk.core.files import LEGACY_SIDECAR, clean_temp, open_regular
from selfie_desk.core.formats import decoding, raw, xmp
from selfie_desk.core.formats.export import ExportProgress, decisions_update
from selfie_desk.core.storage.catalog import Photo


@dataclass
class SidecarReport:
    considered: int = 0
    written: list[str] = field(default_factory=list)  # sidecar paths
    failed: list[tuple[str, str]] = field(default_factory=list)  # (photo path, message)
    cancelled: bool = False
    elapsed: float = 0.0
    cleaned: int = 0  # temporary files a crashed run had left next to the photos, removed

    def summary(self) -> str:
        text = f"Wrote {len(self.written)} sidecar{'s' if len(self.written) != 1 else ''}"
        undecided = self.considered - len(self.written) - len(self.failed)
        if undecided > 0:
            text += f"; {undecided} photo{'s' if undecided != 1 else ''} with no decision left alone"
        if self.failed:
            text += f"; {len(self.failed)} failed"
        if self.cancelled:
            text += "; cancelled before the end"
        if self.cleaned:
            text += f"; removed {self.cleaned} temporary file{'s' if self.cleaned != 1 else ''} a crash had left"
        return text


def has_decision(photo: Photo) -> bool:
    return photo.decision is not None or photo.rating > 0 or photo.crop is not None


def stored_orientation(path: str) -> int:
    """The photo's EXIF orientation (1 when it has none or cannot be read): the header only, no decoding. A raw's
    is LibRaw's (its pixels are stored as the sensor saw them, and Camera Raw's crop is measured on those)."""
    if raw.is_raw(path):
        return raw.orientation(Path(path))
    try:
        with open_regular(path) as fh, Image.open(fh) as im:
            value = im.getexif().get(decoding.ORIENTATION, 1)
        return value if value in range(1, 9) else 1
    except Exception:
        return 1


def write_one(photo: Photo, stems: Mapping[str, int] | None = None) -> Path:
    """Merge this photo's decisions into its sidecar (NAME.xmp, or NAME.EXT.xmp where another photo of the
    folder has the same NAME; `stems`: xmp.photo_stems of its folder). Raises xmp.XmpError for the user."""
    orientation = stored_orientation(photo.path) if photo.crop is not None else 1
    update = decisions_update(photo, photo.crop, photo.width, photo.height, orientation)
    if update.crop is not None:  # the crop's fractions are on the stored image: say which way up that is
        update = xmp.XmpUpdate(update.rating, update.label, update.crop, orientation=orientation)
    return xmp.write_sidecar(Path(photo.path), update, stems)


def write_sidecars(photos: Sequence[Photo], progress: Callable[[ExportProgress], None] | None = None,
                   cancel: threading.Event | None = None) -> SidecarReport:
    started = time.monotonic()
    todo = [p for p in photos if p.error is None and has_decision(p)]
    report = SidecarReport(considered=len([p for p in photos if p.error is None]))
    folders: dict[Path, Counter[str]] = {}
    for i, photo in enumerate(todo, 1):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        if not Path(photo.path).exists():
            report.failed.append((photo.path, "the photo is gone (moved, deleted or unplugged)"))
        else:
            folder = Path(photo.path).parent
            if folder not in folders:
                # what a run killed mid-write left next to the originals goes first (our own names only)
                report.cleaned += len(clean_temp(folder, legacy=LEGACY_SIDECAR))
                folders[folder] = xmp.photo_stems(folder)
            try:
                report.written.append(str(write_one(photo, folders[folder])))
            except xmp.XmpError as exc:
                report.failed.append((photo.path, str(exc)))
            except (OSError, ValueError, RecursionError, MemoryError) as exc:  # one photo's, never the folder's end
                report.failed.append((photo.path, f"cannot write its sidecar: {type(exc).__name__}: {exc}"))
        if progress is not None:
            progress(ExportProgress(i, len(todo), photo.path))
    report.elapsed = time.monotonic() - started
    return report
