"""Undo and redo of decisions in the catalog (core/culling/history.py): every edit comes back, across restarts."""

import sqlite3

import pytest

from selfie_desk.core import paths
from selfie_desk.core.culling.history import EditHistory
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.storage.catalog import SCHEMA_VERSION, Catalog


def _add(cat: Catalog, n: int, folder: str = "/shoot") -> list[int]:
    return [cat.add_file(f"{folder}/img_{i:03d}.jpg", 1, 0, f"f{folder}{i}") for i in range(n)]


def _state(cat: Catalog, ids):
    photos = {p.id: p for p in cat.photos("default", folder="/shoot")}
    return [(photos[i].decision, photos[i].rating, photos[i].crop) for i in ids]


def test_a_bulk_rating_undoes_to_each_photos_own_rating_even_after_a_restart(app_home):
    with Catalog(paths.catalog_path()) as cat:
        ids = _add(cat, 5)
        CullingSession(cat).adopt([(ids[0], "rating", 4)])
        CullingSession(cat).adopt([(ids[1], "rating", 2)])
        CullingSession(cat).adopt([(ids[2], "decision", "keep")])
        EditHistory(cat, "/shoot").apply("1 star", [(i, "rating", 1) for i in ids])
        assert [s[1] for s in _state(cat, ids)] == [1] * 5
    with Catalog(paths.catalog_path()) as cat:  # a restart: the log is in the catalog
        history = EditHistory(cat, "/shoot")
        assert history.next_undo().description == "1 star on 5 photos"
        undone = history.undo()
        assert undone is not None and set(undone.photo_ids) == set(ids)
        assert [s[1] for s in _state(cat, ids)] == [4, 2, 0, 0, 0]
        assert _state(cat, ids)[2][0] == "keep"
        assert history.undo() is None  # nothing older
        assert history.redo().label == "1 star"
        assert [s[1] for s in _state(cat, ids)] == [1] * 5
        assert history.redo() is None


def test_undo_and_redo_walk_several_edits_in_order_and_a_new_edit_drops_the_redo(app_home):
    with Catalog(paths.catalog_path()) as cat:
        (a,) = _add(cat, 1)
        h = EditHistory(cat, "/shoot")
        h.apply("Pick", [(a, "decision", "keep")])
        h.apply("Crop", [(a, "crop", (1, 2, 30, 40))])
        h.apply("Reject", [(a, "decision", "reject")])
        assert _state(cat, [a]) == [("reject", 0, (1, 2, 30, 40))]
        h.undo()
        h.undo()
        assert _state(cat, [a]) == [("keep", 0, None)]
        h.redo()
        assert _state(cat, [a]) == [("keep", 0, (1, 2, 30, 40))]
        h.apply("3 stars", [(a, "rating", 3)])
        assert h.next_redo() is None  # "Reject" can no longer be redone
        h.undo()
        h.undo()
        h.undo()
        assert _state(cat, [a]) == [(None, 0, None)]
        assert h.undo() is None


def test_an_edit_that_changes_nothing_is_not_logged(app_home):
    with Catalog(paths.catalog_path()) as cat:
        ids = _add(cat, 3)
        CullingSession(cat).adopt([(ids[0], "rating", 2)])
        h = EditHistory(cat, "/shoot")
        assert h.apply("No stars", [(ids[1], "rating", 0), (ids[2], "rating", 0)]) is None
        edit = h.apply("2 stars", [(i, "rating", 2) for i in ids])
        assert edit.photo_ids == (ids[1], ids[2])  # the first had two stars already
        assert h.next_undo().description == "2 stars on 2 photos"


def test_each_folder_has_its_own_history(app_home):
    with Catalog(paths.catalog_path()) as cat:
        (a,) = _add(cat, 1, "/shoot")
        (b,) = _add(cat, 1, "/other")
        EditHistory(cat, "/shoot").apply("Pick", [(a, "decision", "keep")])
        EditHistory(cat, "/other").apply("Reject", [(b, "decision", "reject")])
        assert EditHistory(cat, "/shoot").undo().label == "Pick"
        assert cat.photos("default", folder="/other")[0].decision == "reject"  # untouched


def test_bad_values_are_refused_before_anything_is_written(app_home):
    with Catalog(paths.catalog_path()) as cat:
        ids = _add(cat, 2)
        h = EditHistory(cat, "/shoot")
        with pytest.raises(ValueError):
            h.apply("9 stars", [(ids[0], "rating", 1), (ids[1], "rating", 9)])
        assert [s[1] for s in _state(cat, ids)] == [0, 0]  # the transaction rolled back
        assert h.next_undo() is None


def test_the_undo_log_needs_no_schema_version_and_joins_an_existing_catalog(app_home):
    path = paths.catalog_path()
    with Catalog(path) as cat:
        _add(cat, 1)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE undo_log")  # a catalog written before the undo log existed
    db.commit()
    db.close()
    with Catalog(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        (pid,) = [p.id for p in cat.photos("default", folder="/shoot")]
        assert EditHistory(cat, "/shoot").apply("Pick", [(pid, "decision", "keep")]) is not None


def test_the_log_keeps_only_the_latest_edits(app_home):
    with Catalog(paths.catalog_path()) as cat:
        (a,) = _add(cat, 1)
        h = EditHistory(cat, "/shoot", limit=3)
        for n in range(1, 6):
            h.apply(f"{n} stars", [(a, "rating", n)])
        assert [h.undo().label for _ in range(3)] == ["5 stars", "4 stars", "3 stars"]
        assert h.undo() is None
        assert _state(cat, [a])[0][1] == 2
