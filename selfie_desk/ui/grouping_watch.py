"""The window follows a regrouping made elsewhere: `selfie-desk groups` run while the window is open, or a second
window. The catalog bumps its grouping stamp (one row, catalog 9) with every change of the groups; this polls it
every POLL_MS on the UI thread (one primary-key read of one row: microseconds, next to nothing for SQLite in WAL
mode, which never blocks a reader) and says when it moved past the generation the window last showed."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from selfie_desk.core.storage.catalog import Catalog

POLL_MS = 1500  # a regrouping elsewhere shows within a second and a half


class GroupingWatch(QObject):
    changed = Signal(int)  # the catalog's grouping generation, now other than the one shown

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.shown: int | None = None  # the generation of the groups the window shows (None: none yet)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def seen(self, generation: int | None) -> None:
        """The window now shows the groups of `generation` (read with them on the grouping thread)."""
        if generation is not None:
            self.shown = generation

    def poll(self) -> bool:
        """Whether the groups changed since the window read them (and `changed` was emitted)."""
        if self.shown is None:
            return False
        try:
            generation, _thresholds = self.catalog.grouping_stamp()
        except Exception:  # a catalog being replaced or locked for a moment: the next poll tells
            return False
        if generation == self.shown:
            return False
        self.changed.emit(generation)
        return True
