"""Cropping in the window: the Crop menu and toolbar, the loupe's crop mode, and proposals in the background.

In the loupe, C (or the toolbar's Crop) asks the crop thread for the photo's proposal and shows it as an
overlay; Tab / Shift+Tab cycle the best and its alternatives, the aspect menu re-proposes for another preset,
the handles adjust the box by hand, Enter accepts (stored in the catalog at once: Photo.crop, the original
file never changes), Esc discards, Backspace or Delete clears an accepted crop. The Crop menu also proposes
crops for the selection or the whole folder in the background, with progress in the status bar; the grid
can then sort by "best after crop".

The controller is given what it works with (catalog, settings, loupe, crop service, status widget) and tells
the window about changed photos and messages by signals, so it stays out of the window's own code.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeyEvent
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QToolBar, QWidget

from selfie_desk.core.crop.geometry import RATIOS, Box, aspect_ratio, whole_pixels
from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import ACCEPTED_CROP, Catalog, CropProposal, Photo
from selfie_desk.ui.crop_box import RATIO_LABELS, clamp_move, fit_ratio
from selfie_desk.ui.crop_overlay import CropOverlay
from selfie_desk.ui.culling_controller import CullingController
from selfie_desk.ui.loupe import Loupe
from selfie_desk.ui.scan_status import ScanStatus
from selfie_desk.workers.cropping import BoxScores, CropFailed, CropFound, CropJob, CropOutcome, CropService

# Keys the crop mode takes from the window's shortcuts while its overlay is open (Enter would otherwise
# leave the loupe, Esc go back to the grid, Tab move the focus).
EDIT_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab,
             Qt.Key.Key_Backspace, Qt.Key.Key_Delete}
# The arrows nudge the box while the overlay is open (rather than step to another photo and lose the edit):
# by this share of the photo's shorter side, ten times more with Shift.
NUDGE = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
NUDGE_SHARE = 0.01


@dataclass(frozen=True)
class Candidate:
    """One box the user can cycle to: the accepted crop, the best proposal, or an alternative."""

    kind: str  # accepted | best | alternative
    box: Box
    score: float | None


def candidates_of(proposal: CropProposal) -> list[Candidate]:
    return [Candidate("best", tuple(proposal.crop), proposal.score)] + [
        Candidate("alternative", tuple(box), score) for box, score in proposal.alternatives]


class CropController(QObject):
    photos_changed = Signal(object)  # list[Photo] re-read from the catalog (a proposal stored, a crop scored)
    message = Signal(str, str)  # text, level (error | warning | info)
    proposal_shown = Signal(int)  # photo id: the overlay shows its proposal (the loupe's request is done)
    batch_finished = Signal(object)  # CropOutcome of a selection's or folder's proposals
    loupe_wanted = Signal()  # Crop was asked for outside the loupe: open it on the current photo
    aspect_changed = Signal(str)  # the preset changed (Settings.crop_aspect too): save the settings

    def __init__(self, catalog: Catalog, settings: Settings, loupe: Loupe, service: CropService,
                 status: ScanStatus, parent: QWidget | None = None,
                 targets: Callable[[], list[Photo]] | None = None, culling: CullingController | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.settings, self.loupe, self.service, self.status = catalog, settings, loupe, service, status
        self.culling = culling  # accepting and clearing crops are edits: the culling session writes them
        self.targets = targets  # what Clear Accepted Crop applies to outside the loupe (the grid's selection)
        self.overlay = CropOverlay(loupe.canvas)
        self.aspect = settings.crop_aspect if settings.crop_aspect in RATIOS else "original"
        self.active = False  # the overlay is open for editing
        self.photo: Photo | None = None  # the loupe's photo while active
        self.candidates: list[Candidate] = []
        self.index = 0
        self.box: Box | None = None  # what Enter would store (a candidate, or the user's own adjustment)
        self.edited = False
        self.proposal: CropProposal | None = None
        self.job: CropJob | None = None  # the loupe's request
        self.score_job: CropJob | None = None  # scoring the box the user adjusted
        self.hand_score: float | None = None
        self.batch_job: CropJob | None = None
        self._found_size = (0, 0)  # the photo's size as the search saw it (the catalog may not know it yet)

        self.overlay.box_edited.connect(self._box_edited)
        self._score_later = QTimer(self)  # arrow keys: score the box once they rest, not at every press
        self._score_later.setSingleShot(True)
        self._score_later.setInterval(300)
        self._score_later.timeout.connect(lambda: self._box_released(self.box) if self.edited and self.box else None)
        self.overlay.box_released.connect(self._box_released)
        status.cancel_clicked.connect(self.cancel_batch)
        loupe.installEventFilter(self)
        self._build(parent)

    # ---- menu and toolbar --------------------------------------------------------------------------
    def _build(self, parent: QWidget | None) -> None:
        self.menu = QMenu("&Crop", parent)
        self.crop_action = QAction("&Crop Photo\tC", self)
        self.crop_action.setStatusTip("Propose the best crop of the photo in the loupe")
        self.crop_action.triggered.connect(self.request_crop)
        self.next_action = QAction("&Next Alternative\tTab", self)
        self.next_action.triggered.connect(lambda: self.cycle(+1))
        self.accept_action = QAction("&Accept Crop\tEnter", self)
        self.accept_action.triggered.connect(self.accept)
        self.discard_action = QAction("&Discard\tEsc", self)
        self.discard_action.triggered.connect(self.discard)
        self.clear_action = QAction("C&lear Accepted Crop\tDel", self)
        self.clear_action.setStatusTip("Forget the accepted crop of the photo (or of the selected photos)")
        self.clear_action.triggered.connect(self.clear_accepted)
        self.selection_action = QAction("Propose Crops for &Selection", self)
        self.selection_action.setStatusTip("Propose crops for the selected photos in the background")
        self.folder_action = QAction("Propose Crops for Whole &Folder", self)
        self.folder_action.setStatusTip("Propose crops for every photo of the folder in the background")
        self.cancel_action = QAction("Cancel Crop Proposals", self)
        self.cancel_action.triggered.connect(self.cancel_batch)
        self.cancel_action.setEnabled(False)
        for a in (self.crop_action, self.next_action, self.accept_action, self.discard_action, self.clear_action):
            self.menu.addAction(a)
        self.menu.addSeparator()
        self.aspect_menu = self.menu.addMenu("Aspect &Ratio")
        self.aspect_group = QActionGroup(self)
        for aspect in RATIOS:
            a = QAction(RATIO_LABELS[aspect], self, checkable=True)
            a.setData(aspect)
            a.setChecked(aspect == self.aspect)
            a.triggered.connect(lambda checked=False, aspect=aspect: self.set_aspect(aspect))
            self.aspect_group.addAction(a)
            self.aspect_menu.addAction(a)
        self.menu.addSeparator()
        for a in (self.selection_action, self.folder_action, self.cancel_action):
            self.menu.addAction(a)

        self.toolbar = QToolBar("Crop", parent)
        self.toolbar.setObjectName("crop_bar")
        self.toolbar.setMovable(False)
        self.toolbar.addAction(self.crop_action)
        self.crop_button = self.toolbar.widgetForAction(self.crop_action)
        self.crop_action.setIconText("✂ Crop")
        self.toolbar.addWidget(QLabel(" Aspect: ", self.toolbar))
        self.aspect_box = QComboBox(self.toolbar)
        for aspect in RATIOS:
            self.aspect_box.addItem(RATIO_LABELS[aspect], aspect)
        self.aspect_box.setCurrentIndex(self.aspect_box.findData(self.aspect))
        self.aspect_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the photos
        self.aspect_box.setToolTip("The crop's aspect ratio; changing it proposes again")
        self.aspect_box.currentIndexChanged.connect(lambda i: self.set_aspect(self.aspect_box.itemData(i)))
        self.toolbar.addWidget(self.aspect_box)
        self._update_actions()

    def _update_actions(self) -> None:
        for a in (self.next_action, self.accept_action, self.discard_action):
            a.setEnabled(self.active)

    # ---- the loupe's crop mode ---------------------------------------------------------------------
    def request_crop(self) -> None:
        """C or the toolbar's Crop: open the overlay on the loupe's photo and ask for its proposal."""
        if not self.loupe.isVisible():
            self.loupe_wanted.emit()
        p = self.loupe.photo
        if p is None or not self.loupe.isVisible():
            self.message.emit("Select a photo to crop", "info")
            return
        if self.active and self.photo is not None and self.photo.id == p.id:
            return
        if p.error:
            self.message.emit(f"Cannot crop {p.path}: {p.error}", "warning")
            return
        self.active, self.photo, self.edited = True, p, False
        self._found_size = (0, 0)
        self.candidates = [Candidate("accepted", tuple(float(v) for v in p.crop), None)] if p.crop else []
        self.index = 0
        self.box = self.candidates[0].box if self.candidates else None
        if p.crop is not None:  # what the accepted crop scores, to compare with the proposals
            self._set_score_job(self.service.score_boxes(p, [tuple(p.crop)], self.settings.model,
                                                         self.settings.device))
        self._propose()
        self._show()
        self._update_actions()
        self.message.emit("Crop: Tab next · drag to adjust · Enter accept · Esc discard · Del clear · ? all keys",
                          "info")

    def _propose(self) -> None:
        assert self.photo is not None
        self.proposal = None
        self._set_loupe_job(self.service.propose([self.photo], self.aspect, self.settings.model,
                                                 self.settings.device, interactive=True))

    # ---- the jobs' handles: the loupe's, its box scores, the batch ----------------------------------
    # Every crop job refreshes the grid with what it stores (_on_stored), even once replaced; the rest of a
    # job's reports matter while it is the one the controller holds, so its slots are dropped when replaced.
    def _watch(self, job: CropJob) -> CropJob:
        job.found.connect(self._on_stored)
        return job

    def _set_loupe_job(self, job: CropJob | None) -> None:
        if self.job is not None:
            self.job.found.disconnect(self._on_found)
            self.job.failed.disconnect(self._on_loupe_failed)
            self.job.finished.disconnect(self._on_loupe_finished)
        self.job = job
        if job is not None:
            self._watch(job)
            job.found.connect(self._on_found)
            job.failed.connect(self._on_loupe_failed)
            job.finished.connect(self._on_loupe_finished)

    def _set_score_job(self, job: CropJob | None) -> None:
        if self.score_job is not None:
            self.score_job.scored.disconnect(self._on_scored)
        self.score_job = job
        if job is not None:
            job.scored.connect(self._on_scored)

    def _set_batch_job(self, job: CropJob | None) -> None:
        if self.batch_job is not None:
            self.batch_job.failed.disconnect(self._on_batch_failed)
            self.batch_job.progress.disconnect(self._on_progress)
            self.batch_job.finished.disconnect(self._on_batch_finished)
        self.batch_job = job
        if job is not None:
            self._watch(job)
            job.failed.connect(self._on_batch_failed)
            job.progress.connect(self._on_progress)
            job.finished.connect(self._on_batch_finished)

    def set_aspect(self, aspect: str) -> None:
        """Another preset: the menu and the combo box follow; an open overlay proposes again for it."""
        if aspect not in RATIOS:
            raise ValueError(f"unknown aspect {aspect!r}")
        self.aspect_box.blockSignals(True)
        self.aspect_box.setCurrentIndex(self.aspect_box.findData(aspect))
        self.aspect_box.blockSignals(False)
        for a in self.aspect_group.actions():
            a.setChecked(a.data() == aspect)
        if aspect == self.aspect:
            return
        self.aspect = self.settings.crop_aspect = aspect
        self.aspect_changed.emit(aspect)
        if self.active and self.photo is not None:
            w, h = self._size()
            if self.box is not None and w:
                self.box = fit_ratio(self.box, aspect_ratio(aspect, w, h), w, h)  # until the proposal comes
            self.candidates, self.index, self.edited = [], 0, False
            self._propose()
            self._show()

    def cycle(self, step: int = +1) -> None:
        """Tab: the next of the accepted crop, the best and the alternatives."""
        if not self.active or not self.candidates:
            return
        self.index = (self.index + step) % len(self.candidates)
        self.box = self.candidates[self.index].box
        self.edited, self.hand_score = False, None
        self._show()

    def accept(self) -> None:
        """Enter: store the box shown as the photo's crop (the original file is never touched)."""
        if not self.active or self.photo is None or self.box is None:
            return
        w, h = self._size()
        box = whole_pixels(self.box, w, h)
        self._keep_score(self.photo, box)
        if not self.write_crops([self.photo], box, "Crop"):
            return
        self.message.emit(f"Crop saved: {box[2] - box[0]} × {box[3] - box[1]}", "info")
        self._close()

    def discard(self) -> None:
        """Esc: the overlay goes; nothing is stored (the search's proposal stays cached for next time)."""
        if not self.active:
            return
        self._close()

    def clear_accepted(self) -> None:
        """Forget the accepted crop of the loupe's photo (elsewhere: of the photos `targets` gives)."""
        if self.active or self.loupe.isVisible() or self.targets is None:
            p = self.photo if self.active else self.loupe.photo
            photos = [] if p is None else [p]
        else:
            photos = self.targets()
        cleared = [p for p in photos if p.crop is not None]
        if cleared and self.write_crops(cleared, None, "Clear crop"):
            n = len(cleared)
            self.message.emit("Crop cleared: the whole photo again" if n == 1 else f"Crops cleared on {n} photos",
                              "info")
        if self.active:
            self._close()

    def _keep_score(self, p: Photo, box) -> None:
        """Store what the accepted box scores (the ✂ pill and "best after crop" show the user's crop, not the
        proposal they passed over); unknown while a box adjusted by hand is still being scored."""
        score = self.hand_score if self.edited else (self.candidates[self.index].score if self.candidates else None)
        whole = self.proposal.whole_score if self.proposal is not None else (p.score or 0.0)
        if score is None:  # scored in the background; stored when the score comes
            box = tuple(map(float, box))
            job = self.service.score_boxes(p, [box], self.settings.model, self.settings.device)
            job.scored.connect(lambda scored: self._on_accepted_scored(p, box, whole, scored))
            return
        self._store_score(p, box, score, whole)

    def _store_score(self, p: Photo, box, score: float, whole: float) -> None:
        try:
            self.catalog.save_crop_proposal(p.id, self.settings.model,
                                            CropProposal(ACCEPTED_CROP, tuple(map(float, box)), score, [], whole))
        except sqlite3.Error:
            pass  # the crop itself is what matters; the next save reports a catalog that cannot be written

    def write_crops(self, photos: list[Photo], box, label: str) -> bool:
        """Store (or, with None, clear) the crop of these photos at once, as one edit Undo takes back (through the
        culling controller, whose `changed` refreshes the views)."""
        assert self.culling is not None, "a crop controller that stores crops is given the culling controller"
        return self.culling.crop(None if box is None else tuple(box), [p.id for p in photos], label)

    def _close(self) -> None:
        if self.job is not None:
            self.job.cancel()
        self._set_loupe_job(None)
        self._set_score_job(None)
        self.active, self.candidates, self.box, self.proposal = False, [], None, None
        self.hand_score = None
        self._score_later.stop()
        self.photo = None
        self.show_photo(self.loupe.photo)
        self._update_actions()

    def show_photo(self, p: Photo | None) -> None:
        """The loupe shows `p` (another photo, or new facts about it): an open overlay on another photo
        closes; otherwise the accepted crop shows as a frame."""
        if self.active:
            if p is not None and self.photo is not None and p.id == self.photo.id:
                self.photo = p
                return
            self._close()
            return
        if p is not None and p.crop is not None and p.width and p.height:
            self.overlay.show_accepted(p.crop, p.width, p.height)
        else:
            self.overlay.clear()

    def _size(self) -> tuple[int, int]:
        p = self.photo
        if p is not None and p.width and p.height:
            return p.width, p.height
        return self._found_size

    def _show(self) -> None:
        w, h = self._size()
        if not w:
            self.overlay.edit(None, 0, 0, None, note=f"Proposing a {self._aspect_words()} crop…")
            return
        note = "" if self.proposal is not None else f"Proposing a {self._aspect_words()} crop…"
        self.overlay.edit(self.box, w, h, aspect_ratio(self.aspect, w, h), self.describe(), note)

    def _aspect_words(self) -> str:
        return {"original": "original-ratio", "free": "free-ratio"}.get(self.aspect, self.aspect)

    def describe(self) -> str:
        """The overlay's label: which candidate of how many, and its score."""
        if self.box is None:
            return ""
        if self.edited:
            score = "scoring…" if self.hand_score is None else f"score {self.hand_score:.3f}"
            return f"adjusted by hand · {score} · Enter to accept"
        if not self.candidates:
            return ""
        c = self.candidates[self.index]
        parts = [f"{self.index + 1}/{len(self.candidates)}"]
        w, h = self._size()
        whole = bool(w) and c.box[0] <= 0.5 and c.box[1] <= 0.5 and c.box[2] >= w - 0.5 and c.box[3] >= h - 0.5
        if c.kind == "best" and whole:
            # the crop search's "keep as is": no crop frames the photo clearly better than the whole frame
            parts.append(f"keep as is {c.score:.3f}: already well framed, no crop frames it clearly better"
                         " · Tab for the crops tried")
            return " · ".join(parts)
        if c.kind == "accepted":
            parts.append("accepted crop" + ("" if c.score is None else f" {c.score:.3f}"))
        else:
            parts.append(f"{'best' if c.kind == 'best' else 'alternative'} {c.score:.3f}")
        if whole:
            parts.append("the whole photo")
        if self.proposal is not None:
            parts.append(f"whole photo {self.proposal.whole_score:.3f}")
            if c.score is not None and self.proposal.whole_score > c.score:
                parts.append("the whole photo scores higher")
        return " · ".join(parts)

    @Slot(object)
    def _box_edited(self, box: Box) -> None:
        if self.active:
            self.box, self.edited, self.hand_score = box, True, None
            self.overlay.label = self.describe()

    @Slot(object)
    def _box_released(self, box: Box) -> None:
        """A box adjusted by hand: the convnet scores it in the background, on the proposals' scale."""
        if self.active and self.photo is not None:
            self.box, self.edited, self.hand_score = box, True, None
            self._set_score_job(self.service.score_boxes(self.photo, [box], self.settings.model,
                                                         self.settings.device))
            self.overlay.label = self.describe()
            self.overlay.update()

    def _on_accepted_scored(self, p: Photo, box: Box, whole: float, scored: BoxScores) -> None:
        self._store_score(p, box, scored.scores[0], whole)
        self.reread([p])

    @Slot(object)
    def _on_scored(self, scored: BoxScores) -> None:
        if not self.active or self.photo is None or scored.photo_id != self.photo.id:
            return
        box, score = scored.boxes[0], scored.scores[0]
        if any(c.kind == "accepted" and c.box == box and c.score is None for c in self.candidates):
            whole = self.proposal.whole_score if self.proposal is not None else (self.photo.score or 0.0)
            self._store_score(self.photo, box, score, whole)  # the accepted crop's score, known at last
        self.candidates = [dataclasses.replace(c, score=score) if c.kind == "accepted" and c.box == box else c
                           for c in self.candidates]
        if self.edited and self.box is not None and tuple(float(v) for v in self.box) == box:
            self.hand_score = score
        self.overlay.label = self.describe()
        self.overlay.update()

    # ---- keys --------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.loupe or event.type() not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        assert isinstance(event, QKeyEvent)
        if event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier):
            return False
        key = Qt.Key(event.key())
        mine = (self.active and (key in EDIT_KEYS or (key in NUDGE and self.box is not None))) or (
            key == Qt.Key.Key_C and not event.modifiers())
        if not mine:
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # a key press for the loupe, not the window's shortcut
            return True
        if key == Qt.Key.Key_C:
            if not self.active:
                self.request_crop()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        elif key == Qt.Key.Key_Escape:
            self.discard()
        elif key == Qt.Key.Key_Tab:
            self.cycle(-1 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else +1)
        elif key == Qt.Key.Key_Backtab:
            self.cycle(-1)
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.clear_accepted()
        elif key in NUDGE:
            self.nudge(*NUDGE[key], fast=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        return True

    def nudge(self, dx: int, dy: int, fast: bool = False) -> None:
        """Move the box a little (an arrow key), within the photo; scored once the keys rest."""
        w, h = self._size()
        if not self.active or self.box is None or not w:
            return
        step = max(1.0, NUDGE_SHARE * min(w, h)) * (10 if fast else 1)
        self.box = clamp_move(self.box, dx * step, dy * step, w, h)
        self.edited, self.hand_score = True, None
        self._show()
        self._score_later.start()

    # ---- background proposals ----------------------------------------------------------------------
    def propose_for(self, photos: list[Photo], what: str = "photos") -> CropJob | None:
        """Propose crops for `photos` (the selection, the folder) in the background, with progress."""
        targets = [p for p in photos if not p.error]
        if not targets:
            self.message.emit("No photos to propose crops for", "info")
            return None
        self._set_batch_job(self.service.propose(targets, self.aspect, self.settings.model, self.settings.device))
        self.status.show()
        self.status.bar.setRange(0, 0)
        self.status.bar.show()
        self.status.cancel.show()
        self.status.text.setText(f"Proposing {self._aspect_words()} crops for {len(targets)} {what}…")
        self.cancel_action.setEnabled(True)
        return self.batch_job

    def cancel_batch(self) -> None:
        if self.batch_job is not None:
            self.batch_job.cancel()

    @Slot(object)
    def _on_stored(self, found: CropFound) -> None:
        if not found.reused:  # a new proposal: its "best after crop" score changed
            self._reread_paths([found.path])

    @Slot(object)
    def _on_found(self, found: CropFound) -> None:
        if self.active and self.photo is not None and found.photo_id == self.photo.id:
            self._found_size = (found.width, found.height)
            self.proposal = found.proposal
            accepted = [c for c in self.candidates if c.kind == "accepted"]
            self.candidates = accepted + candidates_of(found.proposal)
            if not self.edited and not accepted:
                self.index = 0
                self.box = self.candidates[0].box
            elif self.box is None:
                self.box = self.candidates[self.index].box
            self._show()
            self.proposal_shown.emit(found.photo_id)

    @Slot(object)
    def _on_loupe_failed(self, failed: CropFailed) -> None:
        if self.active:
            self.overlay.note = f"Cannot crop: {failed.message}"
            self.overlay.update()
        self._on_batch_failed(failed)

    @Slot(object)
    def _on_batch_failed(self, failed: CropFailed) -> None:
        self.message.emit(f"Cannot propose a crop for {failed.path}: {failed.message}", "warning")

    @Slot(object)
    def _on_progress(self, p) -> None:
        self.status.progress(p.done, p.total, p.rate, p.eta)

    @Slot(object)
    def _on_loupe_finished(self, outcome: CropOutcome) -> None:
        self._set_loupe_job(None)
        if outcome.error:
            self.message.emit(outcome.error, "error")
            if self.active:
                self.overlay.note = "No proposal"
                self.overlay.update()

    @Slot(object)
    def _on_batch_finished(self, outcome: CropOutcome) -> None:
        self._set_batch_job(None)
        self.cancel_action.setEnabled(False)
        if outcome.error:
            self.message.emit(outcome.error, "error")
            self.status.idle("No crops proposed")
        else:
            self.status.idle(self._summary(outcome))
        self.batch_finished.emit(outcome)

    @staticmethod
    def _summary(o: CropOutcome) -> str:
        n = o.proposed + o.reused
        text = f"Crops proposed for {n} photo{'s' if n != 1 else ''}"
        if o.cancelled:
            text = f"Crop proposals cancelled after {n} photo{'s' if n != 1 else ''}"
        if o.proposed:
            text += f" ({o.proposed} searched in {o.elapsed:.1f} s)"
        if o.failed:
            text += f"; {o.failed} could not be read"
        return text

    def reread(self, photos: list[Photo]) -> None:
        self._reread_paths([p.path for p in photos])

    def _reread_paths(self, paths: list[str]) -> None:
        """Tell the window what the catalog now says of these photos (their best crop score, an accepted crop's)."""
        try:
            fresh = self.catalog.photos(self.settings.model, paths=paths)
        except sqlite3.Error:
            return
        if fresh:
            self.photos_changed.emit(fresh)
