"""Shared fixtures. Every test gets its own SELFIE_DESK_HOME, so no test touches a real user's files."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


@pytest.fixture(autouse=True)
def app_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SELFIE_DESK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def scorer():
    """The real models, loaded once per session (CPU)."""
    from selfie_desk.neural.model import Scorer

    return Scorer(device="cpu")


@pytest.fixture
def demo_folder(tmp_path) -> Path:
    """A private copy of the bundled demo photos."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def photo(size=(640, 480), seed=0) -> Image.Image:
    """A synthetic but photo-like image: smooth gradients, shapes and a little noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [128 + 100 * np.sin(x / w * 3 + seed), 128 + 100 * np.cos(y / h * 2 + seed), 255 * (x + y) / (w + h)], -1
    )
    cx, cy, r = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, min(w, h) / 5
    base[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    base += rng.normal(0, 4, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def save_jpeg(path: Path, im: Image.Image | None = None, orientation: int | None = None, taken: str | None = None,
              quality: int = 90) -> Path:
    im = im or photo()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="JPEG", quality=quality, exif=exif.tobytes())
    return path


# ---- the desktop window (pytest-qt, offscreen) ----------------------------------------------------------


def _qthread_start_recorder(monkeypatch) -> list:
    from PySide6.QtCore import QThread

    started: list = []
    original = QThread.start

    def start(self, *args, **kwargs):
        started.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    return started


@pytest.fixture(autouse=True)
def no_threads_left_running(request, monkeypatch):
    """Fail a Qt test that leaves a QThread (or a Python thread it started) running after its widgets closed."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    import threading

    import shiboken6

    started = _qthread_start_recorder(monkeypatch)
    before = set(threading.enumerate())
    yield
    running = [t for t in started if shiboken6.isValid(t) and t.isRunning()]
    for t in running:  # stop them anyway, so that one leak does not crash the tests after it
        t.quit()
        t.wait(10_000)
    # Python's own threads (pools); a QThread that ran Python code shows up as a _DummyThread: checked above
    leftover = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)]
    for t in leftover:
        t.join(timeout=5)
    leftover = [t.name for t in leftover if t.is_alive()]
    if running or leftover:
        pytest.fail(f"test left threads running: QThreads {[t.objectName() for t in running]}, threads {leftover}")


@pytest.fixture
def make_window(qtbot, scorer):
    """MainWindow factory on the UI thread's own catalog, sharing the session's model (CPU) to save loading it."""
    from selfie_desk.core import paths
    from selfie_desk.core.settings import Settings
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.ui.app import tune_process
    from selfie_desk.ui.main_window import MainWindow

    tune_process()  # as the app does where it starts (create_application): the UI stall tests depend on it
    made = []

    def make(scorer_factory="shared", batch_size: int = 16, settings: Settings | None = None,
             stacks: bool = False) -> MainWindow:
        catalog = Catalog(paths.catalog_path())
        factory = (lambda model, device: scorer) if scorer_factory == "shared" else scorer_factory
        if settings is None:
            settings = Settings.load()
            # The synthetic photos most window tests use look alike to grouping (one "bracket" of twelve):
            # stacked, they would be one cell. Tests of something else see every photo; tests/test_ui_groups.py
            # asks for stacks, as a user has them by default.
            settings.stack_groups = stacks
        window = MainWindow(catalog, settings, scorer_factory=factory, batch_size=batch_size)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        made.append((window, catalog))
        return window

    yield make
    for window, catalog in made:
        window.shut_down()
        catalog.close()


def catalog_at_version(path: Path, version: int) -> sqlite3.Connection:
    """A catalog file as a Selfie Desk of schema `version` left it: its first `version` migrations and its
    user_version. The connection is left open for the test's rows: commit and close it before opening a Catalog."""
    from selfie_desk.core.storage.catalog import MIGRATIONS

    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version = {version}")
    return db


def photo_folder(folder: Path, n: int, size=(320, 240)) -> Path:
    """`n` small synthetic JPEGs: quick to decode, enough to watch a scan in progress."""
    for i in range(n):
        save_jpeg(folder / f"p{i:03d}.jpg", photo(size, seed=i))
    return folder


@pytest.fixture(scope="session")
def taste_set(tmp_path_factory, scorer):
    """Colour/black-and-white pairs of the demo photos, scored once per session (tests/taste_data.py)."""
    from taste_data import scored_taste_set

    return scored_taste_set(tmp_path_factory.mktemp("taste"), scorer)


# The fast tier (`make test-fast`, `-m "not slow"`): a test that loads the convnet (through these fixtures)
# is slow by construction, so no one has to remember to mark it; others are marked by hand where they run
# a command in a subprocess or take seconds for another reason.
MODEL_FIXTURES = {"scorer", "make_window", "taste_set"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
