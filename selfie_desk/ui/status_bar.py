"""The window's status bar: the folder's counts on the left (photos, picks, rejects, groups, what is shown and
selected); on the right the thumbnails' size, the scan's progress and the crop proposals' progress. The passing words
each controller sends on its `status` signal (text, ms) go to `showMessage`; what must not pass unseen (an error, a
photo that cannot be read) goes to the message bar above the photos instead (ui/message_bar.py).
"""

from __future__ import annotations

from PySide6.QtWidgets import QStatusBar, QWidget

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.settings import Settings
from selfie_desk.ui.elided_label import ElidedLabel
from selfie_desk.ui.grid import PhotoGrid, ThumbnailCache
from selfie_desk.ui.scan_status import ScanStatus
from selfie_desk.ui.side_panel import count_text
from selfie_desk.ui.thumbnail_size import SizeSlider


class StatusBar(QStatusBar):
    def __init__(self, settings: Settings, thumbs: ThumbnailCache, grid: PhotoGrid, parent: QWidget) -> None:
        super().__init__(parent)
        self.count_label = ElidedLabel(parent=self, min_chars=30)  # the counts give up last
        self.scan_status = ScanStatus(self)
        self.addWidget(self.count_label, 1)
        self.size_slider = SizeSlider(settings, thumbs, grid, self)
        self.addPermanentWidget(self.size_slider)
        self.addPermanentWidget(self.scan_status)
        # Cropping (issue 4): proposals on a thread of their own, their progress beside the scan's
        self.crop_status = ScanStatus(self, verb="Proposing crops")
        self.crop_status.cancel.setToolTip("Stop proposing crops; those proposed so far are kept")
        self.crop_status.device.hide()
        self.crop_status.layout().insertSpacing(0, 12)
        self.addPermanentWidget(self.crop_status)
        # A passing message takes the counts' place. QStatusBar hides them itself only while it is shown: a message
        # sent before the window showed (the folder opened at start-up) left them drawn over it.
        self.messageChanged.connect(lambda text: self.count_label.setVisible(not text))

    def show_counts(self, session: CullingSession) -> None:
        self.count_label.setText(count_text(session))
