"""File > Export: which photos, how to write them, and where; the export runs in the background with a
progress bar, can be cancelled, and ends with a summary (and each failure, named)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
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
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from selfie_desk.core.formats import export
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.core.vocabulary import Decision
from selfie_desk.workers.exporting import ExportOutcome, ExportService
from selfie_desk.workers.service import Job

FORMAT_LABELS = {"same": "Same as the original", "jpeg": "JPEG", "png": "PNG", "webp": "WebP"}


Box = tuple[float, float, float, float]
REVIEW_EDGE = 128  # the proposal review's thumbnails of the result


def default_destination(folder: Path) -> Path:
    return folder.parent / f"{folder.name} - keepers"


def cropped_thumbnail(p: Photo, box: Box, thumbnail: QPixmap | None, edge: int = REVIEW_EDGE) -> QPixmap:
    """What the export would write, small: the thumbnail cut to `box` (pixels of the upright photo); a grey
    tile of the crop's shape when the thumbnail is not loaded."""
    x0, y0, x1, y1 = box
    w, h = max(1.0, x1 - x0), max(1.0, y1 - y0)
    if thumbnail is not None and not thumbnail.isNull() and p.width and p.height:
        sx, sy = thumbnail.width() / p.width, thumbnail.height() / p.height
        part = thumbnail.copy(QRect(round(x0 * sx), round(y0 * sy), max(1, round(w * sx)), max(1, round(h * sy))))
        return part.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    scale = edge / max(w, h)
    tile = QPixmap(max(1, round(w * scale)), max(1, round(h * scale)))
    tile.fill(QColor(90, 90, 90))
    return tile


class ProposalReview(QDialog):
    """Before an export cuts crops nobody accepted: every photo it would crop, as the crop would leave it."""

    def __init__(self, photos: Sequence[Photo], proposals: Mapping[int, Box],
                 thumbnail: Callable[[Photo], QPixmap | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photos = list(photos)
        n = len(self.photos)
        self.setWindowTitle("Apply proposed crops")
        them = f"These {n} photos have" if n != 1 else "This photo has"
        text = QLabel(f"{them} no accepted crop. The export would cut "
                      f"{'each' if n != 1 else 'it'} to the convnet's proposal, as shown, without your review. "
                      "To choose a crop yourself, open the photo in the loupe and press C.", self)
        text.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(REVIEW_EDGE, REVIEW_EDGE))
        self.list.setGridSize(QSize(REVIEW_EDGE + 40, REVIEW_EDGE + 48))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setSelectionMode(QListWidget.SelectionMode.NoSelection)  # a list to look at, not to pick from
        for p in self.photos:
            x0, y0, x1, y1 = proposals[p.id]
            size = f"{round(x1 - x0)} × {round(y1 - y0)}" + (f" of {p.width} × {p.height}" if p.width else "")
            item = QListWidgetItem(QIcon(cropped_thumbnail(p, proposals[p.id], thumbnail(p))),
                                   f"{Path(p.path).name}\n{size}")
            item.setToolTip(f"{p.path}\ncropped to {size}")
            self.list.addItem(item)
        buttons = QDialogButtonBox(self)
        self.crop_button = buttons.addButton(f"Crop these {n} photos" if n != 1 else "Crop this photo",
                                             QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(720, 520)


class ExportDialog(QDialog):
    """Options in, one background job out. The photos are counted here for the labels only: the worker reads
    their current state from the catalog."""

    def __init__(self, service: ExportService, folder: Path, photos: Sequence[Photo], selected: Sequence[Photo],
                 model: str, parent: QWidget | None = None, proposals: Mapping[int, Box] | None = None,
                 thumbnail: Callable[[Photo], QPixmap | None] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.service, self.folder, self.model = service, folder, model
        self.proposals = dict(proposals or {})  # photo id -> the search's proposal, for photos with no accepted crop
        self.thumbnail = thumbnail or (lambda p: None)
        self.reviewed: tuple[int, ...] | None = None  # the photos whose proposed crops the user saw and accepted
        self.review: ProposalReview | None = None
        self.photos, self.selected = list(photos), list(selected)
        self.job: Job | None = None
        self.report: export.ExportReport | None = None

        picks = sum(p.decision == Decision.KEEP for p in self.photos)
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
        moments = len(export.select(self.photos, export.ExportOptions(selection="best_of_groups")))
        self.best_of_groups = QRadioButton(f"The best of each group, and photos in no group ({moments})", self)
        self.best_of_groups.setToolTip("One photo per moment: each burst's or bracket's best (a rejected best "
                                       "gives way to the next), as the side panel ranks them")
        self.which = QButtonGroup(self)
        for b in (self.picks, self.top, self.min_score, self.selection, self.best_of_groups):
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
        grid.addWidget(self.best_of_groups, 4, 0, 1, 2)

        self.dest = QLineEdit(str(default_destination(folder)), self)
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._choose_dest)
        dest_row = QHBoxLayout()
        dest_row.addWidget(self.dest, 1)
        dest_row.addWidget(browse)

        self.apply_crop = QCheckBox("Apply the accepted crops", self)
        self.apply_crop.setToolTip("Cut the crops you accepted (Enter in the loupe's crop mode) into the copies; "
                                   "photos without one are exported whole")
        self.apply_proposals = QCheckBox("Crop the others to the convnet's proposal (unreviewed)…", self)
        self.apply_proposals.setToolTip("Shows the photos it would crop, as they would come out, before anything "
                                        "is exported")
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
        self.raw_files = QComboBox(self)  # a camera raw (RAW+JPEG, or a raw alone)
        self.raw_files.addItem("The raw and its JPEG", "both")
        self.raw_files.addItem("The raw only, as it is (its decisions in NAME.xmp with XMP on)", "raw")
        self.raw_files.addItem("The JPEG only (the one beside the raw, else made from it)", "jpeg")
        self.raw_files.setToolTip("What to copy for a camera raw photo; crop, size and format apply to its JPEG")
        self.on_clash = QComboBox(self)
        self.on_clash.addItem("Add a new name, e.g. “photo (2).jpg”", False)
        self.on_clash.addItem("Skip the photo", True)

        form = QFormLayout()
        form.addRow("To folder:", dest_row)
        form.addRow("Format:", self.format)
        form.addRow("Quality:", self.quality)
        form.addRow("Size:", resize_row)
        form.addRow("File name:", self.name_pattern)
        form.addRow("Raw photos:", self.raw_files)
        form.addRow("If the name exists:", self.on_clash)
        form.addRow("", self.apply_crop)
        form.addRow("", self.apply_proposals)
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
        self._inputs = [which_box, self.dest, browse, self.apply_crop, self.apply_proposals, self.resize,
                        self.long_edge, self.format, self.quality, self.name_pattern, self.embed_xmp,
                        self.strip_gps, self.list_only, self.on_clash, self.raw_files]

        self.apply_proposals.toggled.connect(self._proposals_toggled)
        for b in (self.picks, self.top, self.min_score, self.selection, self.best_of_groups):
            b.toggled.connect(self._update_counts)
        self.top_n.valueChanged.connect(self._update_counts)
        self.min_score_value.valueChanged.connect(self._update_counts)
        self._update_counts()

    # ---- what the export touches ---------------------------------------------------------------------------------
    def chosen(self) -> list[Photo]:
        """The photos the options select now (the worker selects again from the catalog, the same way)."""
        try:
            return export.select(self.photos, self._rule_options())
        except export.ExportError:
            return []

    def to_propose(self) -> list[Photo]:
        """The chosen photos an "apply proposed crops" would cut: no accepted crop, a stored proposal."""
        return [p for p in self.chosen() if p.crop is None and p.id in self.proposals]

    def _update_counts(self) -> None:
        chosen = self.chosen()
        n = len(chosen)
        self.export_button.setText(f"Export {n} photo{'s' if n != 1 else ''}")
        accepted = sum(p.crop is not None for p in chosen)
        self.apply_crop.setText(f"Apply the accepted crops ({accepted} of these {n})")
        proposed = len(self.to_propose())
        self.apply_proposals.setText(f"Crop the other {proposed} to the convnet's proposal (unreviewed)…")
        self.apply_proposals.setEnabled(proposed > 0 and self.job is None)
        if self.apply_proposals.isChecked() and tuple(p.id for p in self.to_propose()) != self.reviewed:
            self.apply_proposals.setChecked(False)  # other photos now: they are shown again before any is cut
            self.status.setText("The photos changed: tick the proposed crops again to see which would be cut.")

    def _proposals_toggled(self, on: bool) -> None:
        if not on:
            self.reviewed = None
            return
        photos = self.to_propose()
        if tuple(p.id for p in photos) == self.reviewed:
            return
        self.apply_proposals.blockSignals(True)
        self.apply_proposals.setChecked(False)  # until the user has seen the list and said yes
        self.apply_proposals.blockSignals(False)
        self.review = ProposalReview(photos, self.proposals, self.thumbnail, self)
        self.review.accepted.connect(lambda: self._reviewed(tuple(p.id for p in photos)))
        self.review.finished.connect(self.review.deleteLater)
        self.review.open()

    def _reviewed(self, ids: tuple[int, ...]) -> None:
        self.reviewed = ids
        self.review = None
        self.apply_proposals.blockSignals(True)
        self.apply_proposals.setChecked(True)
        self.apply_proposals.blockSignals(False)

    # ---- options -------------------------------------------------------------------------------------------------
    def _choose_dest(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export To", self.dest.text())
        if folder:
            self.dest.setText(folder)

    def _rule_options(self) -> export.ExportOptions:
        return dataclasses.replace(self.options(), apply_crop=False, apply_proposals=False)

    def options(self) -> export.ExportOptions:
        if self.top.isChecked():
            rule = dict(selection="top", top_n=self.top_n.value())
        elif self.min_score.isChecked():
            rule = dict(selection="min_score", min_score=self.min_score_value.value())
        elif self.selection.isChecked():
            rule = dict(selection="ids", photo_ids=tuple(p.id for p in self.selected))
        elif self.best_of_groups.isChecked():
            rule = dict(selection="best_of_groups")
        else:
            rule = dict(selection="picks")
        return export.ExportOptions(
            **rule,
            apply_crop=self.apply_crop.isChecked(),
            apply_proposals=self.apply_proposals.isChecked() and self.reviewed is not None,
            long_edge=self.long_edge.value() if self.resize.isChecked() else None,
            format=self.format.currentData(),
            quality=self.quality.value(),
            name_pattern=self.name_pattern.text(),
            embed_xmp=self.embed_xmp.isChecked(),
            list_only=self.list_only.isChecked(),
            skip_existing=bool(self.on_clash.currentData()),
            strip_gps=self.strip_gps.isChecked(),
            model=self.model,
            raw_files=self.raw_files.currentData(),
        )

    # ---- running -------------------------------------------------------------------------------------------------
    def start(self) -> Job | None:
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
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        return self.job

    @Slot(object)
    def _on_progress(self, p: export.ExportProgress) -> None:
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        self.status.setText(f"{p.done} of {p.total}: {Path(p.path).name}")

    @Slot(object)
    def _on_finished(self, outcome: ExportOutcome) -> None:
        self.job = None
        for w in self._inputs:
            w.setEnabled(True)
        self.long_edge.setEnabled(self.resize.isChecked())
        self.selection.setEnabled(bool(self.selected))
        self._update_counts()
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
            self.job.cancel()
            self.status.setText("Cancelling after the photo being written…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.job is not None:  # Esc or the window's close button while exporting: cancel first
            self.job.cancel()
        super().reject()
