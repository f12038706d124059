"""Undo and redo in the window (issue 16): a stray Ctrl+A then "1" is taken back with Ctrl+Z, even after a
restart; the Edit menu says what it would undo; the status bar counts the selection."""

from __future__ import annotations

from pathlib import Path

from conftest import photo_folder
from PySide6.QtCore import Qt

from selfie_desk.core import paths
from selfie_desk.core.formats.indexing import canonical
from selfie_desk.core.storage.catalog import Catalog

SCAN_TIMEOUT_MS = 90_000
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def saved(folder: Path) -> dict[str, tuple]:
    with Catalog(paths.catalog_path()) as catalog:
        return {Path(p.path).name: (p.decision, p.rating, p.crop)
                for p in catalog.photos("default", folder=str(canonical(folder)))}


def open_and_wait(qtbot, window, folder: Path) -> None:
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        assert window.open_folder(folder)


def test_a_stray_select_all_and_rating_is_undone_and_redone_even_after_a_restart(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "shoot", 5)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    grid = window.grid
    grid.setFocus()
    first = Path(window.model.photo(0).path).name
    qtbot.keyClick(grid, Qt.Key.Key_4)
    qtbot.keyClick(grid, Qt.Key.Key_P)
    assert saved(folder)[first][:2] == ("keep", 4)

    qtbot.keyClick(grid, Qt.Key.Key_A, CTRL)
    assert len(window.selected_photos()) == 5
    assert "5 selected" in window.count_label.text()
    qtbot.keyClick(grid, Qt.Key.Key_1)
    assert {v[1] for v in saved(folder).values()} == {1}
    assert "on 5 photos" in window.statusBar().currentMessage()
    assert window.undo_action.text().replace("&", "") == "Undo 1 star on 5 photos"

    qtbot.keyClick(grid, Qt.Key.Key_Z, CTRL)
    after = saved(folder)
    assert after[first][:2] == ("keep", 4)
    assert [v[1] for k, v in after.items() if k != first] == [0, 0, 0, 0]
    assert {p.rating for p in window.model.all_photos()} == {0, 4}
    assert "Undone: 1 star on 5 photos" in window.statusBar().currentMessage()

    qtbot.keyClick(grid, Qt.Key.Key_Z, CTRL | SHIFT)
    assert {v[1] for v in saved(folder).values()} == {1}
    assert {p.rating for p in window.model.all_photos()} == {1}
    window.close()

    again = make_window()  # a restart: the history is in the catalog
    open_and_wait(qtbot, again, folder)
    assert again.undo_action.text().replace("&", "") == "Undo 1 star on 5 photos"
    again.grid.setFocus()
    qtbot.keyClick(again.grid, Qt.Key.Key_Z, CTRL)
    assert saved(folder)[first][:2] == ("keep", 4)
    qtbot.keyClick(again.grid, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(again.grid, Qt.Key.Key_Z, CTRL)
    assert saved(folder)[first][:2] == (None, 0)
    assert {p.decision for p in again.model.all_photos()} == {None}
    assert again.undo() is None
    assert again.statusBar().currentMessage() == "Nothing to undo"


def test_crops_undo_and_the_edit_menu_lists_undo_redo_and_selection(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "shoot", 3)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert [a.text().replace("&", "").split(" ")[0] for a in menus["Edit"].actions() if a.text()] == [
        "Undo", "Redo", "Select", "Select"]
    p = window.model.photo(1)
    assert window.crop.write_crops([p], (10, 20, 110, 120), "Crop")
    assert window.model.get(p.id).crop == (10, 20, 110, 120)
    edit = window.undo()
    assert edit is not None and edit.label == "Crop"
    assert window.model.get(p.id).crop is None and saved(folder)[Path(p.path).name][2] is None
    window.redo()
    assert window.model.get(p.id).crop == (10, 20, 110, 120)
    window.selection.select_row(0)
    window.select_all()
    assert "3 selected" in window.count_label.text()
    window.select_none()
    assert len(window.selected_photos()) == 1 and "selected" not in window.count_label.text()
