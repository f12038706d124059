"""The window's main flows, driven as a user would: open a folder, watch it score, sort, filter, cull with
the keyboard, cancel, quit. Real photos, real weights, a real catalog, offscreen."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest
from conftest import photo, photo_folder, save_jpeg
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from selfie_desk.core import paths
from selfie_desk.core.culling.view import PhotoFilter
from selfie_desk.core.formats.indexing import canonical
from selfie_desk.core.storage.catalog import Catalog

SCAN_TIMEOUT_MS = 90_000


def names(window) -> list[str]:
    return [Path(p.path).name for p in window.model.photos()]


def catalog_view(folder: Path) -> dict:
    """What the catalog holds, read through a connection of its own (as another process would)."""
    with Catalog(paths.catalog_path()) as catalog:
        return {Path(p.path).name: p for p in catalog.photos("default", folder=str(canonical(folder)))}


def open_and_wait(qtbot, window, folder: Path):
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as blocker:
        assert window.open_folder(folder)
    return blocker.args[0]


def test_open_folder_scores_in_background_best_first(qtbot, make_window, demo_folder):
    window = make_window()
    outcome = open_and_wait(qtbot, window, demo_folder)
    assert outcome.error is None and not outcome.cancelled and outcome.summary.scored == 7
    photos = window.model.photos()
    assert len(photos) == 7 and all(p.score is not None for p in photos)
    scores = [p.score for p in photos]
    assert scores == sorted(scores, reverse=True)  # sorted by score, best first, by default
    assert window.grid.currentIndex().row() == 0  # the first (best) photo is selected
    assert [p.id for p in window.selected_photos()] == [photos[0].id]
    assert window.scan_status.device.text().startswith("CPU")
    assert "Scored 7 photos" in window.scan_status.text.text()
    assert window.scan_status.bar.isHidden() and window.scan_status.cancel.isHidden()
    assert window.count_label.text().startswith("7 photos")
    assert demo_folder.name in window.windowTitle()
    # thumbnails load off the UI thread and land in the grid
    qtbot.waitUntil(lambda: all(window.thumbs.get(p) is not None for p in photos), timeout=20_000)
    # the side panel shows where the photo sits
    assert sum(window.side.histogram.counts) == 7
    assert window.side.histogram.current == pytest.approx(photos[0].score)
    assert "Rank #1 of 7" in window.side.details.text()


def test_reopening_a_scored_folder_is_instant(qtbot, make_window, demo_folder):
    first = make_window()
    open_and_wait(qtbot, first, demo_folder)
    first.close()

    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as blocker:
        window.open_folder(demo_folder)
        # before the background check has even started, the grid is full and sorted by score
        assert len(window.model.photos()) == 7
        assert all(p.score is not None for p in window.model.photos())
    summary = blocker.args[0].summary
    assert summary.scored == 0 and summary.index.unchanged == 7
    assert window.scan_status.text.text() == "Up to date"


def test_sort_and_filter(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    by_score = names(window)

    window.set_sort("name")
    assert names(window) == sorted(by_score)
    window.set_sort("date")  # no EXIF dates in the demo photos: name order within "no date"
    assert names(window) == sorted(by_score)
    window.set_sort("score")
    assert names(window) == by_score
    assert window.settings.sort == "score"

    f = window.filters
    f.faces_box.setChecked(True)
    assert set(names(window)) == {n for n, p in catalog_view(demo_folder).items() if p.faces}
    assert "astronaut.png" in names(window) and "coffee.png" not in names(window)
    f.faces_box.setChecked(False)

    threshold = window.model.photos()[2].score
    f.score_box.setValue(round(threshold, 2) - 0.005)
    assert all(p.score >= f.score_box.value() for p in window.model.photos())
    assert 3 <= len(window.model.photos()) < 7
    f.set_filter(PhotoFilter())
    assert len(window.model.photos()) == 7

    window.selection.select_row(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    qtbot.keyClick(window.grid, Qt.Key.Key_Right)
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    qtbot.keyClick(window.grid, Qt.Key.Key_4)
    f.set_filter(PhotoFilter(decision="picks"))
    assert names(window) == [by_score[0]]
    f.set_filter(PhotoFilter(decision="rejects"))
    assert names(window) == [by_score[1]]
    f.set_filter(PhotoFilter(decision="unflagged"))
    assert names(window) == by_score[2:]
    f.set_filter(PhotoFilter(min_stars=3))
    assert names(window) == [by_score[1]]
    assert "showing 1" in window.count_label.text()


def test_keyboard_culling_is_saved_to_the_catalog_at_once(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    order = names(window)
    grid = window.grid
    grid.setFocus()

    qtbot.keyClick(grid, Qt.Key.Key_P)  # the best photo: a keeper
    assert catalog_view(demo_folder)[order[0]].decision == "keep"
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_X)
    qtbot.keyClick(grid, Qt.Key.Key_3)
    saved = catalog_view(demo_folder)
    assert saved[order[1]].decision == "reject" and saved[order[1]].rating == 3
    qtbot.keyClick(grid, Qt.Key.Key_U)
    qtbot.keyClick(grid, Qt.Key.Key_0)
    saved = catalog_view(demo_folder)
    assert saved[order[1]].decision is None and saved[order[1]].rating == 0
    assert window.model.photos()[0].decision == "keep"  # the grid shows it too

    # a flag applies to the whole selection
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert len(window.selected_photos()) == 2
    qtbot.keyClick(grid, Qt.Key.Key_X)
    saved = catalog_view(demo_folder)
    assert saved[order[2]].decision == saved[order[3]].decision == "reject"

    # Space opens the loupe; keys there flag the photo shown; arrows move; Esc goes back to the grid
    window.selection.select_row(4)
    qtbot.keyClick(grid, Qt.Key.Key_Space)
    assert window.mode == "loupe" and Path(window.loupe.photo.path).name == order[4]
    qtbot.keyClick(window.loupe, Qt.Key.Key_Right)
    assert Path(window.loupe.photo.path).name == order[5]
    qtbot.keyClick(window.loupe, Qt.Key.Key_P)
    qtbot.keyClick(window.loupe, Qt.Key.Key_5)
    saved = catalog_view(demo_folder)
    assert saved[order[5]].decision == "keep" and saved[order[5]].rating == 5
    assert "pick" in window.loupe.pane.caption.text() and "★★★★★" in window.loupe.pane.caption.text()
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)
    assert window.mode == "grid" and window.grid.currentIndex().row() == 5
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert window.mode == "loupe"
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)

    # auto-advance: after a flag, the next photo
    window.auto_advance_action.setChecked(True)
    window.selection.select_row(0)
    qtbot.keyClick(grid, Qt.Key.Key_U)
    assert window.grid.currentIndex().row() == 1
    qtbot.keyClick(grid, Qt.Key.Key_P)
    assert window.grid.currentIndex().row() == 2
    saved = catalog_view(demo_folder)
    assert saved[order[0]].decision is None and saved[order[1]].decision == "keep"
    assert window.settings.auto_advance


def test_cancel_mid_scan_keeps_what_was_scored(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "burst", 40)
    window = make_window(batch_size=4)
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        window.open_folder(folder)
        qtbot.waitUntil(lambda: window.scan_status.bar.value() >= 4, timeout=SCAN_TIMEOUT_MS)
        assert window.scan_status.cancel.isVisible()
        assert "Scoring" in window.scan_status.text.text() and "photos/s" in window.scan_status.text.text()
        qtbot.mouseClick(window.scan_status.cancel, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.cancelled and outcome.error is None
    scored = [p for p in catalog_view(folder).values() if p.score is not None]
    assert 4 <= len(scored) < 40 and len(scored) == outcome.summary.scored
    assert "Cancelled" in window.scan_status.text.text()
    shown = {p.id: p.score for p in window.model.photos()}
    assert all(shown[p.id] == pytest.approx(p.score) for p in scored)  # what was scored is on screen

    # opening the folder again scores the rest and only the rest
    outcome = open_and_wait(qtbot, window, folder)
    assert outcome.summary.scored == 40 - len(scored)
    assert all(p.score is not None for p in catalog_view(folder).values())


def test_quit_mid_scan_stops_quickly_and_loses_nothing(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "burst", 40)
    window = make_window(batch_size=4)
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.scan_status.bar.value() >= 4, timeout=SCAN_TIMEOUT_MS)
    seen = window.scan_status.bar.value()
    thread = window.scoring._thread
    start = time.monotonic()
    window.quit_action.trigger()  # File > Quit (Ctrl+Q)
    assert time.monotonic() - start < 5.0
    assert not thread.isRunning()
    scored = [p for p in catalog_view(folder).values() if p.score is not None]
    assert seen <= len(scored) < 40


def test_ctrl_q_quits(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    qtbot.keyClick(window.grid, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
    assert not window.scoring._thread.isRunning()


def test_ui_thread_is_never_blocked_while_a_folder_scores(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "many", 32, size=(640, 480))
    window = make_window(batch_size=8)
    clock, gaps = QElapsedTimer(), []
    ticker = QTimer()
    ticker.setInterval(10)

    def tick() -> None:
        gaps.append(clock.restart())

    ticker.timeout.connect(tick)
    collections: list[float] = []  # garbage-collector pauses, for the failure message
    started: list[float] = []

    def gc_watch(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            collections.append(round((time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(gc_watch)
    try:
        with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
            window.open_folder(folder)
            clock.start()
            ticker.start()
        ticker.stop()
    finally:
        gc.callbacks.remove(gc_watch)
    assert finished.args[0].summary.scored == 32
    assert len(gaps) > 20
    worst = max(gaps)
    at = sum(gaps[: gaps.index(worst) + 1])
    assert worst < 100, (f"the UI thread was blocked for {worst} ms, {at} ms after opening the folder "
                         f"(longest gaps: {sorted(gaps)[-5:]}; longest GC pauses: {sorted(collections)[-3:]}; "
                         f"load: {os.getloadavg()})")


def test_unreadable_photos_and_missing_folders_are_messages(qtbot, make_window, tmp_path):
    folder = tmp_path / "mixed"
    save_jpeg(folder / "good.jpg", photo())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    window = make_window()
    open_and_wait(qtbot, window, folder)
    assert "Cannot read broken.jpg" in window.messages.text() and window.messages.isVisible()
    assert "Traceback" not in window.messages.text()
    broken = next(p for p in window.model.photos() if p.path.endswith("broken.jpg"))
    assert broken.error and broken.score is None
    assert names(window) == ["good.jpg", "broken.jpg"]  # unreadable last
    window.selection.select_row(1)
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    assert "Cannot show" in window.loupe.canvas.message
    qtbot.keyClick(window.loupe, Qt.Key.Key_Escape)

    assert not window.open_folder(tmp_path / "nowhere")
    assert "no such folder" in window.messages.text()
    assert window.folder == canonical(folder)  # still on the folder it had

    # the folder disappears while it is open: the rescan says so
    gone = photo_folder(tmp_path / "gone", 2)
    open_and_wait(qtbot, window, gone)
    for f in gone.iterdir():
        f.unlink()
    gone.rmdir()
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        window.scan.start(gone, "default", "auto")
    assert "no longer exists" in finished.args[0].error
    assert "no longer exists" in window.messages.text()
