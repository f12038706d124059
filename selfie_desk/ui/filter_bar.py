"""Sort and filter controls above the grid."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QToolBar, QWidget

from selfie_desk.core.culling.view import DECISION_FILTERS, SORT_LABELS, PhotoFilter
from selfie_desk.core.measures.reasons import FAMILIES
from selfie_desk.ui.people_panel import PeopleBox


class FilterBar(QToolBar):
    changed = Signal()  # sort or filter changed; read .sort and .photo_filter()

    def __init__(self, sort: str = "score", parent: QWidget | None = None) -> None:
        super().__init__("Sort and filter", parent)
        self.setObjectName("filter_bar")
        self.setMovable(False)
        self.sort_box = QComboBox(self)
        for key, label in SORT_LABELS.items():
            self.sort_box.addItem(label, key)
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(sort)))
        self.decision_box = QComboBox(self)
        for key, label in DECISION_FILTERS.items():
            self.decision_box.addItem(label, key)
        self.faces_box = QCheckBox("With faces", self)
        self.score_box = QDoubleSpinBox(self)
        self.score_box.setRange(0.0, 1.0)
        self.score_box.setSingleStep(0.05)
        self.score_box.setDecimals(2)
        self.score_box.setSpecialValueText("any")
        self.score_box.setKeyboardTracking(False)
        self.stars_box = QComboBox(self)
        self.stars_box.addItem("any", 0)
        for n in range(1, 6):
            self.stars_box.addItem("★" * n + ("+" if n < 5 else ""), n)
        # the score's reasons: "show me the soft ones" (or the noisy, badly exposed, badly framed)
        self.reason_box = QComboBox(self)
        self.reason_box.addItem("any reason", "")
        for family in FAMILIES:
            self.reason_box.addItem(family, family)
        self.reason_box.setToolTip("Only photos whose score gives this reason")
        # what a group's frames are checked for (issue 14): a blink, a face that missed focus
        self.closed_box = QCheckBox("Closed eyes", self)
        self.closed_box.setToolTip("Only photos with a face whose eyes are closed")
        self.soft_box = QCheckBox("Soft focus", self)
        self.soft_box.setToolTip("Only photos whose face (or whole photo) is soft, or whose face is clearly softer "
                                 "than its group's best")
        self.people_box = PeopleBox(self)  # one person of the shoot (issue 28)

        self.addWidget(QLabel(" Sort: ", self))
        self.addWidget(self.sort_box)
        self.addSeparator()
        self.addWidget(QLabel(" Show: ", self))
        self.addWidget(self.decision_box)
        self.addWidget(QLabel("  ", self))
        self.addWidget(self.faces_box)
        self.addWidget(QLabel("   Min score: ", self))
        self.addWidget(self.score_box)
        self.addWidget(QLabel("   Min stars: ", self))
        self.addWidget(self.stars_box)
        self.addWidget(QLabel("   Why: ", self))
        self.addWidget(self.reason_box)
        self.addWidget(QLabel("  ", self))
        self.addWidget(self.closed_box)
        self.addWidget(self.soft_box)
        self.addWidget(QLabel("   People: ", self))
        self.addWidget(self.people_box)

        # Culling keys (P, X, digits) must reach the photos, not a combo box left focused by a click.
        for w in (self.sort_box, self.decision_box, self.faces_box, self.stars_box, self.reason_box,
                  self.closed_box, self.soft_box, self.people_box):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.score_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.sort_box.currentIndexChanged.connect(self.changed)
        self.decision_box.currentIndexChanged.connect(self.changed)
        self.faces_box.toggled.connect(self.changed)
        self.score_box.valueChanged.connect(self.changed)
        self.stars_box.currentIndexChanged.connect(self.changed)
        self.reason_box.currentIndexChanged.connect(self.changed)
        self.closed_box.toggled.connect(self.changed)
        self.soft_box.toggled.connect(self.changed)
        self.people_box.currentIndexChanged.connect(self.changed)

    @property
    def sort(self) -> str:
        return self.sort_box.currentData()

    def set_sort(self, sort: str) -> None:
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(sort)))

    def photo_filter(self) -> PhotoFilter:
        return PhotoFilter(
            decision=self.decision_box.currentData(),
            faces_only=self.faces_box.isChecked(),
            min_score=round(self.score_box.value(), 2),
            min_stars=self.stars_box.currentData(),
            reason=self.reason_box.currentData(),
            closed_eyes=self.closed_box.isChecked(),
            soft_focus=self.soft_box.isChecked(),
            person=self.people_box.person,
            person_photos=self.people_box.photos_of(self.people_box.person),
        )

    def set_filter(self, f: PhotoFilter) -> None:
        """Set every control at once, announcing the change once."""
        self.blockSignals(True)
        boxes = (self.decision_box, self.faces_box, self.score_box, self.stars_box, self.reason_box, self.closed_box,
                 self.soft_box, self.people_box)
        for w in boxes:
            w.blockSignals(True)
        self.decision_box.setCurrentIndex(max(0, self.decision_box.findData(f.decision)))
        self.faces_box.setChecked(f.faces_only)
        self.score_box.setValue(f.min_score)
        self.stars_box.setCurrentIndex(max(0, self.stars_box.findData(f.min_stars)))
        self.reason_box.setCurrentIndex(max(0, self.reason_box.findData(f.reason)))
        self.closed_box.setChecked(f.closed_eyes)
        self.soft_box.setChecked(f.soft_focus)
        self.people_box.choose(f.person)
        for w in boxes:
            w.blockSignals(False)
        self.blockSignals(False)
        self.changed.emit()
