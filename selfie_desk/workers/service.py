"""The one shape of a background job: a service with a long-lived thread, and a handle per job.

A `Service` lives on the UI thread and owns one QThread for its whole life. That thread runs the jobs one
at a time (in the order submitted, "urgent" ones first), so whatever the service keeps between jobs (a model,
its catalog connection, `self.catalog`) is made, used and released on that one thread. Each job the UI
starts gets its own `Job` handle: the job's signals are emitted on the UI thread, so a slot connected to a
handle hears only that job, and the UI never filters reports by job id. A job the UI has moved on from is
cancelled and `ignore()`d: whatever it still reports goes nowhere (or the UI disconnects the slots it no longer
wants, as the crop controller does: a proposal stored by a replaced job still refreshes the grid).

Adding a fifth background job is one small subclass and one handler (superqt's `utils/_qthreading.py` and
napari's `_qt/qthreading.py` are the models)::

    @dataclass(frozen=True)
    class ThumbRequest:                    # immutable, built on the UI thread
        folder: Path

    class ThumbJob(Job):                   # the signals this kind of job has besides the common ones
        made = Signal(str)                 # a path whose thumbnail is written

    class ThumbService(Service):
        thread_name = "thumbs"
        job_class = ThumbJob

        def handle(self, job: ThumbJob) -> ThumbOutcome:   # on the service's thread
            for batch in batches(job.request.folder):
                if job.cancelled:                           # between batches: you cannot kill a thread
                    return ThumbOutcome(cancelled=True)
                ...work, using self.catalog.get() (this thread's connection)...
                job.post("made", path)                      # emitted on the UI thread
            return ThumbOutcome()

        def error_outcome(self, job, message):              # an exception, as the user reads it
            return ThumbOutcome(error=f"Thumbnails stopped: {message}")

    job = service.submit(ThumbRequest(folder))   # on the UI thread
    job.made.connect(...); job.finished.connect(...)

Every job ends with exactly one `finished(outcome)`; an exception in the handler is logged, becomes
`errored(message)` then `finished(error_outcome(...))`, and the thread lives on. `stop()` (on quit) cancels
every job, releases what the thread holds on that thread and waits for it with a timeout.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from selfie_desk.workers.priority import lower_thread_priority
from selfie_desk.workers.thread_catalog import ThreadCatalog

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class Job(QObject):
    """One job's handle, on the UI thread. Subclasses add the signals their kind of job reports."""

    progress = Signal(object)  # how far it is (the service's own progress record)
    result = Signal(object)  # the handler's outcome, when it returned (cancelled or not)
    errored = Signal(str)  # the handler raised: one line for the user, no traceback
    finished = Signal(object)  # always, last: the outcome

    def __init__(self, request: Any, urgent: bool = False) -> None:
        super().__init__()
        self.id = next(_ids)  # for logs and tests; the UI holds the handle itself
        self.request = request
        self.urgent = urgent
        self.outcome: Any = None
        self.done = False  # finished was emitted
        self._cancel = threading.Event()
        self._post: Any = None  # set by the service: sends (job, signal name, args) to the UI thread

    # -- either thread
    def cancel(self) -> None:
        """Ask the job to stop at its next check (between batches); what it finished stays done."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """For core calls that take an Event (`pipeline.score(cancel=...)`)."""
        return self._cancel

    # -- the service's thread
    def post(self, name: str, *args: Any) -> None:
        """Emit this job's signal `name` with `args` on the UI thread (queued, in order)."""
        self._post(self, name, args)

    # -- the UI thread
    def ignore(self) -> None:
        """The UI has moved on: cancel the job; whatever it still reports (its last batch, its end) goes nowhere."""
        self.cancel()
        self.blockSignals(True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


class _Runner(QObject):
    """Lives on the service's thread; its slots run there."""

    posted = Signal(object, str, tuple)  # job, signal name, args: to the UI thread

    def __init__(self, service: Service) -> None:
        super().__init__()
        self._service = service
        self._niced = False

    @Slot()
    def wake(self) -> None:
        """Serve every waiting job (one wake per job; later wakes may find the queue empty)."""
        if not self._niced and self._service.nice is not None:
            lower_thread_priority(self._service.nice)
            self._niced = True
        while (job := self._service._next_job()) is not None:
            self.run(job)

    def run(self, job: Job) -> None:
        service = self._service
        try:
            outcome = service.handle(job)
        except Exception as exc:  # a report for the user, never a dead thread
            log.exception("%s job %s failed", service.thread_name, job.id)
            message = service.describe_error(exc)
            self.posted.emit(job, "errored", (message,))
            outcome = service.error_outcome(job, message)
        else:
            self.posted.emit(job, "result", (outcome,))
        self.posted.emit(job, "finished", (outcome,))

    @Slot()
    def shut_down(self) -> None:
        """Release what the thread holds, on the thread, then end it."""
        try:
            self._service.release()
        finally:
            self._service.catalog.close()
            QThread.currentThread().quit()


class Service(QObject):
    """A kind of background job: one thread, its state, a queue of jobs. Subclass it (see the module's doc)."""

    thread_name: ClassVar[str] = "worker"
    job_class: ClassVar[type[Job]] = Job
    nice: ClassVar[int | None] = 10  # the thread's nice value (None: as the window's)

    finished = Signal(object, object)  # job, outcome: any job of this service ended (for observers and tests)
    _wake = Signal()
    _shut_down = Signal()

    def __init__(self, catalog_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = ThreadCatalog(catalog_path)  # the thread's own connection: `get()` only on the thread
        self._lock = threading.Lock()
        self._urgent: deque[Job] = deque()
        self._queued: deque[Job] = deque()
        self._jobs: dict[int, Job] = {}  # submitted and not finished, in order
        self._stopped = False
        self._thread = QThread()
        self._thread.setObjectName(self.thread_name)
        self._runner = _Runner(self)
        self._runner.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._wake.connect(self._runner.wake, queued)
        self._shut_down.connect(self._runner.shut_down, queued)
        self._runner.posted.connect(self._deliver, queued)

    # ---- for subclasses: run on the service's thread --------------------------------------------------
    def handle(self, job: Any) -> Any:
        """Do the job; return its outcome. Check `job.cancelled` between batches."""
        raise NotImplementedError

    def error_outcome(self, job: Any, message: str) -> Any:
        """The outcome of a job whose handler raised (`message`: one line for the user)."""
        return None

    def describe_error(self, exc: Exception) -> str:
        return f"{type(exc).__name__}: {exc}"

    def release(self) -> None:
        """Drop what the thread keeps between jobs (a model); the catalog connection is closed after it."""

    def serve_urgent(self) -> None:
        """Run the urgent jobs waiting now (call between two batches of a long job: the loupe never waits)."""
        while (job := self._next_job(urgent_only=True)) is not None:
            self._runner.run(job)

    # ---- the UI thread ---------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def jobs(self) -> list[Any]:
        """The jobs submitted and not finished, oldest first."""
        return list(self._jobs.values())

    def submit(self, request: Any, urgent: bool = False) -> Any:
        """Queue a job for the thread; returns its handle (connect to it before returning to the event loop:
        nothing it reports arrives sooner)."""
        if self._stopped:
            raise RuntimeError(f"the {self.thread_name} service has been stopped")
        if not self._thread.isRunning():
            self._thread.start()
        job = self.job_class(request, urgent)
        job._post = self._runner.posted.emit
        self._jobs[job.id] = job
        with self._lock:
            (self._urgent if urgent else self._queued).append(job)
        self._wake.emit()
        return job

    def cancel(self) -> None:
        """Cancel every job submitted and not finished (each stops at its next check)."""
        for job in self._jobs.values():
            job.cancel()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel everything, release the thread's state on it, and wait for it to end (True if it did)."""
        self._stopped = True
        with self._lock:
            self._urgent.clear()
            self._queued.clear()
        self.cancel()
        if not self._thread.isRunning():
            return True
        self._shut_down.emit()
        return self._thread.wait(int(timeout_s * 1000))

    @Slot(object, str, tuple)
    def _deliver(self, job: Job, name: str, args: tuple) -> None:
        if name == "finished":
            job.outcome, job.done = args[0], True
            self._jobs.pop(job.id, None)
        getattr(job, name).emit(*args)
        if name == "finished":
            self.finished.emit(job, args[0])

    def _next_job(self, urgent_only: bool = False) -> Job | None:
        with self._lock:
            if self._urgent:
                return self._urgent.popleft()
            if self._queued and not urgent_only:
                return self._queued.popleft()
            return None
