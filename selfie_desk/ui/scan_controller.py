"""Scanning the open folder: the scoring job's handle, the status bar's scan widget, what the user is told.

Like the crop controller, it is given what it works with (the scoring service, the status widget) and tells
the window what it needs through signals: the photos as indexed and as scored, and how the scan ended. The
window keeps the grid's rows (selection, sorting); this keeps the job: one at a time, a new scan (another
folder, model or device) replacing the one in progress, whose last reports then go nowhere.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from selfie_desk.ui.scan_status import ScanStatus
from selfie_desk.workers.scoring import ScanJob, ScanOutcome, ScoringService


def describe_outcome(outcome: ScanOutcome) -> str:
    """How a scan ended, for the status bar."""
    s = outcome.summary
    if s is None:
        return "Cancelled"
    if outcome.cancelled:
        return f"Cancelled after {s.scored} photos; the rest are scored next time this folder opens"
    if s.scored + s.failed == 0:
        return "Up to date"
    text = f"Scored {s.scored} photo{'s' if s.scored != 1 else ''} in {s.elapsed:.1f} s"
    if s.failed:
        text += f"; {s.failed} could not be read"
    return text


class ScanController(QObject):
    listed = Signal(object)  # list[Photo]: the folder as indexed, before scoring starts
    changed = Signal(object)  # list[Photo] scored (or failed) since the last report; never empty
    finished = Signal(object)  # ScanOutcome of the current scan
    message = Signal(str, str)  # text, level (error | warning)

    def __init__(self, service: ScoringService, status: ScanStatus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service, self.status = service, status
        self.job: ScanJob | None = None  # the scan in progress
        status.cancel_clicked.connect(self.cancel)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, folder: Path, model: str, device: str, batch_size: int = 16) -> ScanJob:
        """Index and score `folder` in the background, replacing the scan in progress."""
        if self.job is not None:
            self.job.ignore()
        job = self.job = self.service.start(folder, model, device, batch_size)
        job.device_ready.connect(self._on_device_ready)
        job.notice.connect(lambda text: self.message.emit(text, "warning"))
        job.listed.connect(self.listed)
        job.changed.connect(self._on_changed)
        job.progress.connect(lambda p: self.status.progress(p.done, p.total, p.rate, p.eta))
        job.finished.connect(self._on_finished)
        self.status.loading_model()
        return job

    def cancel(self) -> None:
        """Stop the scan after its current batch; what it scored stays in the catalog."""
        if self.job is not None:
            self.job.cancel()

    @Slot(str)
    def _on_device_ready(self, label: str) -> None:
        self.status.set_device(label)
        self.status.indexing()

    @Slot(object)
    def _on_changed(self, photos: list) -> None:
        if photos:
            self.changed.emit(photos)

    @Slot(object)
    def _on_finished(self, outcome: ScanOutcome) -> None:
        self.job = None
        if outcome.error:
            self.message.emit(outcome.error, "error")
            self.status.idle("Not scored")
        else:
            self.status.idle(describe_outcome(outcome))
        self.finished.emit(outcome)
