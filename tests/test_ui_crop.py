"""Cropping in the window, driven as a user would: C in the loupe proposes a crop, Tab cycles the alternatives,
the aspect menu re-proposes, handles adjust the box, Enter stores it, Esc does not; proposals for a whole
folder run in the background with progress and can be cancelled; the grid sorts by "best after crop".
Real photos, real weights, a real catalog, offscreen."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import photo_folder
from PySide6.QtCore import QElapsedTimer, QPoint, QSize, Qt, QTimer

from selfie_desk.core import paths
from selfie_desk.core.crop import geometry as crop_geometry
from selfie_desk.core.culling.ranking import crop_rank_score
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats.indexing import canonical
from selfie_desk.core.settings import CROP_RATIOS, Settings
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.ui import crop_box

SCAN_TIMEOUT_MS = 90_000
CROP_TIMEOUT_MS = 60_000


def open_and_wait(qtbot, window, folder: Path):
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as blocker:
        assert window.open_folder(folder)
    return blocker.args[0]


def saved(folder: Path) -> dict:
    """What the catalog holds, through a connection of its own (as after a restart)."""
    with Catalog(paths.catalog_path()) as catalog:
        return {Path(p.path).name: p for p in catalog.photos("default", folder=str(canonical(folder)))}


def open_loupe_on(qtbot, window, name: str):
    window.set_sort("name")
    row = next(i for i, p in enumerate(window.model.photos()) if p.path.endswith(name))
    window.selection.select_row(row)
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    assert window.mode == "loupe" and window.loupe.photo.path.endswith(name)
    qtbot.waitUntil(lambda: window.loupe.canvas.image is not None, timeout=20_000)


def press_c(qtbot, window):
    with qtbot.waitSignal(window.crop.proposal_shown, timeout=CROP_TIMEOUT_MS):
        qtbot.keyClick(window.loupe, Qt.Key.Key_C)


def ratio_of(box) -> float:
    return (box[2] - box[0]) / (box[3] - box[1])


def inside(box, w, h) -> bool:
    x0, y0, x1, y1 = box
    return 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


def screen_point(overlay, x: float, y: float) -> QPoint:
    r = overlay.to_screen((x, y, x, y))
    return QPoint(round(r.left()), round(r.top()))


# ---- the geometry of a box edited by hand (no window) --------------------------------------------------


def test_presets_are_the_crop_searchs():
    assert CROP_RATIOS is crop_geometry.RATIOS  # one list: the settings, the window and the CLI use it
    for aspect in crop_geometry.RATIOS:
        fixed = crop_geometry.parse_aspect(aspect)
        if fixed is not None:
            assert crop_geometry.aspect_ratio(aspect, 640, 480) == pytest.approx(fixed)
    assert crop_geometry.aspect_ratio("original", 640, 480) == pytest.approx(4 / 3)
    assert crop_geometry.aspect_ratio("free", 640, 480) is None
    with pytest.raises(ValueError):
        crop_geometry.aspect_ratio("5:4", 640, 480)


@pytest.mark.parametrize("ratio", [None, 1.0, 4 / 5, 16 / 9])
@pytest.mark.parametrize("handle", sorted(crop_box.HANDLES))
def test_handles_keep_the_box_in_the_photo_and_its_ratio(handle, ratio):
    w, h = 1200, 800
    start = crop_box.fit_ratio((300, 200, 900, 600), ratio, w, h)
    for x, y in [(-500, -500), (2000, 2000), (600, 400), (100, 700), (1100, 50), (start[0] + 1, start[1] + 1)]:
        box = crop_box.drag_handle(start, handle, x, y, w, h, ratio)
        assert inside(box, w + 1e-6, h + 1e-6), (handle, x, y, box)
        assert box[2] - box[0] >= crop_box.MIN_EDGE - 1e-6 and box[3] - box[1] >= crop_box.MIN_EDGE - 1e-6
        if ratio is not None:
            assert ratio_of(box) == pytest.approx(ratio, rel=1e-6)
    # the opposite corner stays put
    box = crop_box.drag_handle(start, "br", start[2] - 50, start[3] - 50, w, h, ratio)
    if handle == "br":
        assert box[:2] == pytest.approx(start[:2])


def test_moving_stops_at_the_edges():
    assert crop_box.clamp_move((100, 100, 300, 200), -500, 50, 640, 480) == (0, 150, 200, 250)
    assert crop_box.clamp_move((100, 100, 300, 200), 1000, 1000, 640, 480) == (440, 380, 640, 480)


# ---- the loupe's crop mode -----------------------------------------------------------------------------


def test_propose_cycle_switch_aspect_adjust_and_accept(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    open_loupe_on(qtbot, window, "china.jpg")
    crop, overlay = window.crop, window.crop.overlay
    p = window.loupe.photo
    w, h = p.width, p.height

    press_c(qtbot, window)  # C: the proposal as an overlay, the outside darkened
    assert window.mode == "loupe" and crop.active and overlay.isVisible() and overlay.editing
    assert inside(crop.box, w, h)
    assert ratio_of(crop.box) == pytest.approx(w / h, rel=0.02)  # default: the photo's own ratio
    assert len(crop.candidates) >= 2
    if crop.proposal.crop == (0, 0, w, h):  # no crop scores clearly higher than the photo: "keep as is"
        assert crop.describe().startswith(f"1/{len(crop.candidates)} · keep as is ")
    else:
        assert crop.describe().startswith(f"1/{len(crop.candidates)} · best ")
    first = crop.box
    shot = window.loupe.canvas.grab().toImage()
    corner = overlay.to_screen(first)
    outside = overlay.photo_rect().topLeft().toPoint() + QPoint(3, 3)
    if corner.left() > outside.x() + 3 or corner.top() > outside.y() + 3:  # the darkened part is darker
        assert shot.pixelColor(outside).lightness() < 140

    qtbot.keyClick(window.loupe, Qt.Key.Key_Tab)  # Tab: the next alternative, a different box
    assert crop.box != first and crop.describe().startswith(f"2/{len(crop.candidates)} · alternative ")
    assert inside(crop.box, w, h) and window.mode == "loupe"
    qtbot.keyClick(window.loupe, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert crop.box == first

    # another preset from the toolbar's combo box: proposed again, in that ratio
    with qtbot.waitSignal(crop.proposal_shown, timeout=CROP_TIMEOUT_MS):
        crop.aspect_box.setCurrentIndex(crop.aspect_box.findData("4:5"))
    assert crop.aspect == "4:5" and overlay.ratio == pytest.approx(0.8)
    assert Settings.load().crop_aspect == "4:5"  # remembered for next time
    assert ratio_of(crop.box) == pytest.approx(0.8, rel=0.03) and inside(crop.box, w, h)
    assert [a.data() for a in crop.aspect_group.actions() if a.isChecked()] == ["4:5"]

    # dragging the bottom-right handle toward the middle: a smaller box, same ratio, same top-left
    before = crop.box
    br = overlay.handle_points()["br"].toPoint()
    qtbot.mousePress(overlay, Qt.MouseButton.LeftButton, pos=br)
    qtbot.mouseMove(overlay, br - QPoint(40, 10))
    qtbot.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=br - QPoint(40, 10))
    after = crop.box
    assert after != before and after[2] < before[2] and after[:2] == pytest.approx(before[:2])
    assert ratio_of(after) == pytest.approx(0.8, rel=1e-6) and inside(after, w, h)
    assert crop.edited and "by hand" in overlay.label
    # the box drawn by hand is scored in the background, on the proposals' scale
    qtbot.waitUntil(lambda: crop.hand_score is not None, timeout=CROP_TIMEOUT_MS)
    assert 0.0 <= crop.hand_score <= 1.0 and f"score {crop.hand_score:.3f}" in overlay.label
    # dragging inside moves it, within the photo
    centre = overlay.to_screen(after).center().toPoint()
    qtbot.mousePress(overlay, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(overlay, centre + QPoint(5000, 0))
    qtbot.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=centre + QPoint(5000, 0))
    moved = crop.box
    assert moved[2] == pytest.approx(w) and moved[3] - moved[1] == pytest.approx(after[3] - after[1])

    qtbot.keyClick(window.loupe, Qt.Key.Key_Return)  # Enter: stored at once, the loupe stays
    expected = crop_geometry.whole_pixels(moved, w, h)
    assert window.mode == "loupe" and not crop.active
    assert saved(demo_folder)["china.jpg"].crop == pytest.approx(expected)
    assert window.model.get(p.id).crop == pytest.approx(expected)
    assert overlay.isVisible() and not overlay.editing  # the accepted crop shows as a frame
    assert "cropped to" in window.loupe.pane.caption.text()
    assert "Cropped to" in window.side.details.text()
    qtbot.waitUntil(lambda: window.model.get(p.id).crop_score is not None, timeout=CROP_TIMEOUT_MS)
    assert "Accepted crop" in window.side.details.text() and "Best proposed crop" not in window.side.details.text()

    # reopening shows the accepted crop first; Delete clears it
    press_c(qtbot, window)
    assert crop.box == pytest.approx(expected) and "accepted crop" in crop.describe()
    qtbot.waitUntil(lambda: crop.candidates[0].score is not None, timeout=CROP_TIMEOUT_MS)  # scored too
    assert f"accepted crop {crop.candidates[0].score:.3f}" in crop.describe()
    qtbot.keyClick(window.loupe, Qt.Key.Key_Delete)
    assert saved(demo_folder)["china.jpg"].crop is None and not crop.active and not overlay.isVisible()


def test_a_well_framed_photo_is_proposed_as_is_and_the_window_says_so(qtbot, make_window, demo_folder):
    """The astronaut (a portrait framed as shot) in its own ratio: no crop frames it clearly better, so the
    proposal is the whole photo and the overlay says why; Tab still shows the crops that were tried."""
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    open_loupe_on(qtbot, window, "astronaut.png")
    crop = window.crop
    assert crop.aspect == "original"
    press_c(qtbot, window)
    p = window.loupe.photo
    assert crop.proposal.crop == (0, 0, p.width, p.height) and crop.box == (0, 0, p.width, p.height)
    assert crop.proposal.score == pytest.approx(crop.proposal.whole_score)
    label = crop.describe()
    assert label.startswith(f"1/{len(crop.candidates)} · keep as is ") and "already well framed" in label
    assert crop.overlay.label == label
    assert len(crop.candidates) >= 2
    qtbot.keyClick(window.loupe, Qt.Key.Key_Tab)
    assert crop.box != (0, 0, p.width, p.height) and "alternative" in crop.describe()
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)


def test_escape_discards_and_stores_nothing(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    open_loupe_on(qtbot, window, "astronaut.png")
    press_c(qtbot, window)
    proposed = window.crop.box
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)  # the overlay goes, the loupe stays
    assert window.mode == "loupe" and not window.crop.active and not window.crop.overlay.isVisible()
    got = saved(demo_folder)["astronaut.png"]
    assert got.crop is None
    assert got.best_crop_score is not None  # the proposal itself is kept, for next time
    # the next C reuses the stored proposal: the same box at once
    press_c(qtbot, window)
    assert window.crop.box == proposed
    # the arrows nudge the box (and do not step to another photo, losing the edit), within the photo
    p = window.loupe.photo
    qtbot.keyClick(window.loupe, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.loupe, Qt.Key.Key_Down)
    step = 0.01 * min(p.width, p.height)
    assert window.crop.box[0] == pytest.approx(max(0.0, proposed[0] - 10 * step))
    assert window.crop.box[1] == pytest.approx(min(p.height - (proposed[3] - proposed[1]), proposed[1] + step))
    assert window.crop.edited and window.loupe.photo.id == p.id
    qtbot.waitUntil(lambda: window.crop.hand_score is not None, timeout=CROP_TIMEOUT_MS)  # scored once at rest
    window.step_loupe(+1)  # another photo: the overlay closes, nothing stored
    assert not window.crop.active and not window.loupe.photo.path.endswith("astronaut.png")
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)
    assert window.mode == "grid"
    assert all(p.crop is None for p in saved(demo_folder).values())


def test_the_toolbar_button_crops_from_the_grid(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    window.selection.select_row(2)
    chosen = window.model.photo(2)
    qtbot.keyClick(window.grid, Qt.Key.Key_C)  # in the grid, C still compares (one photo: a hint)
    assert window.mode == "grid" and not window.crop.active
    with qtbot.waitSignal(window.crop.proposal_shown, timeout=CROP_TIMEOUT_MS):
        qtbot.mouseClick(window.crop.crop_button, Qt.MouseButton.LeftButton)
    assert window.mode == "loupe" and window.loupe.photo.id == chosen.id and window.crop.active
    assert window.crop.accept_action.isEnabled()
    window.crop.accept_action.trigger()  # Crop > Accept Crop, as Enter
    assert saved(demo_folder)[Path(chosen.path).name].crop is not None
    window.loupe.setFocus()
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)  # the overlay is closed: Esc goes back to the grid
    assert window.mode == "grid"
    # in the grid, Crop > Clear Accepted Crop clears the selection's crops
    window.crop.clear_action.trigger()
    assert saved(demo_folder)[Path(chosen.path).name].crop is None
    assert window.model.get(chosen.id).crop is None


def test_accepted_crops_show_on_thumbnails(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    p = next(p for p in window.model.photos() if p.path.endswith("coffee.png"))
    box = (p.width // 4, p.height // 4, p.width * 3 // 4, p.height * 3 // 4)
    CullingSession(window.catalog).adopt([(p.id, "crop", box)])
    window.crop.photos_changed.emit(window.catalog.photos("default", paths=[p.path]))
    cropped = window.model.get(p.id)
    assert cropped.crop == box
    qtbot.waitUntil(lambda: window.thumbs.get(cropped) is not None, timeout=20_000)
    thumb = window.thumbs.get(cropped)
    delegate, size = window.grid.delegate, QSize(240, 270)
    palette = window.grid.palette()
    plain = delegate._render(dataclasses.replace(cropped, crop=None), thumb, False, False, size, 1.0, palette)
    marked = delegate._render(cropped, thumb, False, False, size, 1.0, palette).toImage()
    plain = plain.toImage()
    edge = window.thumbs.edge
    # a point in the thumbnail outside the crop is dimmed, one well inside is untouched
    fitted = thumb.size().scaled(QSize(edge, edge), Qt.AspectRatioMode.KeepAspectRatio)
    left = 2 + 6 - 2 + (edge - fitted.width()) // 2
    top = 2 + 6 - 2 + (edge - fitted.height()) // 2
    band = [QPoint(x, top + 3) for x in range(left + 2, left + fitted.width() - 2, 3)]  # above the crop
    middle = [QPoint(x, top + fitted.height() // 2) for x in range(left + fitted.width() // 3,
                                                                    left + fitted.width() * 2 // 3, 3)]

    def light(image, points) -> int:
        return sum(image.pixelColor(pt).lightness() for pt in points)

    assert light(marked, band) < 0.6 * light(plain, band)
    assert light(marked, middle) == light(plain, middle)


def test_propose_for_the_folder_then_sort_by_best_after_crop(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    with qtbot.waitSignal(window.crop.batch_finished, timeout=CROP_TIMEOUT_MS * 2) as finished:
        window.crop.folder_action.trigger()  # Crop > Propose Crops for Whole Folder
        assert window.crop_status.cancel.isVisible()
    outcome = finished.args[0]
    assert outcome.proposed == 7 and outcome.failed == 0 and not outcome.cancelled
    assert "Crops proposed for 7 photos" in window.crop_status.text.text()
    assert window.crop_status.bar.isHidden() and window.crop_status.cancel.isHidden()
    stored = saved(demo_folder)
    assert all(p.best_crop_score is not None for p in stored.values())

    window.set_sort("crop")  # the new sort option, next to score, date and name
    assert window.filters.sort_box.currentData() == "crop" and window.settings.sort == "crop"
    keys = [crop_rank_score(p) for p in window.model.photos()]
    assert keys == sorted(keys, reverse=True) and None not in keys
    assert {Path(p.path).name: p.best_crop_score for p in window.model.photos()} == pytest.approx(
        {n: p.best_crop_score for n, p in stored.items()})

    # again, for the selection: the stored proposals are reused, nothing is searched
    window.selection.select_row(0)
    with qtbot.waitSignal(window.crop.batch_finished, timeout=CROP_TIMEOUT_MS) as finished:
        window.crop.selection_action.trigger()
    assert finished.args[0].reused == 1 and finished.args[0].proposed == 0

    # a proposal made by an older version of the search is made again, and replaced
    from selfie_desk.core.crop.geometry import SEARCH_VERSION

    first = window.selected_photos()[0]
    with sqlite3.connect(paths.catalog_path()) as db:
        db.execute("UPDATE crop_proposals SET search = 'older' WHERE photo_id = ?", (first.id,))
    with qtbot.waitSignal(window.crop.batch_finished, timeout=CROP_TIMEOUT_MS) as finished:
        window.crop.selection_action.trigger()
    assert finished.args[0].reused == 0 and finished.args[0].proposed == 1
    with Catalog(paths.catalog_path()) as catalog:
        assert catalog.crop_proposal(first.id, "default", "original").search == SEARCH_VERSION


def test_sort_by_best_after_crop_falls_back_to_the_score(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    window.set_sort("score")
    by_score = [p.id for p in window.model.photos()]
    window.set_sort("crop")  # no proposals yet: the score's order
    assert [p.id for p in window.model.photos()] == by_score
    worst = window.model.photos()[-1]
    window.model.update(worst.id, best_crop_score=1.0)  # a keeper once cropped goes first
    window.model.refresh()
    assert window.model.photos()[0].id == worst.id


def test_folder_proposals_can_be_cancelled_and_the_loupe_goes_first(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "many", 12, size=(640, 480))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    window.show_loupe()
    with qtbot.waitSignal(window.crop.batch_finished, timeout=CROP_TIMEOUT_MS * 2) as finished:
        window.propose_crops(folder=True)
        qtbot.waitUntil(lambda: window.crop_status.bar.maximum() == 12 and window.crop_status.bar.value() >= 1,
                        timeout=CROP_TIMEOUT_MS)
        assert "Proposing crops" in window.crop_status.text.text()
        # the loupe's photo does not wait for the folder
        press_c(qtbot, window)
        assert window.crop.active and window.cropping.batch_running()
        qtbot.mouseClick(window.crop_status.cancel, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.cancelled and outcome.error is None
    stored = [p for p in saved(folder).values() if p.best_crop_score is not None]
    assert 1 <= outcome.proposed < 12
    assert len(stored) in (outcome.proposed, outcome.proposed + 1)  # + the loupe's photo, if not in the batch yet
    assert "cancelled" in window.crop_status.text.text()


def test_the_loupe_crops_while_the_folder_is_still_scoring(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "big", 120)
    window = make_window(batch_size=4)
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        window.open_folder(folder)
        qtbot.waitUntil(lambda: window.scan_status.bar.value() >= 4, timeout=SCAN_TIMEOUT_MS)
        window.show_loupe()
        press_c(qtbot, window)  # answered by the crop thread, not queued behind the scan
        assert window.scoring.busy and window.crop.active and window.crop.box is not None
        window.cancel_scan()
    assert finished.args[0].cancelled


def test_quit_while_proposing_stops_quickly(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "many", 12, size=(640, 480))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    window.propose_crops(folder=True)
    qtbot.waitUntil(lambda: window.crop_status.bar.value() >= 1, timeout=CROP_TIMEOUT_MS)
    thread = window.cropping._thread
    start = time.monotonic()
    window.quit_action.trigger()
    assert time.monotonic() - start < 5.0
    assert not thread.isRunning()


def test_ui_thread_is_never_blocked_while_crops_are_proposed(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    clock, gaps = QElapsedTimer(), []
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: gaps.append(clock.restart()))
    with qtbot.waitSignal(window.crop.batch_finished, timeout=CROP_TIMEOUT_MS * 2) as finished:
        window.propose_crops(folder=True)
        clock.start()
        ticker.start()
    ticker.stop()
    assert finished.args[0].proposed == 7
    assert len(gaps) > 20
    assert max(gaps) < 100, f"the UI thread was blocked for {max(gaps)} ms (longest gaps: {sorted(gaps)[-5:]})"


# ---- the crop worker on its own ------------------------------------------------------------------------


def test_crop_service_stores_reuses_and_reports_unreadable_files(qtbot, scorer, tmp_path):
    from conftest import DEMO

    from selfie_desk.workers.cropping import CropService, CropTarget

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = str(DEMO / "astronaut.png")
    catalog = Catalog(paths.catalog_path())
    good_id = catalog.add_file(good, 1, 1, "a")
    broken_id = catalog.add_file(str(broken), 1, 1, "b")
    service = CropService(catalog.path, lambda model, device: scorer)
    found, failed = [], []
    try:
        with qtbot.waitSignal(service.finished, timeout=CROP_TIMEOUT_MS) as finished:
            job = service.propose([CropTarget(broken_id, str(broken)), CropTarget(good_id, good)], "1:1",
                                  "default", "cpu")
            job.found.connect(found.append)  # the job's own reports: connected before they can arrive
            job.failed.connect(failed.append)
        assert finished.args[0] is job and job.outcome is finished.args[1]
        outcome = finished.args[1]
        assert (outcome.proposed, outcome.failed, outcome.reused, outcome.cancelled) == (1, 1, 0, False)
        assert [f.photo_id for f in failed] == [broken_id] and "Traceback" not in failed[0].message
        assert [f.photo_id for f in found] == [good_id] and not found[0].reused
        stored = catalog.crop_proposal(good_id, "default", "1:1")
        assert stored is not None and stored.crop == found[0].proposal.crop
        x0, y0, x1, y1 = stored.crop
        assert (x1 - x0) / (y1 - y0) == pytest.approx(1.0, rel=0.02)

        # asked again (the photo's size now known): the stored proposal, without a search
        with qtbot.waitSignal(service.finished, timeout=CROP_TIMEOUT_MS) as finished:
            again = service.propose([CropTarget(good_id, good, found[0].width, found[0].height)], "1:1", "default",
                                    "cpu")
            again.found.connect(found.append)
        assert finished.args[1].reused == 1 and finished.args[1].proposed == 0 and found[-1].reused
        assert found[-1].proposal.crop == stored.crop
    finally:
        assert service.stop(10)
        catalog.close()
