"""File > Export (Ctrl+E) and File > Write XMP Sidecars, driven as a user would, offscreen: choose the picks,
export, watch the files appear and read the summary."""

from __future__ import annotations

from pathlib import Path

from export_fixtures import add_to_catalog, open_catalog, save_photo, upright_image
from PySide6.QtCore import Qt

from selfie_desk.core.formats import xmp

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


def test_unreviewed_proposals_are_cut_only_after_the_user_saw_the_list(qtbot, make_window, tmp_path: Path):
    """Issue 16: "apply the crop" had cut the convnet's proposals nobody looked at. Now accepted crops only,
    and proposals only as a second choice whose dialog shows each photo it would crop, as it would come out."""
    from PIL import Image

    from selfie_desk.core.storage.catalog import CropProposal

    folder = tmp_path / "shoot"
    with open_catalog() as catalog:
        p0 = add_to_catalog(catalog, save_photo(folder / "p0.png", upright_image(seed=0), fmt="PNG"), (96, 64),
                            score=0.9, decision="keep")
        catalog.save_crop_proposal(p0, "default", CropProposal("original", (8, 0, 56, 64), 0.8, [], 0.5))
        p1 = add_to_catalog(catalog, save_photo(folder / "p1.png", upright_image(seed=1), fmt="PNG"), (96, 64),
                            score=0.8, decision="keep", crop=(0.0, 0.0, 48.0, 32.0))
        catalog.save_crop_proposal(p1, "default", CropProposal("original", (8, 0, 88, 56), 0.8, [], 0.5))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    dialog = window.show_export()
    assert not dialog.apply_crop.isChecked() and not dialog.apply_proposals.isChecked()
    assert dialog.apply_crop.text() == "Apply the accepted crops (1 of these 2)"
    assert dialog.apply_proposals.text().startswith("Crop the other 1 ")
    assert dialog.export_button.text() == "Export 2 photos"

    dialog.apply_proposals.setChecked(True)  # shows the list first; nothing is ticked until the user says yes
    review = dialog.review
    assert review is not None and review.isVisible() and not dialog.apply_proposals.isChecked()
    assert [review.list.item(i).text().split("\n") for i in range(review.list.count())] == [
        ["p0.png", "48 × 64 of 96 × 64"]]
    assert review.crop_button.text() == "Crop this photo"
    icon = review.list.item(0).icon().availableSizes()[0]
    assert abs(icon.width() / icon.height() - 48 / 64) < 0.05  # the thumbnail has the crop's shape
    review.reject()
    assert not dialog.apply_proposals.isChecked() and not dialog.options().apply_proposals

    dialog.apply_proposals.setChecked(True)
    dialog.review.crop_button.click()
    assert dialog.apply_proposals.isChecked() and dialog.options().apply_proposals
    dialog.apply_crop.setChecked(True)
    out = tmp_path / "out"
    dialog.dest.setText(str(out))
    with qtbot.waitSignal(window.exports.finished, timeout=EXPORT_TIMEOUT_MS):
        dialog.export_button.click()
    with Image.open(out / "p0.png") as im:
        assert im.size == (48, 64)  # the proposal, reviewed
    with Image.open(out / "p1.png") as im:
        assert im.size == (48, 32)  # the accepted crop, never the proposal

    dialog.top.setChecked(True)  # other photos now: the review no longer stands
    dialog.top_n.setValue(1)
    assert dialog.export_button.text() == "Export 1 photo"
    dialog.top_n.setValue(2)
    dialog.picks.setChecked(True)
    assert dialog.apply_proposals.isChecked()  # the same photo again: what the user reviewed
    dialog.reject()


def test_by_default_the_export_never_cuts_a_proposal(qtbot, make_window, tmp_path: Path):
    from PIL import Image

    from selfie_desk.core.storage.catalog import CropProposal

    folder = tmp_path / "shoot"
    with open_catalog() as catalog:
        p0 = add_to_catalog(catalog, save_photo(folder / "p0.png", upright_image(seed=0), fmt="PNG"), (96, 64),
                            score=0.9, decision="keep")
        catalog.save_crop_proposal(p0, "default", CropProposal("original", (8, 0, 56, 64), 0.8, [], 0.5))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    dialog = window.show_export()
    dialog.apply_crop.setChecked(True)
    dialog.dest.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(window.exports.finished, timeout=EXPORT_TIMEOUT_MS):
        dialog.export_button.click()
    with Image.open(tmp_path / "out" / "p0.png") as im:
        assert im.size == (96, 64)
    dialog.reject()
