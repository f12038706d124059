"""Starting the window: the QApplication, the catalog and settings it is given, and a clean quit."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMessageBox, QSplashScreen

from selfie_desk import __version__
from selfie_desk.core import paths
from selfie_desk.core.catalog_access import CatalogError, explain, open_catalog
from selfie_desk.core.settings import Settings
from selfie_desk.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None) -> QApplication:
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


def splash_pixmap() -> QPixmap:
    """The start-up card: the name and what is happening, drawn (no image file needed)."""
    pix = QPixmap(420, 160)
    pix.fill(QColor("#202124"))
    painter = QPainter(pix)
    painter.setPen(QColor("#e8eaed"))
    font = QFont()
    font.setPointSize(22)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pix.rect().adjusted(0, -20, 0, 0), Qt.AlignmentFlag.AlignCenter, "Selfie Desk")
    font.setPointSize(10)
    font.setBold(False)
    painter.setFont(font)
    painter.setPen(QColor("#9aa0a6"))
    painter.drawText(pix.rect().adjusted(0, 50, 0, 0), Qt.AlignmentFlag.AlignCenter, "Loading the convnet…")
    painter.end()
    return pix


def preload_torch() -> None:
    """Import torch and the model code now, on this (the UI) thread, behind the splash screen.

    Loading libtorch's native libraries holds the GIL for up to a second; done later on the scoring
    thread it froze the window just as the user started to look at it (measured 0.5-1.6 s gaps in a fresh
    process). Behind the splash the wait is visible and honest, and the window never stalls afterwards.
    """
    import importlib

    importlib.import_module("selfie_desk.core.model")


def run(folder: Path | None = None) -> int:
    """Open the window on `folder` (see start_folder) and run until it is closed. Returns the exit status."""
    app = create_application()
    splash = QSplashScreen(splash_pixmap())
    splash.show()
    app.processEvents()
    preload_torch()
    settings = Settings.load()
    try:
        catalog = open_catalog(paths.catalog_path())
    except (CatalogError, OSError) as exc:  # damaged, newer, full disk, read-only home: say it, do not crash
        message = str(exc) if isinstance(exc, CatalogError) else str(explain(exc, Path(exc.filename or ".")))
        splash.close()
        QMessageBox.critical(None, "Selfie Desk cannot open its catalog", message)
        print(f"selfie-desk: error: {message}", file=sys.stderr)
        return 3  # cli.EXIT_CATALOG
    window = MainWindow(catalog, settings)
    app.aboutToQuit.connect(window.shut_down)

    def excepthook(kind, value, tb) -> None:
        # A bug must not take the window down or print at the user: log it, say it in one line.
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        window.show_message(f"Something went wrong: {kind.__name__}: {value}")

    previous = sys.excepthook
    sys.excepthook = excepthook
    try:
        window.show()
        splash.finish(window)
        window.open_folder(start_folder(folder, settings))
        return app.exec()
    finally:
        sys.excepthook = previous
        window.shut_down()
        catalog.close()
