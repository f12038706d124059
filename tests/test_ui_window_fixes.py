"""Issue 16, items 5, 6, 9 and 10: what the grid and the panels show must match what the photographer did and
stay where it was. Real windows offscreen, real scans, real pixels."""

from __future__ import annotations

from pathlib import Path

from conftest import photo, save_jpeg
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
