"""Groups of one moment in the window (issue 14): a real burst made from a bundled portrait (a little shake
between frames, one frame blurred), scored and grouped by the real pipeline, then culled with the keys."""

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageFilter
from PySide6.QtCore import QPoint, Qt

from selfie_desk.core import paths
from selfie_desk.core.culling.groups import CLOSED_EYES, SOFT_FOCUS
from selfie_desk.core.culling.view import PhotoFilter
from selfie_desk.ui.grid import stack_hit_rect

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
SCAN_TIMEOUT_MS = 90_000


def exif_at(when: datetime) -> Image.Exif:
    exif = Image.Exif()
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003], ifd[0x9291] = when.strftime("%Y:%m:%d %H:%M:%S"), f"{when.microsecond // 1000:03d}"
    return exif


def write_shoot(folder: Path) -> Path:
    """Four frames of the astronaut 0.3 s apart with a little shake, the third blurred (a soft face), and the
    rocket a minute later: one burst and a single."""
    folder.mkdir(parents=True)
    start = datetime(2026, 5, 1, 10, 0, 0)
    base = Image.open(DEMO / "astronaut.png").convert("RGB")
    for i in range(4):
        frame = base.rotate(0.4 * i, translate=(i, -i))
        if i == 2:
            frame = frame.filter(ImageFilter.GaussianBlur(2.5))
        frame.save(folder / f"burst{i}.jpg", quality=92, exif=exif_at(start + timedelta(seconds=0.3 * i)))
    Image.open(DEMO / "rocket.jpg").convert("RGB").save(folder / "rocket.jpg",
                                                        exif=exif_at(start + timedelta(minutes=1)))
    return folder


def regrouped(outcome) -> bool:
    return outcome.regrouped


def open_and_group(qtbot, window, folder: Path) -> None:
    """Open, and wait for the scan and the grouping after it (the stored groups come first, read back ranked)."""
    with qtbot.waitSignal(window.grouped, timeout=SCAN_TIMEOUT_MS, check_params_cb=regrouped):
        assert window.open_folder(folder)


def names(photos) -> list[str]:
    return [Path(p.path).name for p in photos]


def select_name(window, name: str) -> None:
    row = next(i for i, p in enumerate(window.model.photos()) if Path(p.path).name == name)
    window.selection.select_row(row)


def decisions(folder: Path) -> dict[str, str | None]:
    with sqlite3.connect(paths.catalog_path()) as db:
        rows = db.execute("SELECT path, decision FROM photos").fetchall()
    return {Path(p).name: d for p, d in rows if str(p).startswith(str(folder))}


def test_a_burst_is_one_stack_g_expands_it_b_keeps_the_best_and_ctrl_z_undoes(qtbot, make_window, tmp_path):
    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    window.show_grid()
    window.grid.setFocus()
    # one stack (its best on top, the count on it) and the rocket
    assert window.model.rowCount() == 2
    stack_row = next(i for i, p in enumerate(window.model.photos()) if p.path.endswith(tuple(
        f"burst{i}.jpg" for i in range(4))))
    best = window.model.photo(stack_row)
    group = window.model.groups.group_of(best.id)
    assert group.kind == "burst" and len(group.members) == 4 and group.best.photo.id == best.id
    assert window.model.stack(best.id).count == 4 and window.model.stack(best.id).collapsed
    assert names([best]) != ["burst2.jpg"]  # the soft frame is never the best
    # the side panel lists the frames, best marked, each with its reasons
    window.selection.select_row(stack_row)
    panel = window.side.group.text()
    assert "Burst of 4" in panel and "★" in panel and "softer face than the best" in panel
    for i in range(4):
        assert f"burst{i}.jpg" in panel

    qtbot.keyClick(window.grid, Qt.Key.Key_G)  # expand: every frame, best first
    assert window.model.rowCount() == 5
    assert window.model.stack(best.id).expanded
    qtbot.keyClick(window.grid, Qt.Key.Key_G)  # fold again
    assert window.model.rowCount() == 2

    # a click on the count badge expands it too
    index = window.model.index(window.model.row_of(best.id))
    hit = stack_hit_rect(window.grid.visualRect(index), window.thumbs.edge).center()
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(hit.x(), hit.y()))
    assert window.model.rowCount() == 5
    qtbot.keyClick(window.grid, Qt.Key.Key_G)
    assert window.model.rowCount() == 2

    # B: the best picked, the three others rejected, one undoable step, said in the message bar
    window.selection.select_row(window.model.row_of(best.id))
    qtbot.keyClick(window.grid, Qt.Key.Key_B)
    state = decisions(folder)
    assert state[names([best])[0]] == "keep"
    assert sorted(n for n, d in state.items() if d == "reject") == sorted(
        f"burst{i}.jpg" for i in range(4) if f"burst{i}.jpg" != names([best])[0])
    assert state["rocket.jpg"] is None
    assert "rejected 3 other frames of the burst" in window.messages.label.text()
    assert "Ctrl+Z" in window.messages.label.text()
    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert set(decisions(folder).values()) == {None}
    assert window.messages.label.text().startswith("Undone: Keep best of burst, reject 3")
    assert all(p.decision is None for p in window.model.all_photos())

    # Shift+G: every frame ungrouped, in the plain order
    window.stack_action.trigger()
    assert window.model.rowCount() == 5 and window.settings.stack_groups is False
    window.stack_action.trigger()
    assert window.model.rowCount() == 2

    # compare: the group's frames side by side at one zoom, on the face
    window.selection.select_row(window.model.row_of(best.id))
    window.compare_group()
    assert window.mode == "compare" and len(window.compare.photos()) == 4
    panes = window.compare.panes[:4]
    zooms = {pane.canvas.state.zoom for pane in panes}
    assert len(zooms) == 1 and None not in zooms
    for pane in panes:  # each on its own face (the astronaut's is in the upper half), not the photo's middle
        x0, y0, x1, y1 = max(pane.photo.faces, key=lambda f: f.box[3] - f.box[1]).box
        assert pane.canvas.state.cy < 0.4 and abs(pane.canvas.state.cy - (y0 + y1) / 2 / pane.photo.height) < 0.1


def test_soft_and_closed_eyes_are_badged_and_filtered(qtbot, make_window, tmp_path):
    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    by_name = {Path(p.path).name: p for p in window.model.all_photos()}
    assert SOFT_FOCUS in window.model.badges(by_name["burst2.jpg"].id)  # the blurred frame, measured for real
    assert SOFT_FOCUS not in window.model.badges(by_name["burst0.jpg"].id)
    # The eye networks are another part's work (and a blink cannot be drawn): a face's stored state stands in.
    with sqlite3.connect(paths.catalog_path()) as db:
        db.execute("UPDATE faces SET eyes = 'closed' WHERE photo_id = ?", (by_name["burst1.jpg"].id,))
    open_and_group(qtbot, window, folder)
    by_name = {Path(p.path).name: p for p in window.model.all_photos()}
    assert window.model.badges(by_name["burst1.jpg"].id) >= {CLOSED_EYES}
    window.filters.closed_box.setChecked(True)
    assert window.model.filter == PhotoFilter(closed_eyes=True)
    assert names(window.model.photos()) == ["burst1.jpg"]
    window.filters.closed_box.setChecked(False)
    window.filters.soft_box.setChecked(True)
    assert "burst2.jpg" in names(window.model.photos()) and "burst0.jpg" not in names(window.model.photos())
    window.filters.soft_box.setChecked(False)
    # the loupe says it too
    select_name(window, "burst1.jpg") if "burst1.jpg" in names(window.model.photos()) else None
    window.show_loupe(by_name["burst1.jpg"])
    assert "closed eyes" in window.loupe.pane.caption.text()


def test_a_split_survives_a_rescan_and_merge_joins_again(qtbot, make_window, tmp_path):
    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    best = next(p for p in window.model.photos() if window.model.stack(p.id).count == 4)
    window.selection.select_row(window.model.row_of(best.id))
    window.toggle_group()  # expanded: select two frames and split them off
    group = window.model.groups.group_of(best.id)
    off = [m.photo.id for m in group.members[2:]]
    window.grid.clearSelection()
    for pid in off:
        window.grid.selectionModel().select(window.model.index(window.model.row_of(pid)),
                                            window.grid.selectionModel().SelectionFlag.Select)
    with qtbot.waitSignal(window.grouped, timeout=10_000):
        window.split_selected()
    assert "Split 2 photos" in window.messages.label.text()
    sizes = sorted(len(g.members) for g in window.model.groups.stacks())
    assert sizes == [2, 2]
    # a re-scan regroups: the user's groups stay
    open_and_group(qtbot, window, folder)
    assert sorted(len(g.members) for g in window.model.groups.stacks()) == [2, 2]
    assert window.model.groups.group_of(off[0]).id == window.model.groups.group_of(off[1]).id
    # merge the two stacks back into one
    window.grid.clearSelection()
    for g in window.model.groups.stacks():
        window.grid.selectionModel().select(window.model.index(window.model.row_of(g.members[0].photo.id)),
                                            window.grid.selectionModel().SelectionFlag.Select)
    with qtbot.waitSignal(window.grouped, timeout=10_000):
        window.merge_selected()
    assert [len(g.members) for g in window.model.groups.stacks()] == [4]
    open_and_group(qtbot, window, folder)
    assert [len(g.members) for g in window.model.groups.stacks()] == [4]
    # both edits are in the undo history: Ctrl+Z takes the merge back, then the split; Ctrl+Shift+Z redoes
    assert window.undo_action.text().startswith("&Undo Merge groups")
    with qtbot.waitSignal(window.grouped, timeout=10_000):
        assert window.undo().label == "Merge groups"
    assert sorted(len(g.members) for g in window.model.groups.stacks()) == [2, 2]
    with qtbot.waitSignal(window.grouped, timeout=10_000):
        assert window.undo().label == "Split group"
    assert [len(g.members) for g in window.model.groups.stacks()] == [4]
    with qtbot.waitSignal(window.grouped, timeout=10_000):
        assert window.redo().label == "Split group"
    assert sorted(len(g.members) for g in window.model.groups.stacks()) == [2, 2]


def test_the_thresholds_preview_the_count_and_are_kept(qtbot, make_window, tmp_path):
    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    dialog = window.show_grouping()
    qtbot.waitUntil(lambda: "of two or more" in dialog.preview.text(), timeout=10_000)
    assert dialog.preview.text().startswith("1 group of two or more (4 photos; 1 burst)")
    dialog.gap.setValue(0.1)  # frames 0.3 s apart: no burst any more (the same scene seconds apart: similar)
    qtbot.waitUntil(lambda: "0 bursts" in dialog.preview.text(), timeout=10_000)
    with qtbot.waitSignal(window.grouped, timeout=SCAN_TIMEOUT_MS, check_params_cb=regrouped):
        dialog.accept()
    assert window.settings.burst_gap_s == 0.1
    assert json.loads(window.settings.path.read_text())["burst_gap_s"] == 0.1
    assert [g.kind for g in window.model.groups.stacks()] == ["similar"]
    # the command line groups with the thresholds set in the window, and says which (issue 28)
    done = subprocess.run([sys.executable, "-m", "selfie_desk", "groups", str(folder), "--json", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(row["thresholds"] == {"burst_similarity": 0.85, "burst_gap_s": 0.1} for row in rows)
    assert sorted(row["kind"] for row in rows) == ["similar", "single"]  # as in the window: no burst


def test_the_window_follows_a_regrouping_made_elsewhere(qtbot, make_window, tmp_path):
    from selfie_desk.core.culling.groups import GroupingParams, regroup
    from selfie_desk.core.storage.catalog import Catalog

    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    assert [g.kind for g in window.model.groups.stacks()] == ["burst"]
    assert not window.groups.watch.poll()  # nothing changed since the window read its groups
    with Catalog(paths.catalog_path()) as elsewhere:  # another program's connection: `selfie-desk groups`, say
        ids = [p.id for p in elsewhere.photos("default", folder=str(folder))]
        regroup(elsewhere, ids, GroupingParams(burst_gap_s=0.1))
    with qtbot.waitSignal(window.grouped, timeout=10_000):  # the window's poll (every 1.5 s) notices
        pass
    assert [g.kind for g in window.model.groups.stacks()] == ["similar"]
    assert "changed outside this window" in window.statusBar().currentMessage()


def test_the_people_of_a_shoot_their_filter_and_compare_groups_faces(qtbot, make_window, tmp_path):
    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    people = window.model.groups.people
    assert people is not None
    her = people.recurring()[0]  # her, in every sharp frame (the blurred one may read as someone else at 0.40)
    frames = sorted(names(p for p in window.model.all_photos() if p.id in her.photo_ids))
    assert len(frames) >= 3 and all(n.startswith("burst") for n in frames)
    shoot = [window.people_panel.shoot.item(i).text() for i in range(window.people_panel.shoot.count())]
    assert shoot[:2] == ["Everyone", f"Person {her.number}: {len(frames)} photos"]
    burst = next(p for p in window.model.all_photos() if p.id in her.photo_ids)
    assert window.people_panel.describe(burst).startswith(f"Person {her.number} (key): eyes ")
    # the People filter: only her photos (the rocket has nobody)
    window.people_panel.person_chosen.emit(her.number)
    assert window.filters.people_box.person == her.number and window.model.filter.person == her.number
    assert sorted(names(window.model.filtered_photos())) == frames
    window.filters.people_box.choose(0)
    assert "rocket.jpg" in names(window.model.filtered_photos())
    # Compare Group: the key face of every frame, side by side at one zoom
    select_name(window, "burst0.jpg")
    window.compare_group()
    strip = window.compare.faces
    assert strip.isVisible() and sum(len(row.faces) for row in strip.rows) == 4
    assert len(strip.rows[0].faces) == len(frames)  # her row: each of her frames
    assert {f.eyes for row in strip.rows for f in row.faces.values()} <= {"open", "closed", "unknown"}
    qtbot.waitUntil(lambda: all(window.compare._pane_image(p.id) is not None for p in strip.frames), timeout=10_000)
    shot = strip.grab().toImage()
    assert shot.height() > 100 and len({shot.pixel(x, 60) for x in range(0, shot.width(), 7)}) > 10  # faces drawn


def test_export_best_of_groups_from_the_window_and_the_command_line(qtbot, make_window, tmp_path):
    folder = write_shoot(tmp_path / "shoot")
    window = make_window(stacks=True)
    open_and_group(qtbot, window, folder)
    best = next(p for p in window.model.photos() if window.model.stack(p.id).count == 4)
    dialog = window.show_export()
    dialog.best_of_groups.setChecked(True)
    assert sorted(names(dialog.chosen())) == sorted([Path(best.path).name, "rocket.jpg"])
    dialog.reject()
    window.shut_down()
    done = subprocess.run([sys.executable, "-m", "selfie_desk", "export", str(folder), str(tmp_path / "out"),
                           "--best-of-groups"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([Path(best.path).name, "rocket.jpg"])


def test_the_status_bar_says_when_a_folder_has_no_photos_of_one_moment(qtbot, make_window, demo_folder):
    """Unrelated photos: "No photos of one moment", not "0 groups of one moment (0 photos)"."""
    window = make_window(stacks=True)
    open_and_group(qtbot, window, demo_folder)
    assert window.statusBar().currentMessage() == "No photos of one moment"
