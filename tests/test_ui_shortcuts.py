"""The keyboard shortcuts overlay (issue 16, item 7): ? / F1 / Ctrl+/ list every key the menus answer, read
from the menus' own actions; any key closes it without doing anything else."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from selfie_desk.ui.shortcuts import clean, keys_of, shortcut_sections


def menu_actions(menu):
    for a in menu.actions():
        if a.menu() is not None:
            yield from menu_actions(a.menu())
        elif not a.isSeparator():
            yield a


def test_the_overlay_lists_every_key_of_every_menu_and_any_key_closes_it(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts go to the active window only
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_F1)
    overlay = window.shortcut_overlay
    assert overlay.isVisible() and overlay.geometry() == window.rect()
    text = overlay.text()
    listed = 0
    for top in window.menuBar().actions():
        for a in menu_actions(top.menu()):
            for seq in a.shortcuts():
                assert seq.toString(QKeySequence.SequenceFormat.NativeText) in text, (clean(a.text()), seq)
                listed += 1
    assert listed >= 25
    for must in ("Ctrl+Z", "Ctrl+Shift+Z", "F5", "Tab", "Enter", "Undo", "Pick", "Keyboard Shortcuts",
                 "Ctrl+wheel", "nudge the crop"):
        assert must in text, must
    assert "Undo 1 star" not in text  # what Undo would undo is the menu's business, not the list's

    qtbot.keyClick(overlay, Qt.Key.Key_Escape)  # closes the list; does not leave the grid or flag anything
    assert not overlay.isVisible() and window.mode == "grid"
    # "?" (the offscreen platform's key mapper does not drop the Shift a keyboard needs for it, as xcb's does)
    qtbot.keyClick(window.grid, Qt.Key.Key_Question)
    assert overlay.isVisible()
    qtbot.keyClick(overlay, Qt.Key.Key_P)
    assert not overlay.isVisible()
    window.shortcuts_action.trigger()
    assert overlay.isVisible()
    qtbot.mouseClick(overlay, Qt.MouseButton.LeftButton)
    assert not overlay.isVisible()


def test_sections_come_from_the_menus_in_their_order(qtbot, make_window):
    window = make_window()
    titles = [t for t, _ in shortcut_sections(window.menuBar())]
    assert titles[:5] == ["File", "Edit", "Photo", "View", "Crop"] and "Help" in titles
    crop = dict((w, k) for k, w in dict(shortcut_sections(window.menuBar()))["Crop"])
    assert crop["Next Alternative"] == "Tab" and keys_of(window.crop.crop_action) == "C"
