"""The catalog: schema, incremental re-indexing, renames, deletions, decisions, kill-and-resume."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import catalog_at_version, photo, save_jpeg

from selfie_desk.core import paths
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats.indexing import index
from selfie_desk.core.measures.embedding import FEATURE_DIM
from selfie_desk.core.storage.catalog import SCHEMA_VERSION, Catalog
from selfie_desk.neural import pipeline


@pytest.fixture
def catalog(app_home):
    with Catalog(paths.catalog_path()) as cat:
        yield cat


def folder_of(tmp_path: Path, n: int, name="shoot") -> Path:
    folder = tmp_path / name
    for i in range(n):
        save_jpeg(folder / f"img_{i:03d}.jpg", photo((320, 240), seed=i))
    return folder


def test_schema_is_versioned_and_refuses_a_newer_one(app_home):
    path = paths.catalog_path()
    with Catalog(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION >= 1
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer Selfie Desk"):
        Catalog(path)


def test_two_openers_of_an_older_catalog_migrate_it_once(tmp_path, monkeypatch):
    """A `score` and a window (or two windows started at once) both find an older catalog: the one that waited for
    the write lock finds the work done, instead of running the migration again ("table already exists")."""
    import threading

    path = tmp_path / "catalog.sqlite3"
    db = catalog_at_version(path, SCHEMA_VERSION - 1)
    db.execute("INSERT INTO photos (path, size, mtime_ns, fingerprint, indexed_at) VALUES ('/p/a.jpg', 1, 1, 'f', 0)")
    db.commit()
    db.close()
    read_version, go_on = threading.Event(), threading.Event()
    transaction = Catalog.transaction

    def late_transaction(self):  # the first opener has read the old version, then waits before its first write
        if threading.current_thread().name == "first" and not go_on.is_set():
            read_version.set()
            assert go_on.wait(30)
        return transaction(self)

    monkeypatch.setattr(Catalog, "transaction", late_transaction)
    outcome = []

    def first():
        try:
            with Catalog(path) as cat:
                outcome.append(cat.schema_version)
        except Exception as exc:  # noqa: BLE001 (the assertion below says what it was)
            outcome.append(exc)

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert read_version.wait(30)
    with Catalog(path) as second:  # meanwhile a second opener migrates it
        assert second.schema_version == SCHEMA_VERSION
    go_on.set()
    thread.join(30)
    assert outcome == [SCHEMA_VERSION]
    with Catalog(path) as cat:
        assert cat._db.execute("SELECT path FROM photos").fetchall() == [("/p/a.jpg",)]


def test_proposals_from_before_search_versions_migrate_and_count_as_stale(app_home):
    from selfie_desk.core.storage.catalog import CropProposal

    path = paths.catalog_path()
    db = catalog_at_version(path, 2)  # a catalog as schema 2 left it, with one proposal
    db.execute("INSERT INTO photos (id, path, size, mtime_ns, fingerprint, indexed_at) "
               "VALUES (1, '/p/a.jpg', 1, 0, 'f', 0)")
    db.execute("INSERT INTO crop_proposals VALUES (1, 'default', 'original', 1, 2, 3, 4, 0.8, 0.5, '[]', 0)")
    db.commit()
    db.close()
    with Catalog(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION >= 3
        old = cat.crop_proposal(1, "default", "original")
        assert old is not None and old.search == "" and old.crop == (1, 2, 3, 4)  # still a valid crop (export)
        assert cat.crop_proposal(1, "default", "original", search="v2") is None  # but not this search's
        cat.save_crop_proposal(1, "default", CropProposal("original", (5, 6, 7, 8), 0.9, [], 0.5, search="v2"))
        assert cat.crop_proposal(1, "default", "original", search="v2").crop == (5, 6, 7, 8)


def test_catalog_survives_reopen(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 3)
    pipeline.score([folder], catalog, scorer)
    catalog.close()
    with Catalog(paths.catalog_path()) as again:
        photos = again.photos(scorer.model_name, folder=str(folder))
        assert len(photos) == 3 and all(p.score is not None and p.width == 320 for p in photos)
        assert again.embeddings([photos[0].id])[photos[0].id][0].shape == (FEATURE_DIM,)


def test_rescan_reads_only_new_or_changed_files(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 4)
    first = pipeline.score([folder], catalog, scorer)
    assert (first.scored, first.index.new) == (4, 4)

    again = pipeline.score([folder], catalog, scorer)
    assert again.scored == 0 and again.index.unchanged == 4

    save_jpeg(folder / "img_000.jpg", photo((320, 240), seed=99))  # edited
    save_jpeg(folder / "new.jpg", photo((200, 100), seed=5))
    third = pipeline.score([folder], catalog, scorer)
    assert (third.scored, third.index.changed, third.index.new, third.index.unchanged) == (2, 1, 1, 3)


def test_deleted_files_drop_out(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 3)
    pipeline.score([folder], catalog, scorer)
    (folder / "img_001.jpg").unlink()
    summary = pipeline.score([folder], catalog, scorer)
    assert summary.index.removed == 1
    assert [Path(p.path).name for p in catalog.photos(scorer.model_name, folder=str(folder))] == [
        "img_000.jpg", "img_002.jpg"]


def test_renamed_and_moved_files_keep_scores_and_decisions(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 3)
    pipeline.score([folder], catalog, scorer)
    before = {Path(p.path).name: p for p in catalog.photos(scorer.model_name, folder=str(folder))}
    CullingSession(catalog).adopt([(before["img_000.jpg"].id, "decision", "keep")])
    CullingSession(catalog).adopt([(before["img_000.jpg"].id, "rating", 4)])
    CullingSession(catalog).adopt([(before["img_002.jpg"].id, "decision", "reject")])

    os.rename(folder / "img_000.jpg", folder / "renamed.jpg")
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.move(folder / "img_002.jpg", other / "moved.jpg")

    summary = pipeline.score([folder, other], catalog, scorer)
    assert summary.scored == 0 and summary.index.moved == 2 and summary.index.removed == 0
    renamed = catalog.photos(scorer.model_name, paths=[str(folder / "renamed.jpg")])[0]
    moved = catalog.photos(scorer.model_name, paths=[str(other / "moved.jpg")])[0]
    assert (renamed.id, renamed.decision, renamed.rating, renamed.score) == (
        before["img_000.jpg"].id, "keep", 4, before["img_000.jpg"].score)
    assert (moved.id, moved.decision) == (before["img_002.jpg"].id, "reject")


def test_bad_files_are_recorded_and_the_scan_goes_on(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 2)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not a picture")
    summary = pipeline.score([folder], catalog, scorer)
    assert (summary.scored, summary.failed) == (2, 2)
    errors = {Path(p.path).name: p.error for p in catalog.photos(scorer.model_name, folder=str(folder))}
    assert errors["empty.jpg"] == "empty file (0 bytes)"
    assert "not an image" in errors["notes.png"]
    assert errors["img_000.jpg"] is None


def test_file_deleted_between_indexing_and_decoding(tmp_path, catalog, scorer, monkeypatch):
    folder = folder_of(tmp_path, 3)

    def index_then_delete(*args, **kwargs):
        report = index(*args, **kwargs)
        (folder / "img_001.jpg").unlink()
        return report

    monkeypatch.setattr(pipeline, "index", index_then_delete)
    summary = pipeline.score([folder], catalog, scorer)
    assert (summary.scored, summary.failed) == (2, 1)
    gone = catalog.photos(scorer.model_name, paths=[str(folder / "img_001.jpg")])[0]
    assert "disappeared" in gone.error


def test_the_last_batches_get_every_core_once_decoding_is_done(tmp_path, catalog, scorer, monkeypatch):
    import torch

    folder = folder_of(tmp_path, 10)
    decoded, threads_per_batch = [], []
    real_prepare, real_start = pipeline.prepare, pipeline._start

    def prepare(*args):
        out = real_prepare(*args)
        decoded.append(out)
        return out

    def start(batch, scorer, eyes):
        threads_per_batch.append((len(decoded), torch.get_num_threads()))
        return real_start(batch, scorer, eyes)

    monkeypatch.setattr(pipeline, "prepare", prepare)
    monkeypatch.setattr(pipeline, "_start", start)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # half: 2 threads while decoding, 4 after
    before = torch.get_num_threads()
    summary = pipeline.score([folder], catalog, scorer, batch_size=2, workers=1)
    assert summary.scored == 10 and torch.get_num_threads() == before  # restored afterwards
    assert threads_per_batch[0][1] == 2  # decoding still going: half the cores
    assert threads_per_batch[-1] == (10, 4)  # all decoded: every core
    assert all(n == 10 for n, t in threads_per_batch if t == 4)  # never all cores while decoding


def test_cancel_keeps_finished_batches(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 12)
    import threading

    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done >= 4:
            cancel.set()

    summary = pipeline.score([folder], catalog, scorer, progress=progress, cancel=cancel, batch_size=4, workers=1)
    assert summary.cancelled and summary.scored == 4
    scored = [p for p in catalog.photos(scorer.model_name, folder=str(folder)) if p.score is not None]
    assert len(scored) == 4
    rest = pipeline.score([folder], catalog, scorer)
    assert rest.scored == 8 and not rest.cancelled


@pytest.mark.slow
def test_killed_process_loses_nothing_and_resumes(tmp_path, app_home):
    folder = folder_of(tmp_path, 60)
    cmd = [sys.executable, "-m", "selfie_desk", "score", str(folder), "--json", "--batch-size", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = paths.catalog_path()
    deadline = time.time() + 120
    committed = 0
    while time.time() < deadline and proc.poll() is None:
        if db_path.exists():
            try:
                db = sqlite3.connect(db_path)
                committed = db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
                db.close()
            except sqlite3.OperationalError:
                committed = 0
            if committed >= 8:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 8 <= committed < 60, "the scan should have been killed part-way"

    with Catalog(db_path) as cat:
        survived = [p for p in cat.photos("default", folder=str(folder)) if p.score is not None]
    assert len(survived) >= committed
    from selfie_desk.neural.model import Scorer

    with Catalog(db_path) as cat:
        summary = pipeline.score([folder], cat, Scorer(device="cpu"))
        assert summary.scored == 60 - len(survived)
        assert all(p.score is not None for p in cat.photos("default", folder=str(folder)))


def test_photo_moved_to_a_folder_scanned_later_keeps_its_decision(tmp_path, catalog, scorer):
    folder = folder_of(tmp_path, 2)
    pipeline.score([folder], catalog, scorer)
    first = catalog.photos(scorer.model_name, folder=str(folder))[0]
    CullingSession(catalog).adopt([(first.id, "decision", "keep")])
    later = tmp_path / "later"
    later.mkdir()
    shutil.move(first.path, later / "kept.jpg")

    gone = pipeline.score([folder], catalog, scorer)  # the old folder first: the photo drops out of it
    assert gone.index.removed == 1
    assert len(catalog.photos(scorer.model_name, folder=str(folder))) == 1

    found = pipeline.score([later], catalog, scorer)  # ...and turns up here with its decision
    assert (found.index.moved, found.scored) == (1, 0)
    kept = catalog.photos(scorer.model_name, folder=str(later))[0]
    assert (kept.id, kept.decision, kept.score) == (first.id, "keep", first.score)


def test_the_accepted_crops_score_counts_only_for_that_crop_and_is_not_a_proposal(catalog):
    from selfie_desk.core.storage.catalog import ACCEPTED_CROP, CropProposal

    pid = catalog.add_file("/shoot/a.jpg", 1, 0, "fa")
    catalog.save_crop_proposal(pid, "default", CropProposal("original", (0, 0, 50, 50), 0.9, [], 0.5))
    catalog.save_crop_proposal(pid, "default", CropProposal(ACCEPTED_CROP, (10, 10, 60, 60), 0.6, [], 0.5))
    (p,) = catalog.photos("default", folder="/shoot")
    assert p.crop is None and p.crop_score is None and p.best_crop_score == 0.9
    CullingSession(catalog).adopt([(pid, "crop", (10, 10, 60, 60))])
    (p,) = catalog.photos("default", folder="/shoot")
    assert p.crop_score == 0.6 and p.best_crop_score == 0.9  # the proposals' best stays the proposals'
    # another crop (an undo, a sidecar): its score is not known
    CullingSession(catalog).adopt([(pid, "crop", (0, 0, 40, 40))])
    (p,) = catalog.photos("default", folder="/shoot")
    assert p.crop_score is None
    assert catalog.photos("other", folder="/shoot")[0].crop_score is None  # per model


def test_a_schema_10_catalog_moves_its_blobs_to_photo_features_without_losing_a_value(app_home):
    """Schema 11 takes the embedding and signature out of `photos` (a bulk edit rewrote their ~7 KB per photo):
    a catalog as schema 10 left it, with every kind of row, keeps every value of every table, and deleting a photo
    or changing its content drops its features with it."""
    import numpy as np


    moved = ("embedding", "embedding_model", "embedding_id", "signature", "signature_width")
    path = paths.catalog_path()
    db = catalog_at_version(path, 10)
    rng = np.random.default_rng(3)
    vec = {i: rng.normal(0, 1, FEATURE_DIM).astype(np.float16).tobytes() for i in range(1, 6)}
    sig = {i: rng.integers(0, 255, (48, 64), dtype=np.uint8).tobytes() for i in range(1, 6)}
    rows = [  # (id, embedding, model, layout, signature, width, error, decision, rating, crop)
        (1, vec[1], "default", "layout-a", sig[1], 64, None, "keep", 5, "[1, 2, 30, 40]"),
        (2, vec[2], "default", "layout-a", None, None, None, "reject", 0, None),  # scored before signatures
        (3, None, None, None, None, None, "cannot read", None, 2, None),  # unreadable: nothing to move
        (4, vec[4], "default", None, sig[4], 64, None, None, 3, None),  # an embedding from before layouts
        (5, None, "default", None, None, None, None, None, 0, None),  # a model's name alone is kept too
        (6, None, None, None, None, None, None, None, 0, None),  # indexed, never scored
    ]
    for pid, emb, model, layout, signature, width, error, decision, rating, crop in rows:
        db.execute("INSERT INTO photos (id, path, size, mtime_ns, fingerprint, width, height, captured_at, error, "
                   "decision, rating, crop, embedding, embedding_model, indexed_at, missing_since, embedding_id, look, "
                   "exposure_bias, pair, signature, signature_width, inode, ctime_ns) VALUES (?, ?, ?, ?, ?, 4000, "
                   "3000, '2026:01:02 03:04:05', ?, ?, ?, ?, ?, ?, 12.5, NULL, ?, ?, -0.7, NULL, ?, ?, ?, ?)",
                   (pid, f"/shoot/img_{pid}.jpg", 1000 + pid, 7 * pid, f"fp{pid}", error, decision, rating, crop,
                    emb, model, layout, '{"aspects": {"sharpness": 0.5}, "reasons": []}', signature, width,
                    100 + pid, 200 + pid))
        if error is None and emb is not None:
            db.execute("INSERT INTO scores (photo_id, model, score, scored_at, head) VALUES (?, 'default', ?, 1, 'h')",
                       (pid, pid / 10))
    db.execute("INSERT INTO faces (photo_id, x0, y0, x1, y1, confidence, landmarks, eyes, sharpness, identity) "
               "VALUES (1, 1, 2, 3, 4, 0.9, '[]', 'open', 0.5, ?)", (np.ones(128, np.float16).tobytes(),))
    db.execute("INSERT INTO crop_proposals VALUES (1, 'default', 'original', 1, 2, 3, 4, 0.8, 0.5, '[]', 0, 'v')")
    db.execute("INSERT INTO photo_groups (id, kind, manual, made_at) VALUES (9, 'burst', 1, 0)")
    db.executemany("INSERT INTO group_members (photo_id, group_id) VALUES (?, 9)", [(1,), (2,)])
    db.commit()

    def table(name: str) -> list[dict]:
        cur = db.execute(f"SELECT * FROM {name} ORDER BY rowid")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    before = {name: table(name) for name in ("photos", "scores", "faces", "crop_proposals", "photo_groups",
                                             "group_members", "grouping_stamp")}
    db.close()

    with Catalog(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION >= 11
        layouts = cat.embedding_layouts([1, 2, 3, 4, 5, 6])
        embeddings = cat.embeddings([1, 2, 3, 4, 5, 6], stored=True)
        signatures = cat.signatures([1, 2, 3, 4, 5, 6])
        unsigned = cat.unsigned([1, 2, 3, 4, 5, 6])
        labelled = {r[0]: r[4] for r in cat.labelled_photos()}
        scored = {pid: cat.is_scored(pid, "default", "h") for pid in range(1, 7)}
    assert layouts == {1: "layout-a", 2: "layout-a", 4: None}
    assert {pid: (e.tobytes(), lay) for pid, (e, lay) in embeddings.items()} == {
        1: (vec[1], "layout-a"), 2: (vec[2], "layout-a"), 4: (vec[4], None)}
    assert {pid: s.tobytes() for pid, s in signatures.items()} == {1: sig[1], 4: sig[4]}
    assert all(s.shape == (48, 64) for s in signatures.values())
    assert unsigned == {2} and scored == {1: True, 2: False, 3: False, 4: True, 5: False, 6: False}
    assert labelled == {1: True, 2: True, 3: False, 4: True}

    db = sqlite3.connect(path)
    after = {name: table(name) for name in before}
    kept = [{k: v for k, v in r.items() if k not in moved} for r in before["photos"]]
    assert after.pop("photos") == kept  # every other column of every photo, as it was
    assert after == {k: v for k, v in before.items() if k != "photos"}  # every other table, as it was
    features = table("photo_features")
    assert features == [{"photo_id": r["id"], **{k: r[k] for k in moved}} for r in before["photos"]
                        if any(r[k] is not None for k in moved)]
    assert not {c[1] for c in db.execute("PRAGMA table_info(photos)")} & set(moved)
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # the old table's pages given back (VACUUM)
    db.close()

    with Catalog(path) as cat:  # a photo forgotten takes its features along; new content drops them
        cat.forget([4])
        cat.file_changed(1, 1, 1, "new", content_changed=True)
        assert cat.embeddings([1, 2, 4]).keys() == {2} and cat.signatures([1, 2, 4]) == {}
        left = [r[0] for r in cat._db.execute("SELECT photo_id FROM photo_features ORDER BY photo_id")]
        assert left == [2, 5]


def test_opening_a_folder_parses_no_look_until_one_is_read(catalog, monkeypatch):
    """Issue 31: the rows of a 50,000-photo folder were read with every photo's look parsed from JSON on the window's
    thread; only the photos the user looks at (or a filter by reason) need theirs."""
    import json

    from selfie_desk.core.storage.catalog import Result

    looks = [{"aspects": {"sharpness": 0.25, "noise": 0.5}, "reasons": ["slightly soft focus"]},
             {"aspects": {"sharpness": 0.75}, "reasons": []}]
    ids = [catalog.add_file(f"/shoot/{i}.jpg", 1, 0, f"f{i}") for i in range(len(looks))]
    catalog.record([Result(pid, 40, 30, score=0.5, look=look) for pid, look in zip(ids, looks, strict=True)],
                   "default", "")
    parsed: list[str] = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text, *a, **k: parsed.append(text) or real_loads(text, *a, **k))
    session = CullingSession(catalog)
    opened = session.open("/shoot")
    assert len(opened.photos) == 2 and parsed == []  # the rows are read, no look parsed
    first, second = session.view.get(ids[0]), session.view.get(ids[1])
    assert first is not None and second is not None
    assert first.reasons == ["slightly soft focus"] and first.aspects == looks[0]["aspects"] and len(parsed) == 1
    assert second.look == looks[1] and first.look != second.look and first.to_json()["aspects"] == {
        "sharpness": 0.25, "noise": 0.5}
    again = catalog.photos("default", folder="/shoot")  # the same rows read again compare equal, unparsed
    assert again == [first, second] and len(parsed) == 2
