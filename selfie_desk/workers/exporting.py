"""Exports and XMP sidecars in the background: the core's `export` / `sidecars` on the export service's thread
(`service.Service`), one job after another.

The UI hands in an immutable request (folder, destination, options) and listens to the job's handle; the thread
reads the photos' current decisions from its own Catalog connection (SQLite connections belong to one thread),
so a flag set a moment before the export is in it. Cancelling stops after the file being written; everything
written so far stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfie_desk.core.formats import export, sidecars
from selfie_desk.workers.service import Job, Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRequest:
    kind: str  # "export" | "sidecars"
    folder: Path  # canonical: the photos are this folder's, as the catalog knows them
    dest: Path | None = None
    options: export.ExportOptions = field(default_factory=export.ExportOptions)


@dataclass(frozen=True)
class ExportOutcome:
    report: Any = None  # export.ExportReport or sidecars.SidecarReport
    error: str | None = None  # for the user: one line, no traceback


class ExportService(Service):
    """Background exports and sidecars. A job's `progress` is the core's ExportProgress (done, total, path);
    its `finished` an ExportOutcome."""

    thread_name = "export"
    nice = None  # runs at the window's priority, as the export thread always has

    def start_export(self, folder: Path, dest: Path, options: export.ExportOptions) -> Job:
        """Export in the background (jobs run one after another). Returns the job's handle."""
        return self.submit(ExportRequest("export", folder, dest, options))

    def start_sidecars(self, folder: Path, model: str) -> Job:
        """Write the XMP sidecars of `folder`'s photos in the background. Returns the job's handle."""
        return self.submit(ExportRequest("sidecars", folder, None, export.ExportOptions(model=model)))

    # ---- the export thread -------------------------------------------------------------------------
    def handle(self, job: Job) -> ExportOutcome:
        req: ExportRequest = job.request
        catalog = self.catalog.get()
        photos = catalog.photos(req.options.model, folder=str(req.folder))
        report = lambda p: job.post("progress", p)  # noqa: E731
        try:
            if req.kind == "sidecars":
                return ExportOutcome(report=sidecars.write_sidecars(photos, progress=report, cancel=job.cancel_event))
            assert req.dest is not None
            return ExportOutcome(report=export.export(photos, req.dest, req.options, catalog, progress=report,
                                                      cancel=job.cancel_event))
        except export.ExportError as exc:
            return ExportOutcome(error=str(exc))

    def error_outcome(self, job: Job, message: str) -> ExportOutcome:
        return ExportOutcome(error=f"{job.request.kind.capitalize()} stopped: {message}")
