"""Starting the window: the QApplication, the catalog and settings it is given, and a clean quit.

The window comes first, with the folder's grid as the catalog knows it (cached thumbnails included), in well
under two seconds; the model loads behind it on the scoring thread (the status bar says so), its native
libraries opened without the GIL (workers/native_preload.py) so that the window does not freeze meanwhile.
Set SELFIE_DESK_STARTUP_TRACE=1 to print when the window showed and when the grid had its thumbnails
(tools/startup_time.py reads it).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from selfie_desk import __version__
from selfie_desk.core import paths
from selfie_desk.core.exit_codes import ExitCode
from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.core.storage.catalog_access import (
    CatalogError,
    CatalogInUse,
    explain,
    needs_update,
    open_catalog,
    window_lock,
)
from selfie_desk.ui import theme
from selfie_desk.ui.main_window import MainWindow
from selfie_desk.workers import native_preload

log = logging.getLogger(__name__)


# While a folder scores, several threads run Python between their C calls. The window's thread gives the
# GIL up on most Qt calls and waits up to the switch interval to get it back (5 ms by default), each time:
# at 1 ms its worst stall during a scan dropped from 100-150 ms to about 40 ms on 2 loaded cores (measured
# here), with no measurable cost to scoring speed.
GIL_SWITCH_S = 0.001


def tune_process() -> None:
    """Once, where the app starts (and where tests build the window): how this process shares the GIL and
    collects its garbage while the background threads work."""
    if sys.getswitchinterval() > GIL_SWITCH_S:
        sys.setswitchinterval(GIL_SWITCH_S)
    # Everything imported so far (Qt, the app's modules) lives as long as the app: frozen, the garbage
    # collector stops rescanning it. The model and torch, loaded later on a worker thread, are frozen there
    # as they load (native_preload.loading_torch): a full collection otherwise stops every thread, the
    # window's too, for 100-200 ms (measured here) in the middle of a scan.
    gc.freeze()


def create_application(argv: list[str] | None = None) -> QApplication:
    tune_process()
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("Selfie Desk")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("selfie-desk")
    app.setDesktopFileName("selfie-desk")  # Wayland/X11 match the window to the installed .desktop entry
    if paths.icon_path().is_file():
        app.setWindowIcon(QIcon(str(paths.icon_path())))
    return app


def start_folder(requested: Path | None, settings: Settings) -> Path:
    """The folder asked for, else the last one opened (if it still exists), else the bundled demo photos."""
    if requested is not None:
        return requested
    last = settings.last_folder
    if last and Path(last).is_dir():
        return Path(last)
    return paths.demo_photos_dir()


def preload_torch() -> None:
    """Import torch and the model code now, on this (the UI) thread: how the window started before issue 16
    (5-7 s behind a splash screen), kept for tools/ui_stall.py to compare with. `run` no longer does this:
    the native libraries load without the GIL instead (workers/native_preload.py)."""
    import importlib

    importlib.import_module("selfie_desk.neural.model")


def visible_thumbnails_done(window: MainWindow) -> bool:
    """Every cell of the grid in view has its thumbnail (or knows it has none)."""
    grid, model = window.grid, window.model
    view = grid.viewport().rect()
    rows = [r for r in range(model.rowCount()) if grid.visualRect(model.index(r)).intersects(view)]
    return bool(rows) and all(window.thumbs.get(model.photo(r)) is not None
                              or window.thumbs.failure(model.photo(r)) for r in rows)


def when_grid_ready(window: MainWindow, then, timeout_s: float = 2.0) -> None:
    """Call `then` once the grid in view has its thumbnails (or after `timeout_s`, or with an empty folder)."""
    deadline = time.perf_counter() + timeout_s

    def poll() -> None:
        if visible_thumbnails_done(window) or window.model.rowCount() == 0 or time.perf_counter() > deadline:
            then()
        else:
            QTimer.singleShot(5, poll)

    QTimer.singleShot(0, poll)


def trace_startup(window: MainWindow, started: float) -> None:
    """SELFIE_DESK_STARTUP_TRACE=1: print (stderr) when the window showed, when every visible cell of the grid
    had its thumbnail and when the model was ready, in seconds since `started`; =quit also quits then."""
    mode = os.environ.get("SELFIE_DESK_STARTUP_TRACE")
    if not mode:
        return
    print(f"startup: window {time.perf_counter() - started:.3f}", file=sys.stderr, flush=True)
    state = {"grid": False, "gap": 0.0, "tick": time.perf_counter()}
    ticker = QTimer(window)  # the longest the UI thread went without running a 5 ms timer: its worst freeze
    ticker.setInterval(5)

    def tick() -> None:
        now = time.perf_counter()
        state["gap"] = max(state["gap"], now - state["tick"])
        state["tick"] = now

    ticker.timeout.connect(tick)
    ticker.start()

    def poll() -> None:
        if not state["grid"] and visible_thumbnails_done(window):
            state["grid"] = True
            window.grid.viewport().repaint()  # painted, not only loaded
            print(f"startup: grid {time.perf_counter() - started:.3f}", file=sys.stderr, flush=True)
        if state["grid"] and window.scan_status.device.text():
            ticker.stop()
            print(f"startup: model {time.perf_counter() - started:.3f} longest-freeze {state['gap'] * 1000:.0f}",
                  file=sys.stderr, flush=True)
            if mode == "quit":
                window.close()
            return
        QTimer.singleShot(5, poll)

    QTimer.singleShot(0, poll)


UPDATING = ("Updating the catalog for this version of Selfie Desk…\n"
            "Once only: a catalog of tens of thousands of photos takes a few seconds.")


class UpdatingDialog(QProgressDialog):
    """"Updating the catalog…", busy, until `done_updating`. Neither Cancel, Esc nor the title bar's close shuts it:
    a migration cannot stop half-way, and a closed dialog would leave the screen empty for the rest of it."""

    def __init__(self) -> None:
        super().__init__(UPDATING, "", 0, 0)
        self.setCancelButton(None)
        self.setWindowTitle("Selfie Desk")
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        self.setMinimumDuration(0)
        self._done = False

    def done_updating(self) -> None:
        self._done = True
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._done:
            super().closeEvent(event)
        else:
            event.ignore()

    def reject(self) -> None:  # Esc
        if self._done:
            super().reject()


def open_catalog_updating(path: Path) -> Catalog:
    """open_catalog; where an older version's catalog must be migrated first (~8 s at 50,000 photos, once), that
    runs on a thread of its own behind a dialog that says so, instead of a start with nothing on screen for as long.
    A plain thread, not a worker: a migration is one transaction per schema, with nothing to cancel or report, and
    the window does not exist yet. Its connection is closed there; the window's is opened here afterwards."""
    if not needs_update(path):
        return open_catalog(path)
    dialog = UpdatingDialog()
    dialog.show()
    failed: list[BaseException] = []

    def update() -> None:
        try:
            open_catalog(path).close()
        except BaseException as exc:  # noqa: BLE001 (given to the window's thread, which says it)
            failed.append(exc)

    thread = threading.Thread(target=update, name="catalog-update")
    thread.start()
    app = QApplication.instance()
    try:
        while thread.is_alive():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            thread.join(0.02)
    finally:
        dialog.done_updating()
    if failed:
        raise failed[0]
    return open_catalog(path)


def run(folder: Path | None = None, started: float | None = None) -> int:
    """Open the window on `folder` (see start_folder) and run until it is closed. Returns the exit status."""
    started = time.perf_counter() if started is None else started
    native_preload.expect()  # torch's libraries: loaded without the GIL once the window is up (below)
    app = create_application()
    settings = Settings.load()
    theme.apply(settings.theme, app)
    catalog_path = paths.catalog_path()
    # The window lock first: one window per catalog (a second would undo the first's edits), and a second start
    # while the first still updates an older catalog is told so, instead of migrating it a second time.
    try:
        lock = window_lock(catalog_path)
    except CatalogInUse as exc:
        QMessageBox.information(None, "Selfie Desk is already open", str(exc))
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return ExitCode.CATALOG
    try:
        catalog = open_catalog_updating(catalog_path)
    except (CatalogError, OSError) as exc:  # damaged, newer, full disk, read-only home: say it, do not crash
        lock.release()
        message = str(exc) if isinstance(exc, CatalogError) else str(explain(exc, Path(exc.filename or ".")))
        QMessageBox.critical(None, "Selfie Desk cannot open its catalog", message)
        print(f"selfie-desk: error: {message}", file=sys.stderr)
        return ExitCode.CATALOG
    window = MainWindow(catalog, settings)
    app.aboutToQuit.connect(window.shut_down)

    def excepthook(kind, value, tb) -> None:
        # A bug must not take the window down or print at the user: log it, say it in one line.
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        window.show_message(f"Something went wrong: {kind.__name__}: {value}")

    previous = sys.excepthook
    sys.excepthook = excepthook
    try:
        window.open_folder(start_folder(folder, settings))  # the first frame shows the photos, never "0 photos"
        window.show()
        trace_startup(window, started)
        # once the grid has its thumbnails: the dynamic linker has one lock, and Qt starting up takes it often
        when_grid_ready(window, native_preload.start)
        return app.exec()
    finally:
        sys.excepthook = previous
        window.shut_down()
        catalog.close()
        lock.release()
