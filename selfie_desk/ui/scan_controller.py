"""Scanning the open folder: the scoring job's handle, the status bar's scan widget, what the scan brings into the
culling session's rows, and what the user is told.

Like the crop controller, it is given what it works with (the scoring service, the status widget, the session and
the grid's selection) and tells the window through signals: the photos as indexed and as scored (`changed`), and
how the scan ended. It keeps the job: one at a time, a new scan (another folder, model or device) replacing the
one in progress, whose last reports then go nowhere. New scores update the rows where they are; the order is
rebuilt when the scan ends, unless the user is at work on a photo (then F5 sorts), so the grid does not shuffle
under the user's keys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.measures.describe import name_of
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.grid_selection import GridSelection
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
    listed = Signal(object)  # list[Photo]: the folder as indexed, before scoring starts (in the rows now)
    changed = Signal(object)  # list[Photo] indexed, scored (or failed) since the last report, now in the rows
    finished = Signal(object)  # ScanOutcome of the current scan
    message = Signal(str, str)  # text, level (error | warning)
    announced = Signal(str, str)  # text, level: the message bar cleared first (one line for many unreadable photos)
    status_text = Signal(str, int)  # text, ms: the status bar

    def __init__(self, service: ScoringService, status: ScanStatus, session: CullingSession,
                 selection: GridSelection, at_work: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service, self.status, self.session, self.selection = service, status, session, selection
        self.at_work = at_work  # whether the user is at work on a photo: re-sorting would move it under them
        self.job: ScanJob | None = None  # the scan in progress
        self.resort_on_finish = False  # the user asked for a new order (another model): re-sort when scored
        self.reported: set[int] = set()  # the unreadable photos the user was told of, in this folder
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
        job.listed.connect(self._on_listed)
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
    def _on_listed(self, photos: list[Photo]) -> None:
        view = self.session.view
        if {p.id for p in photos} != {p.id for p in view.all_photos()}:
            self.selection.keeping(lambda: view.set_photos(photos))
        else:
            view.merge(photos)
        self._told(photos)
        self.listed.emit(photos)

    @Slot(object)
    def _on_changed(self, photos: list[Photo]) -> None:
        if not photos:
            return
        if self.session.view.merge(photos):  # photos the window did not know: take the catalog's view
            self.selection.keeping(lambda: self.session.view.set_photos(
                self.session.catalog.photos(self.session.model, folder=self.session.folder)))
        self._told(photos)

    def _told(self, photos: list[Photo]) -> None:
        self.report_errors(photos)
        self.changed.emit(photos)

    @Slot(object)
    def _on_finished(self, outcome: ScanOutcome) -> None:
        self.job = None
        if outcome.error:
            self.message.emit(outcome.error, "error")
            self.status.idle("Not scored")
        else:
            self.status.idle(describe_outcome(outcome))
        self.resort_when_safe("All scored")
        self.finished.emit(outcome)

    def resort_when_safe(self, what: str) -> None:
        """New scores are in. Sort them in at once unless the user is at work on a photo: then the grid keeps its
        order (the photo looked at never jumps rows) and F5 sorts it when they want."""
        if self.resort_on_finish or not self.at_work():
            self.resort_on_finish = False
            self.selection.keeping(self.session.view.refresh)  # now sorted best first
            return
        self.status_text.emit(f"{what}: the grid keeps its order while you work; "
                              "F5 (View > Re-sort Now) puts it in order", 10000)

    def report_errors(self, photos: list[Photo]) -> None:
        """Tell the user of photos that cannot be read: each of the first three, then one line for them all."""
        new = [p for p in photos if p.error and p.id not in self.reported]
        if not new:
            return
        self.reported.update(p.id for p in new)
        if len(self.reported) <= 3:
            for p in new:
                self.message.emit(f"Cannot read {name_of(p)}: {p.error}", "warning")
        else:
            self.announced.emit(f"{len(self.reported)} photos could not be read; they are marked ! in the grid "
                                "(hover one to see why)", "warning")
