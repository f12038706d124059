"""Exports and XMP sidecars in the background: the core's `export` / `sidecars` on a thread of their own,
reported by queued signals.

The UI hands in an immutable request (folder, destination, options, a job id and a cancel event); the worker
reads the photos' current decisions from its own Catalog connection (SQLite connections belong to one thread),
so a flag set a moment before the export is in it. Cancelling stops after the file being written; everything
written so far stays.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from selfie_desk.core import export, sidecars
from selfie_desk.workers.thread_catalog import ThreadCatalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRequest:
    job_id: int
    kind: str  # "export" | "sidecars"
    folder: Path  # canonical: the photos are this folder's, as the catalog knows them
    dest: Path | None = None
    options: export.ExportOptions = field(default_factory=export.ExportOptions)
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class ExportOutcome:
    report: Any = None  # export.ExportReport or sidecars.SidecarReport
    error: str | None = None  # for the user: one line, no traceback


class _ExportWorker(QObject):
    progress = Signal(int, int, int, str)  # job id, done, total, path of the photo just handled
    finished = Signal(int, object)  # job id, ExportOutcome

    def __init__(self, catalog_path: Path) -> None:
        super().__init__()
        self._catalog = ThreadCatalog(catalog_path)

    @Slot(object)
    def run(self, req: ExportRequest) -> None:
        try:
            outcome = ExportOutcome(report=self._run(req))
        except export.ExportError as exc:
            outcome = ExportOutcome(error=str(exc))
        except Exception as exc:  # a report for the user, never a dead thread
            log.exception("%s of %s failed", req.kind, req.folder)
            outcome = ExportOutcome(error=f"{req.kind.capitalize()} stopped: {type(exc).__name__}: {exc}")
        self.finished.emit(req.job_id, outcome)

    def _run(self, req: ExportRequest) -> Any:
        catalog = self._catalog.get()

        def report(p: export.ExportProgress) -> None:
            self.progress.emit(req.job_id, p.done, p.total, p.path)

        photos = catalog.photos(req.options.model, folder=str(req.folder))
        if req.kind == "sidecars":
            return sidecars.write_sidecars(photos, progress=report, cancel=req.cancel)
        assert req.dest is not None
        return export.export(photos, req.dest, req.options, catalog, progress=report, cancel=req.cancel)

    @Slot()
    def shut_down(self) -> None:
        self._catalog.close()
        QThread.currentThread().quit()


class ExportService(QObject):
    """The UI's handle on background exports. Lives on the UI thread; re-emits the worker's reports there."""

    progress = Signal(int, int, int, str)
    finished = Signal(int, object)
    _submit = Signal(object)
    _shut_down = Signal()

    def __init__(self, catalog_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("export")
        self._worker = _ExportWorker(catalog_path)
        self._worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._submit.connect(self._worker.run, queued)
        self._shut_down.connect(self._worker.shut_down, queued)
        self._worker.progress.connect(self.progress, queued)
        self._worker.finished.connect(self.finished, queued)
        self.finished.connect(self._job_finished)
        self._next_id = 0
        self._running: dict[int, ExportRequest] = {}
        self._stopped = False

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def _start(self, kind: str, folder: Path, dest: Path | None, options: export.ExportOptions) -> int:
        if self._stopped:
            raise RuntimeError("the export service has been stopped")
        if not self._thread.isRunning():
            self._thread.start()
        self._next_id += 1
        request = ExportRequest(self._next_id, kind, folder, dest, options)
        self._running[request.job_id] = request
        self._submit.emit(request)
        return request.job_id

    def start_export(self, folder: Path, dest: Path, options: export.ExportOptions) -> int:
        """Export in the background (jobs run one after another). Returns the job's id."""
        return self._start("export", folder, dest, options)

    def start_sidecars(self, folder: Path, model: str) -> int:
        """Write the XMP sidecars of `folder`'s photos in the background. Returns the job's id."""
        return self._start("sidecars", folder, None, export.ExportOptions(model=model))

    def cancel(self, job_id: int | None = None) -> None:
        """Stop a job (or all) after the file in progress; what was written stays."""
        for jid, request in self._running.items():
            if job_id is None or jid == job_id:
                request.cancel.set()

    @Slot(int, object)
    def _job_finished(self, job_id: int, outcome: object) -> None:
        self._running.pop(job_id, None)

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel, close the catalog on its thread and wait for the thread to end (True if it did)."""
        self._stopped = True
        self.cancel()
        if not self._thread.isRunning():
            return True
        self._shut_down.emit()
        return self._thread.wait(int(timeout_s * 1000))
