"""The status bar's scan report: progress bar, count, rate, time left, device, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from selfie_desk.ui.elided_label import ElidedLabel


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d} left"
    return f"{seconds // 60}:{seconds % 60:02d} left"


class ScanStatus(QWidget):
    cancel_clicked = Signal()

    def __init__(self, parent=None, verb: str = "Scoring") -> None:
        super().__init__(parent)
        self.verb = verb  # what the progress line says is going on: "Scoring 12 / 40"
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        # Elided, not wide: the status bar's minimum is the window's (ui/elided_label.py)
        self.text = ElidedLabel(parent=self)
        self.device = ElidedLabel(parent=self)
        self.device.setToolTip("Where the convnet runs (Preferences > Device)")
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setToolTip("Stop scoring; everything scored so far is kept")
        self.cancel.clicked.connect(self.cancel_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        layout.addSpacing(12)
        layout.addWidget(self.device)
        self.idle("")

    def indexing(self) -> None:
        self.bar.setRange(0, 0)  # busy
        self.bar.show()
        self.cancel.show()
        self.text.setText("Looking for new and changed photos…")

    def loading_model(self) -> None:
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel.show()
        self.text.setText("Loading the model… (cull away meanwhile: scores fill in when it is ready)")

    def progress(self, done: int, total: int, rate: float, eta: float | None) -> None:
        if total == 0:
            return
        # QProgressBar.setValue repaints at once, and with it every pending update of the window;
        # with updates off it only schedules a repaint, merged with the others in the next frame.
        self.bar.setUpdatesEnabled(False)
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.bar.setUpdatesEnabled(True)
        self.bar.show()
        self.cancel.show()
        parts = [f"{self.verb} {done} / {total}"]
        if rate > 0:
            parts.append(f"{rate:.1f} photos/s")
        if eta is not None and done < total:
            parts.append(format_eta(eta))
        self.text.setText(" · ".join(parts))

    def idle(self, message: str) -> None:
        self.bar.hide()
        self.cancel.hide()
        self.text.setText(message)

    def set_device(self, label: str) -> None:
        self.device.setText(label)
