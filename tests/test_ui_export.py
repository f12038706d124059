"""File > Export (Ctrl+E) and File > Write XMP Sidecars, driven as a user would, offscreen: choose the picks,
export, watch the files appear and read the summary."""

from __future__ import annotations

from pathlib import Path

from export_fixtures import add_to_catalog, open_catalog, save_photo, upright_image
from PySide6.QtCore import Qt

from selfie_desk.core import xmp

SCAN_TIMEOUT_MS = 90_000
EXPORT_TIMEOUT_MS = 30_000


def shoot(tmp_path: Path) -> Path:
    folder = tmp_path / "shoot"
    with open_catalog() as catalog:
        for i, decision in enumerate(("keep", None, "keep", "reject")):
            path = save_photo(folder / f"p{i}.jpg", upright_image(seed=i), orientation=6 if i == 2 else 1)
            add_to_catalog(catalog, path, (64, 96) if i == 2 else (96, 64), score=0.9 - i / 10, decision=decision,
                           rating=4 if i == 0 else 0)
    return folder


def open_and_wait(qtbot, window, folder: Path) -> None:
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        assert window.open_folder(folder)


def test_export_the_picks_from_the_dialog(qtbot, make_window, tmp_path: Path):
    folder = shoot(tmp_path)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.export_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.picks.isChecked() and dialog.picks.text() == "Picks (2)"
    assert dialog.embed_xmp.isChecked()

    out = tmp_path / "keepers"
    dialog.dest.setText(str(out))
    dialog.name_pattern.setText("{rank} {name}")
    with qtbot.waitSignal(window.exports.finished, timeout=EXPORT_TIMEOUT_MS):
        dialog.export_button.click()
        assert not dialog.export_button.isEnabled()  # the options are locked while it runs
    assert sorted(p.name for p in out.iterdir()) == ["1 p0.jpg", "2 p2.jpg"]
    assert "Exported 2 of 2 photos" in dialog.status.text()
    assert dialog.progress.value() == dialog.progress.maximum()
    assert dialog.export_button.isEnabled() and dialog.cancel_button.text() == "Close"
    assert xmp.read(out / "1 p0.jpg").rating == 4

    # Again: nothing is overwritten; the user chose to skip, and the summary says so
    dialog.on_clash.setCurrentIndex(1)
    with qtbot.waitSignal(window.exports.finished, timeout=EXPORT_TIMEOUT_MS):
        dialog.export_button.click()
    assert "2 skipped" in dialog.status.text() and dialog.details.isVisible()
    assert len(list(out.iterdir())) == 2

    dialog.cancel_button.click()  # "Close"
    assert not dialog.isVisible()


def test_export_the_current_selection_and_a_bad_pattern(qtbot, make_window, tmp_path: Path):
    folder = shoot(tmp_path)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    window.grid.selectAll()
    dialog = window.show_export()
    assert dialog.selection.isEnabled() and dialog.selection.text() == "The current selection (4)"
    dialog.selection.setChecked(True)
    dialog.dest.setText(str(tmp_path / "all"))
    dialog.name_pattern.setText("{nope}")
    assert dialog.start() is None and "unknown field" in dialog.status.text()
    dialog.name_pattern.setText("{name}")
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    with qtbot.waitSignal(window.exports.finished, timeout=EXPORT_TIMEOUT_MS):
        dialog.export_button.click()
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["p0.png", "p1.png", "p2.png", "p3.png"]
    dialog.reject()


def test_write_xmp_sidecars_from_the_menu(qtbot, make_window, tmp_path: Path):
    folder = shoot(tmp_path)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    assert window.sidecars_action.text() == "Write XMP &Sidecars"
    with qtbot.waitSignal(window.exports.finished, timeout=EXPORT_TIMEOUT_MS):
        window.sidecars_action.trigger()
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["p0.xmp", "p2.xmp", "p3.xmp"]
    assert "Wrote 3 sidecars" in window.messages.text()
    assert xmp.read(folder / "p3.jpg").rating == -1
