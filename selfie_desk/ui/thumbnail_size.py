"""The thumbnails' size, as in every browser: the status bar's slider, + and − (a step each), Ctrl+wheel over the
grid; the grid lays out again around the photo being looked at, and the size is kept in the settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSlider, QWidget

from selfie_desk.core.settings import THUMBNAIL_SIZES, Settings
from selfie_desk.ui.grid import PhotoGrid, ThumbnailCache

SIZE_STEP = 20  # px per + / − or Ctrl+wheel notch


class SizeSlider(QSlider):
    size_changed = Signal(int)  # the new edge, in the settings (to be saved)

    def __init__(self, settings: Settings, thumbs: ThumbnailCache, grid: PhotoGrid, parent: QWidget) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.settings, self.thumbs, self.grid = settings, thumbs, grid
        self.setRange(*THUMBNAIL_SIZES)
        self.setSingleStep(SIZE_STEP)
        self.setPageStep(SIZE_STEP)
        self.setValue(settings.thumbnail_size)
        self.setFixedWidth(120)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the photos
        self.setToolTip("Thumbnail size (+ / −, Ctrl+wheel)")
        self.valueChanged.connect(self.set_edge)
        grid.zoom_requested.connect(self.step)

    def step(self, steps: int) -> None:
        self.set_edge(self.settings.thumbnail_size + steps * SIZE_STEP)

    def set_edge(self, edge: int) -> None:
        """The grid's thumbnails at `edge` px (within the settings' limits), kept for next time."""
        edge = max(THUMBNAIL_SIZES[0], min(THUMBNAIL_SIZES[1], int(edge)))
        self.show_edge(edge)
        if edge == self.thumbs.edge:
            return
        current = self.grid.currentIndex()
        self.settings.thumbnail_size = edge
        self.thumbs.set_edge(edge)
        self.grid.relayout()
        if current.isValid():
            self.grid.scrollTo(current)  # the photo being looked at stays in view
        self.size_changed.emit(edge)

    def show_edge(self, edge: int) -> None:
        """The slider at `edge`, without it asking for that size again (the Preferences set it)."""
        if self.value() != edge:
            self.blockSignals(True)
            self.setValue(edge)
            self.blockSignals(False)
