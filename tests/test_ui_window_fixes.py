"""Issue 16, items 5, 6, 9 and 10: what the grid and the panels show must match what the photographer did and
stay where it was. Real windows offscreen, real scans, real pixels."""

from __future__ import annotations

from pathlib import Path

from conftest import photo, photo_folder, save_jpeg
from PySide6.QtCore import QPoint

SCAN_TIMEOUT_MS = 90_000


def open_and_wait(qtbot, window, folder: Path):
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as blocker:
        assert window.open_folder(folder)
    return blocker.args[0]


def badge_pixel(window, row: int):
    """The colour inside the flag badge's circle (top left of the thumbnail), beside its white mark."""
    window.grid.viewport().repaint()
    image = window.grid.viewport().grab().toImage()
    rect = window.grid.visualRect(window.model.index(row))
    ratio = image.devicePixelRatio()
    at = QPoint(round((rect.left() + 14) * ratio), round((rect.top() + 21) * ratio))
    return image.pixelColor(at)


def test_every_unreadable_photo_is_marked_and_the_panel_counts_them_apart(qtbot, make_window, tmp_path):
    folder = tmp_path / "mixed"
    save_jpeg(folder / "a-good.jpg", photo(seed=1))
    save_jpeg(folder / "b-good.jpg", photo(seed=2))
    for i in range(4):
        (folder / f"broken{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    window = make_window()
    open_and_wait(qtbot, window, folder)
    qtbot.waitUntil(lambda: all(window.thumbs.failure(p) for p in window.model.photos() if p.error), timeout=10_000)
    broken_rows = [r for r in range(window.model.rowCount()) if window.model.photo(r).error]
    assert len(broken_rows) == 4
    selected = {window.grid.currentIndex().row()}
    assert not selected & set(broken_rows)
    for row in broken_rows:  # not only the selected one: every one of them has its "!" badge
        c = badge_pixel(window, row)
        assert abs(c.red() - 120) < 12 and abs(c.green() - 120) < 12 and abs(c.blue() - 120) < 12, (row, c.name())
    good = badge_pixel(window, 1 if 1 not in broken_rows else 0)
    assert abs(good.red() - 120) > 12 or abs(good.blue() - 120) > 12  # no badge on a readable, unflagged photo
    text = window.side.summary.text()
    assert "so far" not in text and "2 photos; 4 could not be read" in text


def test_the_photo_looked_at_keeps_its_row_when_the_scan_ends_and_f5_sorts(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "shoot", 10)
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        with qtbot.waitSignal(window.scan.listed, timeout=SCAN_TIMEOUT_MS):
            window.open_folder(folder)
        window.selection.select_row(6)  # the user is at work on a photo while the folder scores
        looked_at = window.model.photo(6).id
        order = [p.id for p in window.model.photos()]
    assert [p.id for p in window.model.photos()] == order  # nothing moved under the user
    assert window.grid.currentIndex().row() == 6 and window.current_photo().id == looked_at
    assert "F5" in window.statusBar().currentMessage()
    window.resort_action.trigger()
    scores = [p.score for p in window.model.photos()]
    assert scores == sorted(scores, reverse=True) and window.current_photo().id == looked_at


def test_a_folder_nobody_touched_is_sorted_best_first_when_scored(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "shoot", 6)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    scores = [p.score for p in window.model.photos()]
    assert scores == sorted(scores, reverse=True) and window.grid.currentIndex().row() == 0


def test_review_uncertain_is_for_this_folder_only(qtbot, make_window, tmp_path):
    from selfie_desk.core.settings import Settings

    first = photo_folder(tmp_path / "first", 3)
    second = photo_folder(tmp_path / "second", 3)
    window = make_window()
    open_and_wait(qtbot, window, first)
    window.set_sort("date")
    window.review_uncertain()
    assert window.model.sort == "uncertain" and window.model.filter.decision == "unflagged"
    assert Settings.load().sort == "date"  # never saved as the sort to start with
    open_and_wait(qtbot, window, second)
    assert window.model.sort == "date" and window.filters.sort == "date"
    assert window.model.filter.decision == "all"
    checked = [a.data() for a in window.sort_actions.actions() if a.isChecked()]
    assert checked == ["date"]

    old = Settings.load()
    old.sort = "uncertain"  # a settings file from before: review saved as the sort
    old.save()
    assert Settings.load().sort == "score"


def test_the_side_panel_keeps_its_width_from_photo_to_photo(qtbot, make_window, tmp_path):
    folder = tmp_path / "names"
    save_jpeg(folder / "b.jpg", photo(seed=1))
    save_jpeg(folder / ("a_very_long_file_name_straight_from_a_camera_export_0001_final_v2_" * 2 + ".jpg"),
              photo(seed=2))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    widths = set()
    for _ in range(2):
        for row in range(window.model.rowCount()):
            window.selection.select_row(row)
            qtbot.wait(20)  # the layout settles
            widths.add((window.side_dock.width(), window.grid.width()))
    assert len(widths) == 1, widths


def test_flagging_in_compare_never_moves_a_photo(qtbot, make_window, tmp_path):
    from PySide6.QtCore import Qt

    folder = photo_folder(tmp_path / "shoot", 3)
    window = make_window()
    window.resize(1000, 700)
    open_and_wait(qtbot, window, folder)
    window.grid.selectAll()
    window.show_compare()
    qtbot.wait(20)
    panes = window.compare.panes[:3]

    def geometry():
        return [p.canvas.geometry().getRect() for p in panes]

    before = geometry()
    assert len({g[3] for g in before}) == 1  # every pane's photo at the same height
    for key in (Qt.Key.Key_P, Qt.Key.Key_5):
        qtbot.keyClick(window.compare, key)
    window.compare.set_active(1)
    qtbot.keyClick(window.compare, Qt.Key.Key_X)
    qtbot.wait(20)
    assert "pick" in panes[0].caption.text() and "reject" in panes[1].caption.text()
    assert geometry() == before
