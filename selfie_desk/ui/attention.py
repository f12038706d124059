"""H in the loupe: what the convnet looked at, drawn over the photo (warm cells raised the score, cool ones
lowered it). Computed on demand on the crop thread (CropService.attention), never on the UI thread; the
map follows the loupe from photo to photo while H is on."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence

from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.loupe import Loupe
from selfie_desk.workers.cropping import Attention, CropFailed, CropJob, CropService


class AttentionController(QObject):
    message = Signal(str)  # for the status bar

    def __init__(self, loupe: Loupe, service: CropService, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loupe, self.service, self.settings = loupe, service, settings
        self.action = QAction("Show What the Convnet &Looked At", self, checkable=True)
        self.action.setShortcut(QKeySequence("H"))
        self.action.setToolTip("H: warm cells raised the score, cool ones lowered it")
        self.action.toggled.connect(self._toggled)
        self.job: CropJob | None = None
        self.photo_id: int | None = None

    @property
    def on(self) -> bool:
        return self.action.isChecked()

    def show_photo(self, photo: Photo) -> None:
        """The loupe moved to `photo`: its map, when H is on."""
        self.photo_id = photo.id
        if self.on and photo.error is None:
            self._set_job(self.service.attention(photo, self.settings.model, self.settings.device))

    def _set_job(self, job: CropJob | None) -> None:
        if self.job is not None:
            self.job.ignore()  # another photo's map, or none wanted
        self.job = job
        if job is not None:
            job.looked.connect(self._looked)
            job.failed.connect(self._failed)

    @Slot(bool)
    def _toggled(self, on: bool) -> None:
        if on and self.loupe.photo is not None:
            self.message.emit("Looking at what the convnet sees…")
            self.show_photo(self.loupe.photo)
        elif not on:
            self._set_job(None)
            self.loupe.canvas.attention = None
            self.loupe.canvas.update()

    @Slot(object)
    def _looked(self, result: Attention) -> None:
        if not self.on or self.loupe.photo is None or self.loupe.photo.id != result.photo_id:
            return
        self.loupe.canvas.attention = result.cells
        self.loupe.canvas.update()
        self.message.emit("Warm: what raised the score; cool: what lowered it (H to hide)")

    @Slot(object)
    def _failed(self, failure: CropFailed) -> None:
        self.message.emit(f"Cannot show what the convnet looked at: {failure.message}")
