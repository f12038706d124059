"""The worker base (workers/service.py) with a tiny service of its own, and the GPU fallback's boundary."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QThread, Signal

from selfie_desk.core import paths
from selfie_desk.core.model_cards import UnknownModelError
from selfie_desk.core.weights import ModelMissingError
from selfie_desk.workers.scoring import ScoringService, is_device_error, scorer_with_cpu_fallback
from selfie_desk.workers.service import Job, Service

TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Count:
    to: int
    fail_at: int | None = None


@dataclass(frozen=True)
class Counted:
    reached: int = 0
    cancelled: bool = False
    error: str | None = None


class CountJob(Job):
    tick = Signal(int)


class CountService(Service):
    """A fifth background job, as the base's docstring says to write one: a subclass and its handler."""

    thread_name = "counting"
    job_class = CountJob

    def __init__(self, catalog_path, gate: threading.Event | None = None) -> None:
        super().__init__(catalog_path)
        self.gate = gate  # the handler waits on it at 1: the test cancels meanwhile
        self.threads: set[QThread] = set()
        self.released_on: QThread | None = None

    def handle(self, job: CountJob) -> Counted:
        self.threads.add(QThread.currentThread())
        for n in range(1, job.request.to + 1):
            if job.cancelled:
                return Counted(n - 1, cancelled=True)
            if n == job.request.fail_at:
                raise ValueError(f"cannot count to {n}")
            job.post("tick", n)
            job.post("progress", n / job.request.to)
            if n == 1 and self.gate is not None:
                self.gate.wait(5)
        return Counted(job.request.to)

    def error_outcome(self, job: CountJob, message: str) -> Counted:
        return Counted(error=f"Counting stopped: {message}")

    def release(self) -> None:
        self.released_on = QThread.currentThread()


def test_a_job_reports_on_its_own_handle_and_ends_once(qtbot):
    service = CountService(paths.catalog_path())
    try:
        first, second = service.submit(Count(3)), service.submit(Count(2))
        ticks: dict[str, list[int]] = {"first": [], "second": []}
        first.tick.connect(ticks["first"].append)
        second.tick.connect(ticks["second"].append)
        ends = []
        first.finished.connect(ends.append)
        with qtbot.waitSignal(second.finished, timeout=TIMEOUT_MS) as blocker:
            pass
        assert ticks == {"first": [1, 2, 3], "second": [1, 2]}  # no job id to filter on: each hears its own
        assert ends == [Counted(3)] and first.done and blocker.args == [Counted(2)]
        assert not service.busy
        assert len(service.threads) == 1 and QThread.currentThread() not in service.threads  # one long-lived thread
    finally:
        assert service.stop(5)


def test_cancel_stops_between_steps_and_keeps_what_was_done(qtbot):
    gate = threading.Event()
    service = CountService(paths.catalog_path(), gate)
    try:
        job = service.submit(Count(100))
        with qtbot.waitSignal(job.tick, timeout=TIMEOUT_MS):
            pass
        job.cancel()
        gate.set()
        with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as blocker:
            pass
        assert blocker.args == [Counted(1, cancelled=True)]
    finally:
        assert service.stop(5)


def test_an_exception_is_a_signal_and_the_thread_lives_on(qtbot):
    service = CountService(paths.catalog_path())
    try:
        job = service.submit(Count(5, fail_at=2))
        errors, results = [], []
        job.errored.connect(errors.append)
        job.result.connect(results.append)
        with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as blocker:
            pass
        assert errors == ["ValueError: cannot count to 2"] and results == []
        assert blocker.args == [Counted(error="Counting stopped: ValueError: cannot count to 2")]
        after = service.submit(Count(1))
        with qtbot.waitSignal(after.result, timeout=TIMEOUT_MS) as blocker:
            pass
        assert blocker.args == [Counted(1)]
    finally:
        assert service.stop(5)


def test_an_ignored_job_reports_nothing_more(qtbot):
    gate = threading.Event()
    service = CountService(paths.catalog_path(), gate)
    try:
        old = service.submit(Count(100))
        heard = []
        old.tick.connect(heard.append)
        old.finished.connect(heard.append)
        with qtbot.waitSignal(old.tick, timeout=TIMEOUT_MS):
            pass
        old.ignore()
        gate.set()
        with qtbot.waitSignal(service.finished, timeout=TIMEOUT_MS) as blocker:  # observers still hear it end
            pass
        assert blocker.args[0] is old and blocker.args[1].cancelled and heard == [1]
    finally:
        assert service.stop(5)


def test_stop_cancels_releases_on_the_thread_and_refuses_new_jobs(qtbot):
    gate = threading.Event()
    service = CountService(paths.catalog_path(), gate)
    job = service.submit(Count(100))
    waiting = service.submit(Count(1))
    with qtbot.waitSignal(job.tick, timeout=TIMEOUT_MS):
        pass
    thread = service._thread
    gate.set()
    assert service.stop(5)
    assert not thread.isRunning() and service.released_on in service.threads
    assert job.cancelled and waiting.cancelled
    with pytest.raises(RuntimeError, match="stopped"):
        service.submit(Count(1))


# ---- the GPU fallback: only the device's own failures go to the CPU ----------------------------------------


class FakeFactory:
    """A Scorer factory that fails on CUDA with `error` (the boundary: no GPU needed)."""

    def __init__(self, error: Exception | None) -> None:
        self.error, self.calls = error, []

    def __call__(self, model: str, device: str):
        self.calls.append(device)
        if device == "cuda" and self.error is not None:
            raise self.error
        if isinstance(self.error, (UnknownModelError, ModelMissingError)):
            raise self.error
        return type("FakeScorer", (), {"label": f"{device.upper()} (fake)"})()


DEVICE_ERRORS = [
    RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    RuntimeError("--device cuda was asked for, but no CUDA GPU is available"),
    RuntimeError("Found no NVIDIA driver on your system."),
    AssertionError("Torch not compiled with CUDA enabled"),
    type("OutOfMemoryError", (RuntimeError,), {})("out of memory"),
]
MODEL_ERRORS = [
    UnknownModelError("unknown model 'nope'; available: default"),
    ModelMissingError("model file models/default.pt is missing"),
    FileNotFoundError("models/default.pt"),
]


@pytest.mark.parametrize("error", DEVICE_ERRORS, ids=lambda e: str(e)[:24])
def test_a_device_error_falls_back_to_the_cpu_and_is_named(error):
    factory, told = FakeFactory(error), []
    scorer = scorer_with_cpu_fallback(factory, "default", "cuda", told.append)
    assert factory.calls == ["cuda", "cpu"] and scorer.label.startswith("CPU")
    assert told == [error] and is_device_error(error)


@pytest.mark.parametrize("error", MODEL_ERRORS, ids=lambda e: type(e).__name__)
def test_a_model_error_is_raised_as_it_is_without_trying_the_cpu(error):
    factory, told = FakeFactory(error), []
    with pytest.raises(type(error)):
        scorer_with_cpu_fallback(factory, "default", "cuda", told.append)
    assert factory.calls == ["cuda"] and told == [] and not is_device_error(error)


@pytest.fixture
def pipeline():
    """The scoring pass imports torch (tens of seconds on a loaded machine): here, before any clock starts."""
    from selfie_desk.neural import pipeline

    return pipeline


def test_a_missing_model_on_the_gpu_is_reported_once_as_what_it_is(qtbot, tmp_path, pipeline):
    folder = tmp_path / "shoot"
    folder.mkdir()
    factory = FakeFactory(UnknownModelError("unknown model 'nope'; available: default"))
    service = ScoringService(paths.catalog_path(), factory)
    try:
        job = service.start(folder, "nope", "cuda")
        notices = []
        job.notice.connect(notices.append)
        with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as blocker:
            pass
        assert blocker.args[0].error == "Cannot score: unknown model 'nope'; available: default"
        assert notices == [] and factory.calls == ["cuda"]
    finally:
        assert service.stop(10)


def test_a_gpu_out_of_memory_says_so_and_scores_on_the_cpu(qtbot, tmp_path, pipeline):
    folder = tmp_path / "empty"
    folder.mkdir()
    factory = FakeFactory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nlong CUDA advice"))
    service = ScoringService(paths.catalog_path(), factory)
    try:
        job = service.start(folder, "default", "cuda")
        notices, devices, finished = [], [], []
        job.notice.connect(notices.append)
        job.device_ready.connect(devices.append)
        # Listened to from the start: the job can end in the same turn of the event loop that brings device_ready
        # (the fake scorer fails at once), and a wait begun after it missed `finished` (seen in the perturbed run).
        job.finished.connect(finished.append)
        qtbot.waitUntil(lambda: bool(devices), timeout=TIMEOUT_MS)
        job.cancel()  # the fake scorer cannot score: the device is what this test is about
        qtbot.waitUntil(lambda: bool(finished), timeout=TIMEOUT_MS)
        assert notices == ["No usable GPU (RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB); "
                           "scoring on the CPU instead."]
        assert devices == ["CPU (fake)"] and factory.calls == ["cuda", "cpu"]
    finally:
        assert service.stop(10)
