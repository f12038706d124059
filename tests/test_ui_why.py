"""Why a photo scores as it does, in the window: the side panel's aspects and reasons, the grid's "Why"
filter, and H in the loupe (what the convnet looked at, computed off the UI thread). Real photos, real
weights, a real catalog, offscreen."""

from __future__ import annotations

import shutil

import numpy as np
from conftest import DEMO
from PIL import Image, ImageFilter
from PySide6.QtCore import Qt
from test_ui_crop import open_and_wait, open_loupe_on

from selfie_desk.core.measures import reasons


def test_side_panel_reasons_filter_and_the_heat_map(qtbot, make_window, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    shutil.copy(DEMO / "astronaut.png", folder / "astronaut.png")
    Image.open(DEMO / "astronaut.png").convert("RGB").filter(ImageFilter.GaussianBlur(10)).save(folder / "soft.png")
    window = make_window()
    open_and_wait(qtbot, window, folder)
    by_name = {p.path.rsplit("/", 1)[-1]: p for p in window.model.photos()}
    soft, sharp = by_name["soft.png"], by_name["astronaut.png"]
    assert soft.aspects["sharpness"] < sharp.aspects["sharpness"]
    assert any(reasons.family_of(r) == "soft focus" for r in soft.reasons), soft.reasons
    assert soft.score < sharp.score

    # the grid's Why filter: only the soft photo gives "soft focus"
    bar = window.filters
    bar.reason_box.setCurrentIndex(bar.reason_box.findData("soft focus"))
    assert [p.path.rsplit("/", 1)[-1] for p in window.model.photos()] == ["soft.png"]
    bar.reason_box.setCurrentIndex(0)
    assert len(window.model.photos()) == 2

    # the side panel says what the score is made of
    open_loupe_on(qtbot, window, "soft.png")
    window.side.set_photo(soft, 2, 2)
    text = window.side.details.text()
    assert "Sharpness" in text and "Why: " in text and "soft focus" in text

    # H: the heat map arrives from the crop thread and follows the loupe; H again hides it
    qtbot.keyClick(window.loupe, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: window.loupe.canvas.attention is not None, timeout=60_000)
    cells = window.loupe.canvas.attention
    assert cells.shape == (14, 14) and np.abs(cells).max() == 1.0
    window.loupe.canvas.grab()  # paints with the overlay without error
    qtbot.keyClick(window.loupe, Qt.Key.Key_H)
    assert window.loupe.canvas.attention is None
