"""The culling rules without a window (core/culling/session.py): what a key acts on in each view, what B keeps and
rejects, what a split refuses, what a merge joins, each edit one undoable step that says what changed."""

from __future__ import annotations

import pytest

from selfie_desk.core import paths
from selfie_desk.core.culling.groups import GroupIndex, ranked_groups
from selfie_desk.core.culling.session import MERGE_WHAT, NO_GROUP, SPLIT_ALL, SPLIT_WHAT, CullingSession
from selfie_desk.core.culling.view import PhotoFilter
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.core.vocabulary import Decision, ViewMode

FOLDER = "/shoot"


@pytest.fixture
def catalog(app_home):
    with Catalog(paths.catalog_path()) as cat:
        yield cat


def shoot(catalog: Catalog, kind: str = "burst") -> tuple[CullingSession, dict[str, int]]:
    """Four frames of one moment (b1 the best, then b0, b3, b2 by score) and a photo alone, opened in a session
    with their groups ranked as the grouping thread ranks them."""
    names = ["b0", "b1", "b2", "b3", "alone"]
    ids = {n: catalog.add_file(f"{FOLDER}/{n}.jpg", 1, 0, f"fp-{n}") for n in names}
    catalog.save_scores("default", [(ids["b0"], 0.7), (ids["b1"], 0.9), (ids["b2"], 0.2), (ids["b3"], 0.5),
                                    (ids["alone"], 0.4)])
    catalog.replace_auto_groups(list(ids.values()), [(kind, [ids[n] for n in names[:4]]), ("single", [ids["alone"]])])
    session = CullingSession(catalog)
    session.open(FOLDER)
    regrank(session)
    return session, ids


def regrank(session: CullingSession) -> None:
    session.view.set_groups(GroupIndex(ranked_groups(session.catalog, session.view.all_photos())))


def stored(catalog: Catalog, field: str) -> dict[str, object]:
    return {p.path.rsplit("/", 1)[1][:-4]: getattr(p, field) for p in catalog.photos("default", folder=FOLDER)}


def test_what_a_key_acts_on_depends_on_the_view(catalog):
    session, ids = shoot(catalog)
    session.cursor, session.selected = ids["b0"], (ids["b2"], ids["alone"])
    session.loupe_photo, session.compared, session.compare_active = ids["b3"], (ids["b1"], ids["b3"]), ids["b1"]
    session.map_current = ids["alone"]

    def targets() -> list[int]:
        return [p.id for p in session.targets()]

    session.mode = ViewMode.GRID
    assert targets() == [ids["b2"], ids["alone"]]  # the selection, in the grid's order
    assert session.current().id == ids["b0"]  # the cursor
    session.mode = ViewMode.LOUPE
    assert targets() == [ids["b3"]]  # the photo shown large, whatever the grid has selected
    session.mode = ViewMode.COMPARE
    assert targets() == [ids["b1"]]  # the active pane
    session.mode = ViewMode.MAP
    assert targets() == [ids["b2"], ids["alone"]]  # the selection the map shares with the grid
    session.region = frozenset({ids["b3"], ids["b0"]})
    assert targets() == sorted([ids["b0"], ids["b3"]])  # a region dragged on the map: every frame in it
    session.region, session.selected = frozenset(), ()
    assert targets() == [ids["alone"]]  # nothing selected: the map's current photo
    session.mode = ViewMode.GRID
    assert targets() == [ids["b0"]]  # nothing selected: the cursor
    session.cursor = None
    assert targets() == [] and session.decide(Decision.KEEP).edit is None


def test_b_keeps_the_best_rejects_the_rest_in_one_step_and_undo_takes_it_back(catalog):
    session, ids = shoot(catalog)
    session.cursor = ids["b1"]  # the folded stack: its best on top
    changes = session.keep_best()
    assert stored(catalog, "decision") == {"b0": "reject", "b1": "keep", "b2": "reject", "b3": "reject",
                                           "alone": None}
    assert changes.edit.label == "Keep best of burst, reject 3" and changes.group_id == catalog.photos(
        "default", paths=[f"{FOLDER}/b1.jpg"])[0].group_id
    assert changes.message == "Kept b1.jpg, rejected 3 other frames of the burst · Ctrl+Z undoes"
    assert {p.id: p.decision for p in changes.photos} == {ids["b1"]: "keep", ids["b0"]: "reject",
                                                          ids["b2"]: "reject", ids["b3"]: "reject"}
    assert session.view.get(ids["b0"]).decision == "reject"  # the view holds what the catalog holds
    again = session.keep_best()
    assert again.edit is None and again.message.endswith("(nothing changed: they were already so)")
    undone = session.undo()
    assert undone.message == "Undone: Keep best of burst, reject 3 on 4 photos"
    assert set(stored(catalog, "decision").values()) == {None}
    assert all(p.decision is None for p in session.view.all_photos())


def test_b_keeps_the_frame_chosen_where_there_is_a_choice(catalog):
    session, ids = shoot(catalog)
    group = session.view.groups.group_of(ids["b1"]).id
    session.cursor = ids["b3"]  # the cursor on a frame of a folded stack cannot be; B keeps the best
    session.keep_best()
    assert stored(catalog, "decision")["b1"] == "keep"
    session.undo()
    session.view.toggle_expanded(group)  # expanded: the cursor's frame is the one kept
    session.keep_best()
    assert stored(catalog, "decision") == {"b0": "reject", "b1": "reject", "b2": "reject", "b3": "keep",
                                           "alone": None}
    session.undo()
    session.view.toggle_expanded(group)
    session.mode, session.loupe_photo = ViewMode.LOUPE, ids["b2"]  # the loupe's photo, even folded
    session.keep_best()
    assert stored(catalog, "decision")["b2"] == "keep"
    session.undo()
    session.mode, session.compared, session.compare_active = ViewMode.COMPARE, (ids["b0"], ids["b3"]), ids["b0"]
    session.keep_best()  # compare: the active pane
    assert stored(catalog, "decision")["b0"] == "keep"
    session.mode, session.cursor = ViewMode.GRID, ids["alone"]
    assert session.keep_best().refused == NO_GROUP


def test_b_only_picks_in_a_bracket_or_a_panorama(catalog):
    session, ids = shoot(catalog, "bracket")
    session.cursor = ids["b1"]
    changes = session.keep_best()
    assert stored(catalog, "decision") == {"b0": None, "b1": "keep", "b2": None, "b3": None, "alone": None}
    assert changes.edit.label == "Keep best of bracket" and "never auto-rejected" in changes.message


def test_split_takes_some_frames_never_all_and_merge_joins_two_or_more(catalog):
    session, ids = shoot(catalog)
    group = session.view.groups.group_of(ids["b1"]).id
    assert session.split([ids["alone"]]).refused == SPLIT_WHAT  # in no group of two or more
    assert session.split([ids[n] for n in ("b0", "b1", "b2", "b3")]).refused == SPLIT_ALL
    session.view.toggle_expanded(group)
    session.selected = (ids["b2"], ids["b3"])  # the grid's selection
    changes = session.split()
    assert changes.groups and changes.edit.label == "Split group" and changes.message.startswith(
        "Split 2 photos off the group into a group of their own")
    regrank(session)
    assert sorted(sorted(m.photo.id for m in g.members) for g in session.view.groups.stacks()) == sorted(
        [sorted([ids["b0"], ids["b1"]]), sorted([ids["b2"], ids["b3"]])])
    assert all(g.manual for g in catalog.groups([ids["b2"]]))  # the user's from now on: grouping leaves it

    session.selected = (ids["b0"],)
    assert session.merge().refused == MERGE_WHAT
    session.view.set_stacked(True)
    session.view.expanded.clear()
    session.view.refresh()  # two folded stacks: merging their tops brings both whole groups
    session.selected = (ids["b1"], ids["b3"])
    merged = session.merge()
    assert merged.groups and merged.edit.label == "Merge groups"
    regrank(session)
    assert [len(g.members) for g in session.view.groups.stacks()] == [4]
    assert session.undo().edit.label == "Merge groups"
    regrank(session)
    assert sorted(len(g.members) for g in session.view.groups.stacks()) == [2, 2]
    session.mode, session.compared = ViewMode.COMPARE, (ids["b3"], ids["alone"])  # elsewhere: the compare's
    session.merge()
    regrank(session)
    assert sorted(len(g.members) for g in session.view.groups.stacks()) == [2, 3]


def test_a_bulk_rating_says_how_many_it_changed_and_undoes_to_each_photos_own(catalog):
    session, ids = shoot(catalog)
    session.rate(4, [ids["b0"]])
    session.selected = tuple(ids.values())
    changes = session.rate(1)
    assert changes.message == "1 star on 5 photos (5 changed) · Ctrl+Z undoes"
    assert set(stored(catalog, "rating").values()) == {1}
    assert session.next_undo().description == "1 star on 5 photos"
    session.undo()
    assert stored(catalog, "rating") == {"b0": 4, "b1": 0, "b2": 0, "b3": 0, "alone": 0}
    assert session.view.get(ids["b0"]).rating == 4
    assert session.redo().message == "Redone: 1 star on 5 photos"
    with pytest.raises(ValueError):
        session.rate(9, [ids["b0"]])  # checked before anything is written
    assert stored(catalog, "rating")["b0"] == 1
    crop = session.crop((1.0, 2.0, 30.0, 40.0), [ids["b2"]])
    assert crop.edit.label == "Crop" and crop.photos[0].crop == (1.0, 2.0, 30.0, 40.0)
    assert session.undo().photos[0].crop is None


def test_what_was_decided_elsewhere_is_taken_in_outside_the_undo_history(catalog):
    session, ids = shoot(catalog)
    assert session.adopt([(ids["b0"], "rating", 3), (ids["b1"], "decision", "reject")]) == (ids["b0"], ids["b1"])
    assert stored(catalog, "rating")["b0"] == 3 and stored(catalog, "decision")["b1"] == "reject"
    assert session.next_undo() is None
    session.adopt([(ids["b2"], "crop", (0, 0, 10, 10)), (ids["b2"], "decision", "keep")])
    session.hand_over(ids["b2"], ids["b3"])  # the raw's row takes the JPEG's decisions where it has none
    assert stored(catalog, "decision")["b3"] == "keep" and stored(catalog, "crop")["b3"] == (0, 0, 10, 10)
    assert session.next_undo() is None


def test_the_cursor_and_selection_follow_their_photos_when_the_rows_are_rebuilt(catalog):
    session, ids = shoot(catalog)
    view = session.view
    view.set_stacked(False)
    view.set_view(sort="name")  # alone, b0, b1, b2, b3
    assert [p.id for p in view.photos()] == [ids[n] for n in ("alone", "b0", "b1", "b2", "b3")]
    view.set_view(sort="score")  # b1 0.9, b0 0.7, b3 0.5, alone 0.4, b2 0.2
    assert session.kept_rows(ids["b3"], (ids["b3"], ids["alone"])) == (2, [2, 3])  # where they went
    view.set_stacked(True)  # folded: b0 and b3 are under b1's stack, the cursor goes onto it
    assert session.kept_rows(ids["b3"], (ids["b3"],)) == (0, [0])
    view.set_view(photo_filter=PhotoFilter(decision="picks"))  # nothing shown
    assert session.kept_rows(ids["b3"], (ids["b3"],)) is None
    view.set_view(photo_filter=PhotoFilter())
    session.decide(Decision.REJECT, [ids["alone"]])
    view.set_view(photo_filter=PhotoFilter(decision="rejects"))  # the cursor's photo hidden: onto the first row
    assert session.kept_rows(ids["b3"], (ids["b3"],)) == (0, [0]) and view.photo(0).id == ids["alone"]


class Notices:
    """What a view of the rows is told (the grid model's part), counted."""

    def __init__(self) -> None:
        self.resets = self.rows = self.all_rows = 0

    def rows_about_to_change(self) -> None:
        self.resets += 1

    def rows_changed(self) -> None:
        pass

    def row_changed(self, row: int) -> None:
        self.rows += 1

    def all_rows_changed(self) -> None:
        self.all_rows += 1


def test_a_bulk_edit_and_its_undo_are_one_notice_and_the_undo_shows_what_it_wrote(catalog, monkeypatch):
    """Issue 31's 50,000-photo fast path in the session: stars on everything repaint once (one notice per row froze
    the window at 16,700), and their undo shows the values it wrote back without reading the photos again."""
    session, ids = shoot(catalog)
    session.view.set_stacked(False)  # every frame a row
    notices = Notices()
    session.view.observers.append(notices)
    session.selected = tuple(p.id for p in session.view.photos())
    changes = session.rate(3)
    assert len(changes.photos) == 5 and changes.edit is not None
    assert (notices.all_rows, notices.rows, notices.resets) == (1, 0, 0)
    assert session.view.counts() == (5, 0, 0, 0)
    session.decide(Decision.KEEP, [ids["b0"], ids["b1"]])
    assert session.view.counts() == (5, 2, 0, 0)  # counted again after the edit

    def no_reading(*_args, **_kwargs):
        raise AssertionError("the undo of a flag read the catalog")

    monkeypatch.setattr(catalog, "photos", no_reading)
    undone = session.undo()
    assert {p.id for p in undone.photos} == {ids["b0"], ids["b1"]}
    assert session.view.counts() == (5, 0, 0, 0)
    undone = session.undo()
    assert {p.rating for p in undone.photos} == {0} and len(undone.photos) == 5
    assert {p.rating for p in session.view.all_photos()} == {0}
    assert (notices.all_rows, notices.rows, notices.resets) == (4, 0, 0)
    monkeypatch.undo()
    assert set(stored(catalog, "rating").values()) == {0} and set(stored(catalog, "decision").values()) == {None}
