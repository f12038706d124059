"""Grouping's thresholds (how alike, how close in time frames of one burst are) with a live preview: every change
is counted on the grouping thread from the folder's stored features, and the count shows as it comes back.
OK stores the thresholds in the settings (which `selfie-desk groups` reads too) and regroups the folder; groups the
user edited are left as they are."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from selfie_desk.core.culling.groups import GroupingParams
from selfie_desk.core.settings import GROUPING_LIMITS, Settings
from selfie_desk.workers.grouping import GroupingOutcome, GroupingService
from selfie_desk.workers.service import Job


class GroupingDialog(QDialog):
    def __init__(self, settings: Settings, service: GroupingService, folder: Path | None, model: str,
                 now: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Grouping Thresholds")
        self.service, self.folder, self.model = service, folder, model
        self.job: Job | None = None
        self.similarity = QDoubleSpinBox(self)
        self.similarity.setRange(*GROUPING_LIMITS["burst_similarity"])
        self.similarity.setSingleStep(0.01)
        self.similarity.setDecimals(2)
        chosen = settings.grouping_params()
        self.similarity.setValue(chosen.burst_similarity)
        self.similarity.setToolTip("How alike two neighbouring frames must look (cosine of the convnet's features); "
                                   "higher: fewer, tighter bursts")
        self.gap = QDoubleSpinBox(self)
        self.gap.setRange(*GROUPING_LIMITS["burst_gap_s"])
        self.gap.setSingleStep(0.5)
        self.gap.setDecimals(1)
        self.gap.setSuffix(" s")
        self.gap.setValue(chosen.burst_gap_s)
        self.gap.setToolTip("At most this long between two frames of one burst")
        self.preview = QLabel(self)
        self.preview.setObjectName("grouping_preview")
        self._now = now
        form = QFormLayout()
        form.addRow("Burst similarity:", self.similarity)
        form.addRow("Time gap:", self.gap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(QLabel("Groups you split or merged stay as they are.", self))
        layout.addWidget(buttons)
        self._timer = QTimer(self)  # one count per pause in the typing, not one per keystroke
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self._count)
        self.similarity.valueChanged.connect(lambda _v: self._timer.start())
        self.gap.valueChanged.connect(lambda _v: self._timer.start())
        self.finished.connect(lambda _r: self._drop_job())
        self._count()

    def params(self) -> GroupingParams:
        return replace(GroupingParams(), burst_similarity=round(self.similarity.value(), 2),
                       burst_gap_s=round(self.gap.value(), 1))

    def apply_to(self, settings: Settings) -> None:
        """The thresholds into the settings, which `selfie-desk groups` reads too (one set for both)."""
        settings.choose_grouping(self.params())

    def _defaults(self) -> None:
        self.similarity.setValue(GroupingParams.burst_similarity)
        self.gap.setValue(GroupingParams.burst_gap_s)

    def _drop_job(self) -> None:
        if self.job is not None:
            self.job.ignore()
            self.job = None

    def _count(self) -> None:
        if self.folder is None:
            self.preview.setText("Open a folder to see how it would be grouped")
            return
        self._drop_job()
        self.preview.setText("Counting…")
        self.job = self.service.start(self.folder, self.model, self.params(), preview=True)
        self.job.finished.connect(self._on_counted)

    @Slot(object)
    def _on_counted(self, outcome: GroupingOutcome) -> None:
        self.job = None
        if outcome.error:
            self.preview.setText(outcome.error)
            return
        b = outcome.bursts
        self.preview.setText(f"{outcome.groups} group{'s' if outcome.groups != 1 else ''} of two or more "
                             f"({outcome.grouped} photos; {b} burst{'s' if b != 1 else ''}); now {self._now}")
