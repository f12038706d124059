"""The loupe, compare, the histogram, Preferences, recent folders and dropping a folder on the window."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import photo, photo_folder, save_jpeg
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.settings import Settings
from selfie_desk.ui.canvas import ViewState

SCAN_TIMEOUT_MS = 90_000


def open_and_wait(qtbot, window, folder: Path):
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS) as blocker:
        assert window.open_folder(folder)
    return blocker.args[0]


def test_loupe_zooms_to_100_percent_pans_and_shows_faces(qtbot, make_window, demo_folder):
    big = demo_folder / "big.jpg"
    save_jpeg(big, photo((3600, 2400), seed=3))
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    window.set_sort("name")  # astronaut.png first: it has a face
    window.selection.select_row(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    loupe = window.loupe
    assert window.mode == "loupe" and loupe.photo.path.endswith("astronaut.png")
    qtbot.waitUntil(lambda: loupe.canvas.image is not None and loupe.canvas.image.width() == 512, timeout=20_000)
    caption = loupe.pane.caption.text()
    assert "score" in caption and "of 8 in this folder" in caption and "1 face" in caption

    assert not loupe.canvas.show_faces
    qtbot.keyClick(loupe, Qt.Key.Key_F)
    assert loupe.canvas.show_faces and window.settings.show_faces
    shot = loupe.canvas.grab().toImage()  # the face box is drawn (its cyan outline is on screen)
    cyan = sum(1 for x in range(0, shot.width(), 2) for y in range(0, shot.height(), 2)
               if shot.pixelColor(x, y).name() == "#50dcff")
    assert cyan > 20
    qtbot.keyClick(loupe, Qt.Key.Key_F)
    assert not loupe.canvas.show_faces

    # a big photo: the preview first (the JPEG's 1/2 DCT decode, 1800 px: the canvas paints it scaled to the
    # screen, no resize in between), the full resolution when zoomed to 100 %
    window.show_grid()
    big = next(p.id for p in window.model.photos() if p.path.endswith("big.jpg"))
    window.selection.select_row(window.model.row_of(big))
    window.show_loupe()
    qtbot.waitUntil(lambda: loupe.canvas.image is not None and loupe.canvas.image.width() == 1800, timeout=20_000)
    qtbot.keyClick(loupe, Qt.Key.Key_Z)
    assert loupe.canvas.state.zoom == 1.0
    qtbot.waitUntil(lambda: loupe.canvas.image.width() == 3600, timeout=20_000)
    before = loupe.canvas.state
    qtbot.mousePress(loupe.canvas, Qt.MouseButton.LeftButton, pos=QPoint(300, 200))
    qtbot.mouseMove(loupe.canvas, QPoint(200, 150))
    qtbot.mouseRelease(loupe.canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    after = loupe.canvas.state
    assert after.cx > before.cx and after.cy > before.cy  # dragged left and up: the view moved right and down
    qtbot.keyClick(loupe, Qt.Key.Key_Z)
    assert loupe.canvas.state.zoom is None  # back to fit
    qtbot.mouseDClick(loupe.canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert loupe.canvas.state.zoom == 1.0
    qtbot.mouseDClick(loupe.canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert loupe.canvas.state.zoom is None
    qtbot.keyClick(loupe, Qt.Key.Key_Escape)
    assert window.mode == "grid"


def test_compare_shows_the_selection_with_synchronised_zoom_and_pan(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "burst", 5, size=(1200, 800))
    window = make_window()
    open_and_wait(qtbot, window, folder)

    window.selection.select_row(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_C)
    assert window.mode == "grid"  # one photo: nothing to compare
    qtbot.keyClick(window.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    chosen = [p.id for p in window.selected_photos()]
    qtbot.keyClick(window.grid, Qt.Key.Key_C)
    compare = window.compare
    assert window.mode == "compare" and [p.id for p in compare.photos()] == chosen
    panes = compare.panes[:3]
    assert all(p.isVisible() for p in panes) and not compare.panes[3].isVisible()
    qtbot.waitUntil(lambda: all(p.canvas.image is not None and p.canvas.image.width() == 1200 for p in panes),
                    timeout=20_000)

    panes[1].canvas.zoom_by(2.0, QPointF(10, 10))
    zoomed = panes[1].canvas.state
    assert zoomed.zoom is not None
    assert all(p.canvas.state == zoomed for p in panes)
    panes[0].canvas.set_view(ViewState(zoomed.zoom, 0.3, 0.6), emit=True)
    assert all(p.canvas.state == panes[0].canvas.state for p in panes)
    qtbot.keyClick(compare, Qt.Key.Key_Z)  # back to fit, all together
    assert all(p.canvas.state.zoom is None for p in panes)

    # keys flag the active photo; Right moves to the next pane; a click picks a pane
    qtbot.keyClick(compare, Qt.Key.Key_X)
    qtbot.keyClick(compare, Qt.Key.Key_Right)
    qtbot.keyClick(compare, Qt.Key.Key_P)
    qtbot.mouseClick(panes[2].canvas, Qt.MouseButton.LeftButton)
    assert compare.active == 2
    qtbot.keyClick(compare, Qt.Key.Key_2)
    decisions = {p.id: (p.decision, p.rating) for p in window.catalog.photos("default", folder=str(folder))}
    assert [decisions[i] for i in chosen] == [("reject", 0), ("keep", 0), (None, 2)]
    assert "reject" in panes[0].caption.text() and "pick" in panes[1].caption.text()
    qtbot.keyClick(compare, Qt.Key.Key_Escape)
    assert window.mode == "grid"


def test_histogram_marks_the_current_photo(qtbot, make_window, demo_folder):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    scores = [p.score for p in window.model.photos()]
    hist = window.side.histogram
    assert sum(hist.counts) == 7
    assert hist.counts[min(19, int(scores[-1] * 20))] >= 1
    qtbot.keyClick(window.grid, Qt.Key.Key_End)
    assert hist.current == pytest.approx(scores[-1])
    assert "Rank #7 of 7" in window.side.details.text()
    assert not hist.grab().isNull()


def test_preferences_are_saved_and_applied(qtbot, make_window, demo_folder, app_home):
    window = make_window()
    open_and_wait(qtbot, window, demo_folder)
    old_cell = window.grid.delegate.sizeHint(None, window.model.index(0))
    dialog = window.show_preferences()
    dialog.thumbnail_size.setValue(160)
    dialog.auto_advance.setChecked(True)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):  # a new device: checked at once
        dialog.accept()
    assert window.grid.delegate.sizeHint(None, window.model.index(0)).width() == old_cell.width() - 40
    assert window.auto_advance_action.isChecked()
    saved = Settings.load()
    assert (saved.thumbnail_size, saved.auto_advance, saved.device) == (160, True, "cpu")
    assert saved.last_folder == str(demo_folder)
    assert (app_home / "config" / "settings.json").is_file()


def test_recent_folders_and_dropping_a_folder(qtbot, make_window, tmp_path):
    first = photo_folder(tmp_path / "first", 2)
    second = photo_folder(tmp_path / "second", 2)
    window = make_window()
    open_and_wait(qtbot, window, first)

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(second))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        window.dropEvent(drop)
    assert window.folder == second
    assert window.settings.recent_folders[:2] == [str(second), str(first)]

    window.folders.fill_recent_menu()
    action = next(a for a in window.recent_menu.actions() if a.text() == str(first))
    with qtbot.waitSignal(window.scan_finished, timeout=SCAN_TIMEOUT_MS):
        action.trigger()
    assert window.folder == first and len(window.model.photos()) == 2


def test_choosing_a_gpu_without_one_scores_on_the_cpu_and_says_so(qtbot, make_window, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from selfie_desk.workers.scoring import default_scorer_factory

    folder = photo_folder(tmp_path / "two", 2)
    window = make_window(scorer_factory=default_scorer_factory, settings=Settings(device="cuda"))
    outcome = open_and_wait(qtbot, window, folder)
    assert outcome.error is None and outcome.summary.scored == 2
    assert "No usable GPU" in window.messages.text() and "CPU" in window.messages.text()
    assert window.scan_status.device.text().startswith("CPU")


def test_the_window_opens_without_importing_torch():
    code = (
        "import sys, os\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from selfie_desk.ui.app import create_application\n"
        "from selfie_desk.ui.main_window import MainWindow\n"
        "from selfie_desk.core.storage.catalog import Catalog\n"
        "from selfie_desk.core.settings import Settings\n"
        "from selfie_desk.core import paths\n"
        "app = create_application()\n"
        "w = MainWindow(Catalog(paths.catalog_path()), Settings.load())\n"
        "w.show(); app.processEvents()\n"
        "print('torch' in sys.modules)\n"
        "w.shut_down()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_the_window_starts_on_the_last_folder_else_the_demo_photos(tmp_path):
    from selfie_desk.core import paths
    from selfie_desk.ui.app import start_folder

    settings = Settings()
    assert start_folder(None, settings) == paths.demo_photos_dir()  # the first time
    settings.add_recent(str(tmp_path))
    assert start_folder(None, settings) == tmp_path
    settings.add_recent(str(tmp_path / "unplugged"))
    assert start_folder(None, settings) == paths.demo_photos_dir()
    assert start_folder(tmp_path / "asked", settings) == tmp_path / "asked"


def test_the_application_carries_the_app_icon(qapp):
    from selfie_desk.ui.app import create_application

    app = create_application()
    assert not app.windowIcon().isNull()
    assert app.windowIcon().availableSizes()[0].width() == 256


def test_compare_shows_accepted_crops_as_the_loupe_does(qtbot, make_window, tmp_path):
    folder = photo_folder(tmp_path / "burst", 3, size=(1200, 800))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    first = window.model.photos()[0]
    CullingSession(window.catalog).adopt([(first.id, "crop", (300.0, 200.0, 900.0, 600.0))])
    window.crop.reread([first])  # what accepting a crop in the loupe does
    window.selection.select_row(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.grid, Qt.Key.Key_C)
    compare = window.compare
    assert window.mode == "compare"
    index = next(i for i, p in enumerate(compare.photos()) if p.id == first.id)
    other = 1 - index
    pane, overlay = compare.panes[index], compare.crops[index]
    qtbot.waitUntil(lambda: pane.canvas.image is not None and pane.canvas.image.width() == 1200, timeout=20_000)
    assert overlay.isVisible() and not overlay.editing and overlay.box == (300.0, 200.0, 900.0, 600.0)
    assert not compare.crops[other].isVisible()

    def lightness(fx: float, fy: float) -> int:
        r = pane.canvas.photo_rect()
        shot = pane.canvas.grab().toImage()  # the overlay is the canvas's child: grabbed with it
        return shot.pixelColor(round(r.left() + fx * r.width()), round(r.top() + fy * r.height())).lightness()

    dimmed_outside, inside = lightness(0.1, 0.1), lightness(0.5, 0.5)
    overlay.hide()
    assert lightness(0.1, 0.1) > dimmed_outside + 15  # the outside of the crop is dimmed...
    assert abs(lightness(0.5, 0.5) - inside) <= 2  # ...and what it keeps is not
    overlay.show()

    # cleared elsewhere (Delete in the loupe): the pane follows
    CullingSession(window.catalog).adopt([(first.id, "crop", None)])
    window.crop.reread([first])
    assert not overlay.isVisible()


def test_a_passing_message_is_never_drawn_under_the_counts(qtbot, make_window):
    """The status bar's counts give way to a passing message, also one sent while the window was not shown (the
    folder opened at start-up): QStatusBar hid them only while shown, and both texts were drawn over each other."""
    window = make_window()
    bar, counts = window.statusBar(), window.count_label
    window.hide()
    bar.showMessage("Scored 7 photos in 0.8 s", 5000)
    window.show()
    qtbot.waitExposed(window)
    assert bar.currentMessage() and not counts.isVisible()
    bar.clearMessage()
    assert counts.isVisible()
    bar.showMessage("Sorted again", 3000)
    assert not counts.isVisible()
