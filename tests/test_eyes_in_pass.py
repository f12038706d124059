"""Eyes and focus in the scoring pass (issue 14): each face's eyes and sharpness from the pass's own decode,
stored per face, in the JSON contract, and measured again for photos scored before they existed."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import catalog_at_version
from PIL import Image, ImageFilter

from selfie_desk.core import paths
from selfie_desk.core.formats.indexing import fingerprint
from selfie_desk.core.measures import reasons
from selfie_desk.core.measures.embedding import EMBEDDING_ID, FEATURE_DIM
from selfie_desk.core.storage.catalog import MIGRATIONS, Catalog, FaceBox, Result
from selfie_desk.neural import pipeline

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def test_closed_eyes_is_a_reason_only_where_a_face_has_them():
    good = {"sharpness": 0.9, "noise": 0.9, "dark": 0.9, "bright": 0.9, "compression": 0.9, "framing": 0.9}
    mid = np.zeros(20, np.float32)
    mid[5] = reasons.MID_GREY  # lum_p50: well exposed
    face = [(400.0, 300.0, 700.0, 650.0)]
    assert reasons.explain(good, face, 1200, 1000, mid, True, ["open"]) == []
    assert reasons.explain(good, face, 1200, 1000, mid, True, ["unknown"]) == []
    assert reasons.explain(good, face * 2, 1200, 1000, mid, True, ["open", "closed"]) == [reasons.CLOSED_EYES]
    assert reasons.family_of(reasons.CLOSED_EYES) == "closed eyes"


def test_faces_keep_their_eyes_and_sharpness_and_old_faces_read_as_not_measured(tmp_path):
    with Catalog(tmp_path / "c.db") as cat:
        a, b = cat.add_file("/p/a.jpg", 1, 1, "fa"), cat.add_file("/p/b.jpg", 1, 1, "fb")
        box = (1.0, 2.0, 30.0, 40.0)
        cat.record([Result(a, 100, 100, score=0.5, faces=[(box, 0.9, ()), (box, 0.95, ())],
                           face_checks=[("closed", 0.25), ("open", None)], face_identities=[None, None]),
                    Result(b, 100, 100, score=0.5, faces=[(box, 0.9, ())])], "default")
        by = {p.path: p for p in cat.photos("default", folder="/p")}
        assert by["/p/a.jpg"].faces == [FaceBox(box, 0.95, "open", None), FaceBox(box, 0.9, "closed", 0.25)]
        assert by["/p/a.jpg"].faces[1].to_json() == {"box": [1.0, 2.0, 30.0, 40.0], "confidence": 0.9,
                                                     "eyes": "closed", "sharpness": 0.25}
        assert by["/p/b.jpg"].faces == [FaceBox(box, 0.9, "unknown", None)]  # not measured
        assert cat.unmeasured_faces([a, b]) == {b}
        assert cat.is_scored(a, "default") and not cat.is_scored(b, "default")


def test_portraits_get_open_eyes_and_a_blurred_copy_a_softer_face(scorer):
    sharp = Image.open(DEMO / "astronaut.png").convert("RGB")
    blurred = sharp.filter(ImageFilter.GaussianBlur(2))
    out = scorer.score_images([sharp, blurred, Image.open(DEMO / "coffee.png")])
    assert [len(s.faces) for s in out] == [1, 1, 0] and [len(s.checks) for s in out] == [1, 1, 0]
    (a,), (b,) = out[0].checks, out[1].checks
    assert a.eyes == "open" and a.sharpness is not None and 0.0 <= a.sharpness <= 1.0
    assert b.sharpness is not None and b.sharpness < a.sharpness - 0.1


def test_the_pass_batches_faces_of_several_photos_as_one(scorer):
    """The batch's faces go through the eye networks together: the same figures as one photo at a time."""
    sharp = Image.open(DEMO / "astronaut.png").convert("RGB")
    alone = scorer.score_images([sharp])[0].checks
    together = scorer.score_images([sharp, sharp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    assert together[0].checks[0].eyes == alone[0].eyes == "open"
    assert abs(together[0].checks[0].sharpness - alone[0].sharpness) < 1e-6
    assert together[1].checks[0].eyes == "open"


def schema4_catalog(folder: Path, scorer) -> None:
    """A catalog as the version before eyes left it: a portrait scored with a face, a photo without faces,
    both scored by today's head and embedding layout, the user's stars on both."""
    db = catalog_at_version(paths.catalog_path(), 4)
    for pid, name in ((1, "astronaut.png"), (2, "coffee.png")):
        f = folder / name
        st = f.stat()
        db.execute("INSERT INTO photos (id, path, size, mtime_ns, fingerprint, width, height, rating, embedding, "
                   "embedding_model, embedding_id, indexed_at) VALUES (?, ?, ?, ?, ?, 512, 512, 3, ?, 'default', ?, 0)",
                   (pid, str(f), st.st_size, st.st_mtime_ns, fingerprint(str(f), st.st_size),
                    np.zeros(FEATURE_DIM, np.float16).tobytes(), EMBEDDING_ID))
        db.execute("INSERT INTO scores (photo_id, model, score, scored_at, head) VALUES (?, 'default', 0.5, 0, ?)",
                   (pid, scorer.info.id))
    db.execute("INSERT INTO faces (photo_id, x0, y0, x1, y1, confidence, landmarks) "
               "VALUES (1, 135, 45, 203, 131, 0.99, '[]')")
    db.commit()
    db.close()


def test_a_catalog_before_eyes_migrates_and_measures_its_faces_on_the_next_scan(app_home, tmp_path, scorer):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("astronaut.png", "coffee.png"):
        shutil.copy(DEMO / name, folder / name)
    schema4_catalog(folder, scorer)
    with Catalog(paths.catalog_path()) as cat:
        assert cat.schema_version == len(MIGRATIONS)
        before = {Path(p.path).name: p for p in cat.photos("default", folder=str(folder))}
        assert before["astronaut.png"].faces[0].eyes == "unknown" and before["astronaut.png"].faces[0].sharpness is None
        states = cat.file_states("default", folder=str(folder), head=scorer.info.id)
        assert not states[str(folder / "astronaut.png")].scored  # a face never measured
        # no face: nothing to measure, but read again all the same for its signature (catalog 8,
        # core/measures/registration.py)
        assert not states[str(folder / "coffee.png")].scored and cat.unsigned([2]) == {2}
        summary = pipeline.score([folder], cat, scorer)
        assert summary.scored == 2 and summary.index.unchanged == 0
        after = {Path(p.path).name: p for p in cat.photos("default", folder=str(folder))}
        face = after["astronaut.png"].faces[0]
        assert face.eyes == "open" and face.sharpness is not None and face.sharpness > 0.5
        assert after["astronaut.png"].rating == 3 and after["coffee.png"].rating == 3  # the user's stars kept
        assert cat.unsigned([1, 2]) == set() and set(cat.signatures([1, 2])) == {1, 2}
        again = pipeline.score([folder], cat, scorer)
        assert again.index.unchanged == 2 and again.scored == 0


def test_a_face_too_small_for_eyes_skips_the_network(scorer, monkeypatch):
    """A face whose eyes would be a few pixels wide is unknown without the eye network (group shots)."""
    sharp = Image.open(DEMO / "astronaut.png").convert("RGB")
    small = sharp.resize((sharp.width // 4, sharp.height // 4), Image.Resampling.BOX)
    calls = []
    real = scorer.eyes.landmarks_of_photos

    def counted(images, faces, **kw):
        calls.append(len(images))
        return real(images, faces, **kw)

    monkeypatch.setattr(scorer.eyes, "landmarks_of_photos", counted)
    big, tiny = scorer.score_images([sharp, small])
    assert len(tiny.faces) == 1 and tiny.checks[0].eyes == "unknown"
    assert big.checks[0].eyes == "open" and calls == [1]  # only the big face went through the network


def test_the_pass_runs_the_eyes_beside_the_next_batch_with_the_same_figures(app_home, tmp_path, scorer,
                                                                            monkeypatch):
    """Asked to, the pass measures a batch's eyes on their own thread while it scores the next batch; what it
    stores is what scoring the photos in one call gives."""
    import threading

    folder = tmp_path / "shoot"
    folder.mkdir()
    sharp = Image.open(DEMO / "astronaut.png").convert("RGB")
    flipped = sharp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    photos = [sharp, flipped, sharp.filter(ImageFilter.GaussianBlur(2))] * 2
    for i, im in enumerate(photos):
        im.save(folder / f"p{i}.png")
    threads = []
    real = scorer.check_faces

    def recorded(*args):
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(scorer, "check_faces", recorded)
    with Catalog(paths.catalog_path()) as cat:
        summary = pipeline.score([folder], cat, scorer, batch_size=1, workers=1, eyes_beside=True)
        stored = {Path(p.path).name: p.faces for p in cat.photos(scorer.model_name, folder=str(folder))}
    assert summary.scored == 6 and len(threads) == 6
    # beside the next batch while photos are being decoded; the last batch (nothing left to decode) here
    assert threads[0].startswith("eyes") and threads[-1] == threading.current_thread().name
    expected = [s.checks for s in scorer.score_images(photos)]
    for i, checks in enumerate(expected):
        (face,) = stored[f"p{i}.png"]
        assert face.eyes == checks[0].eyes.value
        assert face.sharpness == pytest.approx(checks[0].sharpness, abs=1e-3)
    assert stored["p0.png"][0].eyes == "open" and stored["p2.png"][0].sharpness < stored["p0.png"][0].sharpness
