"""The theme (ui/theme.py): dark neutral grey by default, light as a preference, live and remembered."""

from __future__ import annotations

import json

from conftest import photo_folder
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from selfie_desk.core.settings import Settings
from selfie_desk.ui import theme

SCAN_TIMEOUT_MS = 90_000


def lightness(color) -> int:
    return color.lightness()


def grid_background(window) -> int:
    window.grid.viewport().repaint()
    image = window.grid.viewport().grab().toImage()
    return image.pixelColor(image.width() - 3, image.height() - 3).lightness()  # below the last row: no tile


def test_the_window_is_dark_by_default_and_turns_light_from_the_preferences(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "shoot", 2)
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        window.open_folder(folder)
    pal = QApplication.instance().palette()
    assert theme.current().name == "dark"
    assert lightness(pal.color(QPalette.ColorRole.Window)) < 60
    assert lightness(pal.color(QPalette.ColorRole.Text)) > 190
    window_color = pal.color(QPalette.ColorRole.Window)
    assert abs(window_color.red() - window_color.blue()) <= 4  # neutral: no tint under the photos
    assert grid_background(window) < 50

    dialog = window.show_preferences()
    assert dialog.theme.currentData() == "dark"
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.accept()
    assert window.settings.theme == "light" and theme.current().name == "light"
    assert lightness(QApplication.instance().palette().color(QPalette.ColorRole.Window)) > 200
    assert grid_background(window) > 200  # the grid repainted in the new theme at once
    histogram = window.side.histogram.grab().toImage()
    assert histogram.pixelColor(3, 3).lightness() > 200  # and the panel's histogram, drawn from a cache
    assert json.loads(window.settings.path.read_text())["theme"] == "light"
    assert Settings.load().theme == "light"
    theme.apply("dark")  # the session's other windows start from the default


def test_an_unknown_theme_in_the_settings_falls_back_to_dark(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "theme": "purple"}))
    assert Settings.load(path).theme == "dark"
    assert theme.apply("purple", None).name == "dark"
