"""Which folder to open, as the user says it: File > Open Folder (the dialog), File > Open Recent (the folders kept
in the settings), a folder (or a photo in it) dropped on the window.

Each says `chosen`; what opening a folder does (the catalog's rows at once, then the scan) is the window's
`open_folder`, which adds the folder to the recent ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.settings import Settings


def dropped_folder(event: QDropEvent) -> Path | None:
    """The folder dropped (a file dropped: its folder), or None if nothing dropped is a local folder or file."""
    for url in event.mimeData().urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.is_dir():
                return path
            if path.is_file():
                return path.parent
    return None


class Folders(QObject):
    chosen = Signal(str)  # a folder the user chose: open it
    settings_changed = Signal()  # the recent folders changed (Clear Menu): save the settings

    def __init__(self, session: CullingSession, settings: Settings, window: QWidget) -> None:
        super().__init__(window)
        self.session, self.settings, self.window = session, settings, window
        self.recent_menu: QMenu | None = None

    def choose(self) -> None:
        """File > Open Folder: the dialog starts in the open folder (or the home folder)."""
        start = self.session.folder or os.path.expanduser("~")
        folder = QFileDialog.getExistingDirectory(self.window, "Open Folder", start)
        if folder:
            self.chosen.emit(folder)

    def drop(self, event: QDropEvent) -> bool:
        """A drop on the window: its folder is chosen, if it has one."""
        folder = dropped_folder(event)
        if folder is None:
            return False
        event.acceptProposedAction()
        self.chosen.emit(str(folder))
        return True

    # ---- File > Open Recent ------------------------------------------------------------------------
    def attach_recent(self, menu: QMenu) -> None:
        """Open Recent: the settings' recent folders, read again each time the menu opens."""
        self.recent_menu = menu
        menu.aboutToShow.connect(self.fill_recent_menu)
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        assert menu is not None
        menu.clear()
        for folder in self.settings.recent_folders:
            action = menu.addAction(folder)
            action.triggered.connect(lambda checked=False, f=folder: self.chosen.emit(f))
        if self.settings.recent_folders:
            menu.addSeparator()
            menu.addAction("Clear Menu", self.clear_recent)
        else:
            menu.addAction("No recent folders").setEnabled(False)

    def clear_recent(self) -> None:
        """Clear Menu: every recent folder forgotten but the open one."""
        self.settings.recent_folders = [self.session.folder] if self.session.folder else []
        self.settings_changed.emit()
