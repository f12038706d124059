"""File > Export: which photos, how to write them, and where; the export runs in the background with a
progress bar, can be cancelled, and ends with a summary (and each failure, named)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from selfie_desk.core import export
from selfie_desk.core.catalog import Photo
from selfie_desk.workers.exporting import ExportOutcome, ExportService

FORMAT_LABELS = {"same": "Same as the original", "jpeg": "JPEG", "png": "PNG", "webp": "WebP"}


def default_destination(folder: Path) -> Path:
    return folder.parent / f"{folder.name} - keepers"


class ExportDialog(QDialog):
    """Options in, one background job out. The photos are counted here for the labels only: the worker reads
    their current state from the catalog."""

    def __init__(self, service: ExportService, folder: Path, photos: Sequence[Photo], selected: Sequence[Photo],
                 model: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.service, self.folder, self.model = service, folder, model
        self.photos, self.selected = list(photos), list(selected)
        self.job: int | None = None
        self.report: export.ExportReport | None = None

        picks = sum(p.decision == "keep" for p in self.photos)
        self.picks = QRadioButton(f"Picks ({picks})", self)
        self.top = QRadioButton("Top by score:", self)
        self.top_n = QSpinBox(self)
        self.top_n.setRange(1, 100_000)
        self.top_n.setValue(min(20, max(1, len(self.photos))))
        self.min_score = QRadioButton("Score at least:", self)
        self.min_score_value = QDoubleSpinBox(self)
        self.min_score_value.setRange(0.0, 1.0)
        self.min_score_value.setSingleStep(0.05)
        self.min_score_value.setDecimals(3)
        self.min_score_value.setValue(0.5)
        self.selection = QRadioButton(f"The current selection ({len(self.selected)})", self)
        self.selection.setEnabled(bool(self.selected))
        self.which = QButtonGroup(self)
        for b in (self.picks, self.top, self.min_score, self.selection):
            self.which.addButton(b)
        (self.picks if picks or not self.selected else self.selection).setChecked(True)
        which_box = QGroupBox("Photos (rejects only when selected by hand)", self)
        grid = QGridLayout(which_box)
        grid.addWidget(self.picks, 0, 0)
        grid.addWidget(self.top, 1, 0)
        grid.addWidget(self.top_n, 1, 1)
        grid.addWidget(self.min_score, 2, 0)
        grid.addWidget(self.min_score_value, 2, 1)
        grid.addWidget(self.selection, 3, 0, 1, 2)

        self.dest = QLineEdit(str(default_destination(folder)), self)
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._choose_dest)
        dest_row = QHBoxLayout()
        dest_row.addWidget(self.dest, 1)
        dest_row.addWidget(browse)

        self.apply_crop = QCheckBox("Apply the crop (accepted, or else proposed)", self)
        self.resize = QCheckBox("Long edge at most:", self)
        self.long_edge = QSpinBox(self)
        self.long_edge.setRange(16, 100_000)
        self.long_edge.setValue(2048)
        self.long_edge.setSuffix(" px")
        self.long_edge.setEnabled(False)
        self.resize.toggled.connect(self.long_edge.setEnabled)
        resize_row = QHBoxLayout()
        resize_row.addWidget(self.resize)
        resize_row.addWidget(self.long_edge, 1)
        self.format = QComboBox(self)
        for key, label in FORMAT_LABELS.items():
            self.format.addItem(label, key)
        self.quality = QSpinBox(self)
        self.quality.setRange(1, 100)
        self.quality.setValue(90)
        self.name_pattern = QLineEdit("{name}", self)
        self.name_pattern.setToolTip("Fields: " + " ".join("{" + f + "}" for f in export.PATTERN_FIELDS)
                                     + ", e.g. {rank} {name}")
        self.embed_xmp = QCheckBox("Embed stars, label and crop (XMP) for Lightroom, darktable, digiKam", self)
        self.embed_xmp.setChecked(True)
        self.strip_gps = QCheckBox("Leave the GPS position out", self)
        self.list_only = QCheckBox("Only write a list (CSV and JSON), copy nothing", self)
        self.on_clash = QComboBox(self)
        self.on_clash.addItem("Add a new name, e.g. “photo (2).jpg”", False)
        self.on_clash.addItem("Skip the photo", True)

        form = QFormLayout()
        form.addRow("To folder:", dest_row)
        form.addRow("Format:", self.format)
        form.addRow("Quality:", self.quality)
        form.addRow("Size:", resize_row)
        form.addRow("File name:", self.name_pattern)
        form.addRow("If the name exists:", self.on_clash)
        form.addRow("", self.apply_crop)
        form.addRow("", self.embed_xmp)
        form.addRow("", self.strip_gps)
        form.addRow("", self.list_only)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(110)
        self.details.hide()

        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)

        layout = QVBoxLayout(self)
        layout.addWidget(which_box)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.details)
        layout.addWidget(self.buttons)
        self._inputs = [which_box, self.dest, browse, self.apply_crop, self.resize, self.long_edge, self.format,
                        self.quality, self.name_pattern, self.embed_xmp, self.strip_gps, self.list_only, self.on_clash]

        service.progress.connect(self._on_progress)
        service.finished.connect(self._on_finished)

    # ---- options -------------------------------------------------------------------------------------------------
    def _choose_dest(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export To", self.dest.text())
        if folder:
            self.dest.setText(folder)

    def options(self) -> export.ExportOptions:
        if self.top.isChecked():
            rule = dict(selection="top", top_n=self.top_n.value())
        elif self.min_score.isChecked():
            rule = dict(selection="min_score", min_score=self.min_score_value.value())
        elif self.selection.isChecked():
            rule = dict(selection="ids", photo_ids=tuple(p.id for p in self.selected))
        else:
            rule = dict(selection="picks")
        return export.ExportOptions(
            **rule,
            apply_crop=self.apply_crop.isChecked(),
            long_edge=self.long_edge.value() if self.resize.isChecked() else None,
            format=self.format.currentData(),
            quality=self.quality.value(),
            name_pattern=self.name_pattern.text(),
            embed_xmp=self.embed_xmp.isChecked(),
            list_only=self.list_only.isChecked(),
            skip_existing=bool(self.on_clash.currentData()),
            strip_gps=self.strip_gps.isChecked(),
            model=self.model,
        )

    # ---- running -------------------------------------------------------------------------------------------------
    def start(self) -> int | None:
        options = self.options()
        try:
            export.check_options(options)
        except export.ExportError as exc:
            self.status.setText(str(exc))
            return None
        text = self.dest.text().strip()
        if not text:
            self.status.setText("Choose a folder to export to.")
            return None
        dest = Path(text).expanduser()
        if dest.exists() and not dest.is_dir():
            self.status.setText(f"{dest} is a file, not a folder.")
            return None
        self.report = None
        self.details.clear()
        self.details.hide()
        for w in self._inputs:
            w.setEnabled(False)
        self.export_button.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first file is done
        self.status.setText("Exporting…")
        self.job = self.service.start_export(self.folder, dest, options)
        return self.job

    @Slot(int, int, int, str)
    def _on_progress(self, job: int, done: int, total: int, path: str) -> None:
        if job != self.job:
            return
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(f"{done} of {total}: {Path(path).name}")

    @Slot(int, object)
    def _on_finished(self, job: int, outcome: ExportOutcome) -> None:
        if job != self.job:
            return
        self.job = None
        for w in self._inputs:
            w.setEnabled(True)
        self.long_edge.setEnabled(self.resize.isChecked())
        self.selection.setEnabled(bool(self.selected))
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        if outcome.error:
            self.status.setText(outcome.error)
            return
        report: export.ExportReport = outcome.report
        self.report = report
        text = report.summary() if report.selected else "No photo matches: nothing was exported."
        if report.written and export.inside(self.folder, Path(report.written[0].target).parent):
            text += " The copies are inside the folder itself: they will join its photos at the next scan."
        self.status.setText(text)
        lines = [f"{Path(o.source).name}: {o.error}" for o in report.failed]
        lines += [f"{Path(o.source).name}: skipped, {o.skipped}" for o in report.skipped]
        if lines:
            self.details.setPlainText("\n".join(lines))
            self.details.show()

    def cancel_or_close(self) -> None:
        if self.job is not None:
            self.service.cancel(self.job)
            self.status.setText("Cancelling after the photo being written…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.job is not None:  # Esc or the window's close button while exporting: cancel first
            self.service.cancel(self.job)
        super().reject()
