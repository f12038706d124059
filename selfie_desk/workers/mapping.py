"""The folder's map laid out in the background: core/map/layout.py's `layout_for` on the map service's thread
(t-SNE on 10,000 photos takes seconds; from the catalog's cache, milliseconds), one job after another.

The UI hands in the folder and the ids of its photos and listens to the job's handle: `finished` brings a
MapOutcome with the layout and the groups to outline, as stored (the window's grouping service groups the
folder after each scan, with the user's thresholds; the map is outlined again when it has). A job the UI no
longer wants (another folder opened) is `ignore()`d; t-SNE itself cannot be interrupted, so a cancelled job
still finishes its layout and stores it (the next open reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor, QImage

from selfie_desk.core.map.layout import LayoutReport, layout_for, outline
from selfie_desk.workers.service import Job, Service

TILE = 24  # px of a cell in the Map view's mosaic
SMALL = 8  # px of a cell in its small mosaic, drawn far out
BACKGROUND = QColor(30, 30, 32)


def blank_mosaics(cols: int, rows: int) -> tuple[QImage, QImage]:
    """The view's two mosaics, empty: made here because filling 30 MB costs tens of ms (a QImage may be made on
    any thread)."""
    out = []
    for edge in (TILE, SMALL):
        image = QImage(cols * edge, rows * edge, QImage.Format.Format_RGB32)
        image.fill(BACKGROUND)
        out.append(image)
    return out[0], out[1]


@dataclass(frozen=True)
class MapRequest:
    folder: str  # canonical
    photo_ids: tuple[int, ...]


@dataclass(frozen=True)
class MapOutcome:
    report: LayoutReport | None = None
    groups: tuple[tuple[int, ...], ...] = ()  # the photo ids of each stored group of more than one
    cells: dict[int, tuple[int, int]] | None = None  # the layout's cell of each photo (made here, not in the window)
    outline: tuple[tuple[int, int, int, int], ...] = ()  # the groups' outlines (map_layout.outline)
    mosaics: Any = None  # blank_mosaics(cols, rows)
    error: str | None = None  # for the user: one line


class MapService(Service):
    thread_name = "map"

    def start(self, folder: str, photo_ids: tuple[int, ...]) -> Job:
        return self.submit(MapRequest(folder, tuple(photo_ids)))

    def handle(self, job: Job) -> MapOutcome:
        req: MapRequest = job.request
        if job.cancelled:
            return MapOutcome()
        catalog = self.catalog.get()
        report = layout_for(catalog, req.folder, req.photo_ids)
        groups = tuple(g.photo_ids for g in catalog.groups(list(report.layout.ids)) if len(g.photo_ids) > 1)
        cells = report.layout.cell_of()
        return MapOutcome(report=report, groups=groups, cells=cells, outline=tuple(outline(cells, groups)),
                          mosaics=blank_mosaics(report.layout.cols, report.layout.rows))

    def error_outcome(self, job: Job, message: str) -> MapOutcome:
        return MapOutcome(error=f"The map could not be laid out: {message}")
