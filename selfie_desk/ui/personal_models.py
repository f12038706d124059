"""Personal models in the window: choose the active score model, train one from your picks in the
background, and review the photos the model is least sure about.

The Models panel (a dock) and the Models menu live here; the window only lends its catalog, settings and
three methods (set_model, show_message, review_uncertain). Cards are read from the NAME.json files beside
the models, so listing them never imports torch on the UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from selfie_desk.core.model_cards import DEFAULT_MODEL, name_problem
from selfie_desk.core.model_cards import model_cards as cards_on_disk
from selfie_desk.workers.service import Job
from selfie_desk.workers.training import TrainingOutcome, TrainingService


def model_cards() -> dict[str, dict]:
    """The models a user can choose (the bundled default first) with their cards."""
    return {name: card for name, (_, card) in cards_on_disk().items()}


def describe(name: str, card: dict) -> str:
    if name == DEFAULT_MODEL:
        return ("The bundled model: learned from how people rated 10,000 photos (BIQ2021), and from framing "
                "(a face about a third of the frame, never cut).")
    a = card.get("heldout_agreement")
    labels = card.get("labels", {})
    text = f"Trained {str(card.get('date', '?'))[:10]} on {labels.get('total', '?')} of your labels."
    if a:
        text += (f" On {a['n']} held-out photos: agrees {a['accuracy']:.0%} (pairwise {a['auc']:.0%}); "
                 f"the default model {a['default_accuracy']:.0%} (pairwise {a['default_auc']:.0%}).")
    return text


class ModelPanel(QWidget):
    """Active model, its card, and the training and review buttons."""

    model_chosen = Signal(str)
    train_clicked = Signal()
    review_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        self.combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # culling keys must reach the photos
        self.combo.setToolTip("The score model that sorts the photos")
        self.card = QLabel(self)
        self.card.setWordWrap(True)
        self.train_button = QPushButton("Train from my picks…", self)
        self.train_button.setToolTip("Teach the score your taste from your picks, rejects and stars (seconds)")
        self.review_button = QPushButton("Review uncertain", self)
        self.review_button.setToolTip("Unflagged photos nearest the model's boundary first: each decision there "
                                      "teaches the next model the most")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.cancel = QPushButton("Cancel", self)
        for b in (self.train_button, self.review_button, self.cancel):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(QLabel("Score model:", self))
        layout.addWidget(self.combo)
        layout.addWidget(self.card)
        layout.addWidget(self.train_button)
        layout.addLayout(row)
        layout.addWidget(self.review_button)
        layout.addStretch(1)
        self.set_training(False)
        self._cards: dict[str, dict] = {}
        self.combo.activated.connect(lambda i: self.model_chosen.emit(self.combo.itemData(i)))
        self.train_button.clicked.connect(self.train_clicked)
        self.review_button.clicked.connect(self.review_clicked)
        self.cancel.clicked.connect(self.cancel_clicked)

    def set_models(self, cards: dict[str, dict], active: str) -> None:
        self._cards = cards
        self.combo.blockSignals(True)
        self.combo.clear()
        for name, card in cards.items():
            self.combo.addItem(name, name)
            self.combo.setItemData(self.combo.count() - 1, describe(name, card), Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(max(0, self.combo.findData(active)))
        self.combo.blockSignals(False)
        self.card.setText(describe(active, cards.get(active, {})))

    def set_training(self, running: bool, share: float = 0.0) -> None:
        self.train_button.setEnabled(not running)
        self.progress.setVisible(running)
        self.cancel.setVisible(running)
        self.progress.setValue(int(share * 100))


class PersonalModels(QObject):
    """The window's personal-model features, wired to the window through a few public methods."""

    training_finished = Signal(object)  # TrainingOutcome

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.service = TrainingService(window.catalog.path, parent=self)
        self.panel = ModelPanel(window)
        self.name_dialog: QInputDialog | None = None
        cards = model_cards()
        if window.settings.model not in cards:  # a model since deleted: back to the default, and say so
            window.show_message(f"The score model '{window.settings.model}' is gone; using the default model.",
                                "warning")
            window.settings.model = DEFAULT_MODEL
        self.panel.set_models(cards, window.settings.model)
        self.panel.model_chosen.connect(self.choose)
        self.panel.train_clicked.connect(self.ask_and_train)
        self.panel.review_clicked.connect(window.review_uncertain)
        self.panel.cancel_clicked.connect(self.service.cancel)

        self.train_action = QAction("&Train from My Picks…", window)
        self.train_action.triggered.connect(lambda checked=False: self.ask_and_train())
        self.review_action = QAction("&Review Uncertain", window)
        self.review_action.triggered.connect(lambda checked=False: window.review_uncertain())

    def menu(self, parent: QWidget) -> QMenu:
        menu = QMenu("&Models", parent)
        menu.addAction(self.train_action)
        menu.addAction(self.review_action)
        menu.addSeparator()
        choose = menu.addMenu("&Score With")
        choose.aboutToShow.connect(lambda: self._fill_choose_menu(choose))
        return menu

    def _fill_choose_menu(self, menu: QMenu) -> None:
        menu.clear()
        for name in model_cards():
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == self.window.settings.model)
            action.triggered.connect(lambda checked=False, n=name: self.choose(n))

    def choose(self, name: str) -> None:
        """Make `name` the active model (persisted); the window re-scores from the stored embeddings."""
        self.window.set_model(name)
        self.panel.set_models(model_cards(), self.window.settings.model)

    def ask_and_train(self) -> QInputDialog:
        """Ask for the new model's name (not modal: the keyboard stays with the photos), then train."""
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle("Train from my picks")
        dialog.setLabelText("Name of the new model (letters, digits, - _ .); an existing model of that name is "
                            "replaced:")
        dialog.setTextValue(self._suggest_name())
        dialog.textValueSelected.connect(self.train)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.name_dialog = dialog
        return dialog

    def _suggest_name(self) -> str:
        taken = set(model_cards())
        n = 1
        while f"my-taste-{n}" in taken:
            n += 1
        return f"my-taste-{n}"

    def train(self, name: str, holdout: float = 0.2) -> Job | None:
        name = name.strip()
        problem = name_problem(name)
        if problem:
            self.window.show_message(f"Cannot train this model: {problem}.", "warning")
            return None
        self.panel.set_training(True, 0.0)
        self.window.statusBar().showMessage(f"Training '{name}' from your picks, rejects and stars…", 5000)
        job = self.service.start(name, holdout=holdout, replace=True)
        # A training replaced by another still says how it ended (cancelled): every job's end is reported.
        job.progress.connect(lambda share: self.panel.set_training(True, share))
        job.finished.connect(self._on_finished)
        return job

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        self.panel.set_training(self.service.busy)
        self.window.statusBar().clearMessage()  # "Training…"
        if outcome.error:
            self.window.show_message(outcome.error, "warning")
        elif outcome.cancelled:
            self.window.statusBar().showMessage(outcome.summary, 5000)
        else:
            text = outcome.summary
            if outcome.name == self.window.settings.model:  # the active model was retrained: fresh scores
                self.window.set_model(outcome.name, force=True)
            else:
                text += f" Choose '{outcome.name}' under Score model to sort by it."
            self.window.show_message(text, "info")
            for w in outcome.warnings:
                self.window.show_message(w, "warning")
        self.panel.set_models(model_cards(), self.window.settings.model)
        self.training_finished.emit(outcome)

    def stop(self, timeout_s: float) -> bool:
        return self.service.stop(timeout_s)
