"""Export and XMP sidecars in the window: the Export dialog opened on the session's folder, the sidecars written on
the export thread (workers/exporting.py), what the user is told. Given what it works with, like the other
controllers; the dialog itself is ui/export_dialog.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.ui.export_dialog import ExportDialog
from selfie_desk.workers.exporting import ExportOutcome, ExportService
from selfie_desk.workers.service import Job


class ExportController(QObject):
    message = Signal(str, str)  # text, level: the message bar
    status = Signal(str, int)  # text, ms (0: until cleared; an empty text clears it): the status bar

    def __init__(self, session: CullingSession, service: ExportService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.service = session, service
        self.dialog: ExportDialog | None = None

    def show_export(self, parent: QWidget, thumbnail: Callable) -> ExportDialog | None:
        if self.session.folder is None:
            self.status.emit("Open a folder first", 5000)
            return None
        photos = self.session.view.all_photos()
        proposals = {}  # what "apply proposed crops" would cut: listed, with thumbnails, before it may
        try:
            for p in photos:
                proposal = None if p.crop is not None else self.session.catalog.crop_proposal(
                    p.id, self.session.model, "original")
                if proposal is not None:
                    proposals[p.id] = proposal.crop
        except sqlite3.Error as exc:
            self.message.emit(f"Cannot read the crop proposals: {exc}", "warning")
        dialog = ExportDialog(self.service, Path(self.session.folder), photos, self.session.selected_photos(),
                              self.session.model, parent, proposals=proposals, thumbnail=thumbnail)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.dialog = dialog
        return dialog

    def write_sidecars(self) -> Job | None:
        if self.session.folder is None:
            self.status.emit("Open a folder first", 5000)
            return None
        job = self.service.start_sidecars(Path(self.session.folder), self.session.model)
        job.finished.connect(self._on_sidecars_finished)
        decided = sum(p.decision is not None or p.rating > 0 or p.crop is not None
                      for p in self.session.view.all_photos())
        self.status.emit(f"Writing XMP sidecars for {decided} decided photo{'s' if decided != 1 else ''}…", 0)
        return job

    @Slot(object)
    def _on_sidecars_finished(self, outcome: ExportOutcome) -> None:
        self.status.emit("", 0)
        if outcome.error:
            self.message.emit(outcome.error, "error")
            return
        report = outcome.report
        for path, message in report.failed[:3]:
            self.message.emit(f"No sidecar for {Path(path).name}: {message}", "warning")
        self.message.emit(report.summary(), "warning" if report.failed else "info")

    def stop(self, timeout_s: float) -> bool:
        return self.service.stop(timeout_s)
