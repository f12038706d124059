"""The window's personal-model flow, driven as a user would (offscreen): train from my picks, switch the
active model, watch the grid re-sort by it, review the uncertain photos. Real photos, weights, catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from taste_data import copy_catalog

from selfie_desk.core import paths
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import Catalog

TIMEOUT_MS = 120_000


def labelled_copy(taste_set, unflagged_per_kind: int = 8) -> tuple[Path, dict[str, bool], dict[str, str | None]]:
    """The scored taste folder's catalog under this test's home; B&W picked, colour rejected, a few of each
    left unflagged (for the review)."""
    folder, db, truth = taste_set
    copy_catalog(db, paths.catalog_path())
    decisions: dict[str, str | None] = {}
    left = {True: unflagged_per_kind, False: unflagged_per_kind}
    with Catalog(paths.catalog_path()) as catalog:
        for p in catalog.photos("default", folder=str(folder)):
            bw = truth[Path(p.path).name]
            if left[bw]:
                left[bw] -= 1
                decisions[p.path] = None
                continue
            decisions[p.path] = "keep" if bw else "reject"
            CullingSession(catalog).adopt([(p.id, "decision", decisions[p.path])])
    return folder, truth, decisions


def test_train_from_my_picks_switch_model_and_review(qtbot, make_window, taste_set):
    folder, truth, decisions = labelled_copy(taste_set)
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=TIMEOUT_MS):
        window.open_folder(folder)
    assert window.settings.model == "default"
    panel = window.personal.panel
    assert [panel.combo.itemText(i) for i in range(panel.combo.count())] == ["default"]

    # Train from my picks: the name dialog, then training in the background
    dialog = window.personal.ask_and_train()
    assert dialog.isVisible() and dialog.textValue() == "my-taste-1"
    dialog.setTextValue("bw")
    with qtbot.waitSignal(window.personal.training_finished, timeout=TIMEOUT_MS) as blocker:
        dialog.accept()
        assert panel.progress.isVisible() and not panel.train_button.isEnabled()
    outcome = blocker.args[0]
    assert outcome.error is None and not outcome.cancelled, outcome
    agreement = outcome.card["heldout_agreement"]
    assert agreement["accuracy"] >= 0.85 and agreement["auc"] >= agreement["default_auc"] + 0.2
    assert "held-out photos" in window.messages.text() and "default model" in window.messages.text()
    assert not panel.progress.isVisible() and panel.train_button.isEnabled()
    assert [panel.combo.itemText(i) for i in range(panel.combo.count())] == ["default", "bw"]
    assert window.settings.model == "default"  # training alone changes nothing on screen

    # Switch the active model: the grid takes its scores (from the stored embeddings) and re-sorts.
    # (Training scored the catalog already; forget those scores so the switch has to make them.)
    window.catalog.forget_model("bw")
    default_scores = {p.path: p.score for p in window.model.all_photos()}
    with qtbot.waitSignal(window.scan_finished, timeout=TIMEOUT_MS) as blocker:
        panel.combo.activated.emit(panel.combo.findData("bw"))
    summary = blocker.args[0].summary
    assert blocker.args[0].error is None and summary.scored == len(truth) and summary.elapsed < 5
    assert window.settings.model == "bw" and Settings.load().model == "bw"  # persisted
    with Catalog(paths.catalog_path()) as catalog:
        stored = {p.path: p.score for p in catalog.photos("bw", folder=str(folder))}
    shown = window.model.photos()
    assert {p.path: p.score for p in shown} == stored and all(s is not None for s in stored.values())
    assert {p.path: p.score for p in shown} != default_scores
    scores = [p.score for p in shown]
    assert scores == sorted(scores, reverse=True)
    top = [truth[Path(p.path).name] for p in shown[: len(shown) // 2]]
    assert np.mean(top) >= 0.9  # black and white first: the user's taste
    assert panel.combo.currentText() == "bw" and "held-out" in panel.card.text()

    # Review uncertain: unflagged photos, nearest the boundary first
    window.review_uncertain()
    rows = window.model.photos()
    assert len(rows) == 16 and all(p.decision is None for p in rows)
    distance = [abs(p.score - 0.5) for p in rows]
    assert distance == sorted(distance)
    assert window.grid.currentIndex().row() == 0

    # Never destructive: every decision is what the user made
    with Catalog(paths.catalog_path()) as catalog:
        assert {p.path: p.decision for p in catalog.photos("bw", folder=str(folder))} == decisions


def test_training_can_be_cancelled_and_a_deleted_model_falls_back(qtbot, make_window, taste_set):
    labelled_copy(taste_set)
    (paths.user_models_dir()).mkdir(parents=True, exist_ok=True)
    window = make_window(settings=Settings(model="gone"))
    assert window.settings.model == "default" and "gone" in window.messages.text()
    personal = window.personal
    with qtbot.waitSignal(personal.training_finished, timeout=TIMEOUT_MS) as blocker:
        personal.train("quick")
        personal.service.cancel()  # before the thread starts its first epoch
    assert blocker.args[0].cancelled
    assert not (paths.user_models_dir() / "quick.pt").exists()
    assert personal.train("default") is None and "Cannot train" in window.messages.text()
