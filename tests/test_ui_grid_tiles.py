"""The grid's tiles (issue 16, items 4 and 5): fields never drawn over each other at any size, the accepted
crop's score where the ✂ pill and "best after crop" used the proposal, a size slider, + / − and Ctrl+wheel,
file names on request, and no empty column at the right."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import photo_folder
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QWheelEvent
from PySide6.QtWidgets import QApplication

from selfie_desk.core.culling.ranking import sort_key
from selfie_desk.core.settings import THUMBNAIL_SIZES, Settings
from selfie_desk.core.storage.catalog import FaceBox, Photo
from selfie_desk.ui.grid import PAD, crop_pill_text, layout_strip

SCAN_TIMEOUT_MS = 90_000
BUSY = Photo(id=1, path="/s/IMG_0001.jpg", width=4000, height=3000, captured_at=None, error=None, score=0.86,
             decision="keep", rating=5, crop=None, faces=[FaceBox((0, 0, 9, 9), 0.9)] * 3, best_crop_score=0.91)


def strip_at(edge: int, p: Photo):
    from PySide6.QtCore import QRectF

    base = QFont(QApplication.font())
    bold, stars = QFont(base), QFont(base)
    bold.setBold(True)
    stars.setPointSizeF(base.pointSizeF() * 1.3)
    width = edge - 4  # as the delegate lays out a cell: the thumbnail's edge, less the cell's margins
    strip = QRectF(PAD, 0, width, 20)
    return strip, layout_strip(p, strip, QFontMetricsF(base), QFontMetricsF(bold), QFontMetricsF(stars))


@pytest.mark.parametrize("edge", range(THUMBNAIL_SIZES[0], THUMBNAIL_SIZES[1] + 1, 20))
@pytest.mark.parametrize("variant", ["rated", "faces", "accepted", "unscored"])
def test_the_strip_fields_never_overlap_at_any_size(qapp, edge, variant):
    p = {"rated": BUSY,
         "faces": dataclasses.replace(BUSY, rating=0),
         "accepted": dataclasses.replace(BUSY, rating=3, crop=(0, 0, 10, 10), crop_score=0.42),
         "unscored": dataclasses.replace(BUSY, score=None, best_crop_score=0.3)}[variant]
    strip, items = strip_at(edge, p)
    for i, a in enumerate(items):
        assert strip.left() - 0.01 <= a.rect.left() and a.rect.right() <= strip.right() + 0.01, (a, strip)
        for b in items[i + 1:]:
            assert not a.rect.intersects(b.rect), (edge, a, b)
    kinds = [i.kind for i in items]
    assert kinds[0] in ("score", "status")  # the score always shows
    if p.rating:
        assert "stars" in kinds  # whole or abbreviated ("5★"), never dropped
    if edge >= 200:
        assert len(items) >= 3  # room for everything that matters


def test_at_the_largest_size_everything_shows_whole_and_at_the_smallest_stars_abbreviate(qapp):
    _, items = strip_at(THUMBNAIL_SIZES[1], BUSY)
    assert {i.kind: i.text for i in items} == {"score": "0.86", "stars": "★★★★★", "crop": "✂0.91"}
    _, small = strip_at(THUMBNAIL_SIZES[0], BUSY)
    texts = {i.kind: i.text for i in small}
    assert texts["score"] == "0.86" and texts["stars"] in ("★★★★★", "5★")


def test_the_crop_pill_shows_the_accepted_crop_and_never_repeats_the_score():
    assert crop_pill_text(dataclasses.replace(BUSY, best_crop_score=0.86)) is None  # "0.86 ✂0.86" said nothing
    assert crop_pill_text(dataclasses.replace(BUSY, crop=(0, 0, 9, 9), crop_score=0.7)) == "✂0.70"
    assert crop_pill_text(dataclasses.replace(BUSY, crop=(0, 0, 9, 9), crop_score=None)) == "✂"
    assert crop_pill_text(BUSY) == "✂0.91"


def test_best_after_crop_sorts_by_the_accepted_crop_not_the_proposal_passed_over():
    cropped = dataclasses.replace(BUSY, id=1, path="/a", score=0.5, crop=(0, 0, 9, 9), crop_score=0.6,
                                  best_crop_score=0.99)
    other = dataclasses.replace(BUSY, id=2, path="/b", score=0.8, best_crop_score=None)
    proposed = dataclasses.replace(BUSY, id=3, path="/c", score=0.4, best_crop_score=0.7)
    assert [p.id for p in sorted([cropped, other, proposed], key=sort_key("crop"))] == [2, 3, 1]


def wheel(widget, delta: int, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    event = QWheelEvent(QPointF(20, 20), QPointF(widget.mapToGlobal(QPoint(20, 20))), QPoint(0, 0),
                        QPoint(0, delta), Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_size_from_the_slider_keys_and_ctrl_wheel_and_names_on_request(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "shoot", 12)
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        window.open_folder(folder)
    window.grid.setFocus()
    start = window.thumbs.edge
    assert window.size_slider.value() == start == 200
    qtbot.keyClick(window.grid, Qt.Key.Key_Plus)
    assert window.thumbs.edge == start + 20 and window.size_slider.value() == start + 20
    qtbot.keyClick(window.grid, Qt.Key.Key_Minus)
    qtbot.keyClick(window.grid, Qt.Key.Key_Minus)
    assert window.thumbs.edge == start - 20
    wheel(window.grid.viewport(), -120)
    assert window.thumbs.edge == start - 40
    wheel(window.grid.viewport(), 120)
    assert window.thumbs.edge == start - 20
    window.size_slider.setValue(THUMBNAIL_SIZES[0])
    assert window.thumbs.edge == THUMBNAIL_SIZES[0] and Settings.load().thumbnail_size == THUMBNAIL_SIZES[0]
    for _ in range(3):
        qtbot.keyClick(window.grid, Qt.Key.Key_Minus)
    assert window.thumbs.edge == THUMBNAIL_SIZES[0]  # never below the smallest

    # the cells share the width out: no column's worth of empty space at the right, at any size or width
    for width, edge in ((1280, 120), (1280, 200), (1440, 200), (1100, 320)):
        window.resize(width, 800)
        window.set_thumbnail_size(edge)
        qtbot.wait(30)
        grid = window.grid
        first_row = [grid.visualRect(window.model.index(r)) for r in range(window.model.rowCount())]
        first_row = [r for r in first_row if r.top() == first_row[0].top()]
        assert len(first_row) < window.model.rowCount()  # 12 photos: more than one row at these sizes
        empty = grid.viewport().width() - first_row[-1].right()
        assert empty < grid.delegate.sizeHint(None, None).width() * 0.6, (width, edge, empty)

    height = window.grid.delegate.sizeHint(None, None).height()
    window.names_action.trigger()
    assert window.grid.delegate.show_names and window.grid.delegate.sizeHint(None, None).height() > height
    assert Settings.load().show_names
