"""The Preferences dialog: where the convnet runs, the theme, the thumbnail size, auto-advance."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QSpinBox

from selfie_desk.core.settings import THUMBNAIL_SIZES, Settings
from selfie_desk.core.vocabulary import Device
from selfie_desk.ui.theme import THEMES

DEVICE_LABELS = {Device.AUTO.value: "Automatic (the GPU when there is one)", Device.CUDA.value: "GPU (CUDA)",
                 Device.CPU.value: "CPU"}


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.device = QComboBox(self)
        for key, label in DEVICE_LABELS.items():
            self.device.addItem(label, key)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.theme = QComboBox(self)
        for key, label in THEMES.items():
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.thumbnail_size = QSpinBox(self)
        self.thumbnail_size.setRange(*THUMBNAIL_SIZES)
        self.thumbnail_size.setSingleStep(20)
        self.thumbnail_size.setSuffix(" px")
        self.thumbnail_size.setValue(settings.thumbnail_size)
        self.auto_advance = QCheckBox("Move to the next photo after a flag or a rating", self)
        self.auto_advance.setChecked(settings.auto_advance)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Device:", self.device)
        form.addRow("Theme:", self.theme)
        form.addRow("Thumbnail size:", self.thumbnail_size)
        form.addRow("Auto-advance:", self.auto_advance)
        form.addRow(buttons)

    def apply_to(self, settings: Settings) -> None:
        settings.device = self.device.currentData()
        settings.theme = self.theme.currentData()
        settings.thumbnail_size = self.thumbnail_size.value()
        settings.auto_advance = self.auto_advance.isChecked()
