"""The folder's map laid out in the background: core/map_layout.py's `layout_for` on the map service's thread
(t-SNE on 10,000 photos takes seconds; from the catalog's cache, milliseconds), one job after another.

The UI hands in the folder and the ids of its photos and listens to the job's handle: `finished` brings a
MapOutcome with the layout. A job the UI no longer wants (another folder opened) is `ignore()`d; t-SNE itself
cannot be interrupted, so a cancelled job still finishes its layout and stores it (the next open reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

from selfie_desk.core.map_layout import LayoutReport, layout_for
from selfie_desk.workers.service import Job, Service


@dataclass(frozen=True)
class MapRequest:
    folder: str  # canonical
    photo_ids: tuple[int, ...]


@dataclass(frozen=True)
class MapOutcome:
    report: LayoutReport | None = None
    groups: tuple[tuple[int, ...], ...] = ()  # the photo ids of each stored group of more than one (outlined)
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
        return MapOutcome(report=report, groups=groups)

    def error_outcome(self, job: Job, message: str) -> MapOutcome:
        return MapOutcome(error=f"The map could not be laid out: {message}")
