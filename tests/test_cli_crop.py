"""The `selfie-desk crop` contract: JSON lines on stdout and nothing else, upright full-resolution pixels,
per-file errors with exit 1, usage errors with exit 2, and the proposal stored for catalogued photos."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO, photo, save_jpeg

from selfie_desk.core.crop.geometry import cuts_a_face, iou

KEYS = {"path", "width", "height", "aspect", "crop", "score", "alternatives", "error", "keep_whole", "whole_score",
        "composition"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True, timeout=600)


def rows_of(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_json_lines_on_real_photos(tmp_path: Path):
    a, b = tmp_path / "astronaut.png", tmp_path / "china.jpg"
    shutil.copy(DEMO / "astronaut.png", a)
    shutil.copy(DEMO / "china.jpg", b)
    done = run("crop", str(a), str(b), "--json", "--device", "cpu", "--top", "2", "--aspect", "4:5")
    assert done.returncode == 0, done.stderr
    rows = rows_of(done)
    assert [r["path"] for r in rows] == [str(a), str(b)]  # one per photo, in order, absolute paths
    for row in rows:
        assert set(row) == KEYS and row["error"] is None and row["aspect"] == "4:5"
        w, h = row["width"], row["height"]
        x0, y0, x1, y1 = row["crop"]
        assert all(isinstance(v, int) for v in row["crop"]) and 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert abs((x1 - x0) / (y1 - y0) - 0.8) < 0.02
        assert isinstance(row["score"], float) and 0 <= row["score"] <= 1
        assert row["keep_whole"] is False  # a 4:5 crop of a square or a landscape photo is never the whole
        assert 0 <= row["whole_score"] <= 1 and isinstance(row["composition"], float)
        assert 1 <= len(row["alternatives"]) <= 2
        assert all(set(alt) == {"crop", "score", "composition"} for alt in row["alternatives"])
        boxes = [row["crop"]] + [alt["crop"] for alt in row["alternatives"]]
        scores = [row["score"]] + [alt["score"] for alt in row["alternatives"]]
        assert scores == sorted(scores, reverse=True)
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert iou([boxes[i]], [boxes[j]])[0, 0] < 0.5
    assert (rows[0]["width"], rows[0]["height"]) == (512, 512) and (rows[1]["width"], rows[1]["height"]) == (640, 427)
    face = (200, 60, 260, 150)  # the astronaut's face, roughly: the crop keeps it whole
    assert not cuts_a_face(rows[0]["crop"], [face])
    assert rows[0]["crop"][0] <= face[0] and rows[0]["crop"][2] >= face[2]


@pytest.mark.slow
def test_default_aspect_is_the_photos_own_and_orientation_is_applied(tmp_path: Path):
    from selfie_desk.core import paths

    # stored 640 x 360 with EXIF orientation 6 (rotate 90): the upright photo is 360 x 640
    path = save_jpeg(tmp_path / "turned.jpg", photo((640, 360), seed=5), orientation=6)
    done = run("crop", str(path), "--json", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    (row,) = rows_of(done)
    assert (row["width"], row["height"]) == (360, 640) and row["aspect"] == "original"
    x0, y0, x1, y1 = row["crop"]
    assert x1 <= 360 and y1 <= 640
    assert abs((x1 - x0) / (y1 - y0) - 360 / 640) < 0.02  # portrait crop of the upright photo
    assert not paths.catalog_path().exists()  # crop never creates a catalog


@pytest.mark.slow
def test_free_aspect_and_top_zero(tmp_path: Path):
    done = run("crop", str(DEMO / "coffee.png"), "--json", "--aspect", "free", "--top", "0", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    (row,) = rows_of(done)
    assert row["aspect"] == "free" and row["alternatives"] == [] and row["crop"]


@pytest.mark.slow
def test_bad_files_get_their_line_and_exit_1(tmp_path: Path):
    good = save_jpeg(tmp_path / "good.jpg", photo())
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo at all")
    whole = (tmp_path / "good.jpg").read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(whole[: len(whole) // 3])
    done = run("crop", str(empty), str(good), str(text), str(truncated), "--json", "--device", "cpu")
    assert done.returncode == 1
    rows = {Path(r["path"]).name: r for r in rows_of(done)}
    assert list(rows) == ["empty.jpg", "good.jpg", "notes.jpg", "truncated.jpg"]
    assert rows["good.jpg"]["error"] is None and rows["good.jpg"]["crop"]
    for name in ("empty.jpg", "notes.jpg", "truncated.jpg"):
        row = rows[name]
        assert set(row) == KEYS and isinstance(row["error"], str) and row["error"]
        assert row["crop"] is None and row["score"] is None and row["alternatives"] == []
        assert row["keep_whole"] is None and row["whole_score"] is None and row["composition"] is None
        assert row["width"] is None and row["height"] is None
    assert "Traceback" not in done.stderr

    readable = run("crop", str(good), str(empty), "--device", "cpu")  # the summary names the failure
    assert readable.returncode == 1
    assert "best crop" in readable.stdout and "empty.jpg" in readable.stdout and "could not be read" in readable.stdout


@pytest.mark.slow
def test_usage_errors_exit_2(tmp_path: Path):
    assert run("crop").returncode == 2
    assert run("crop", str(tmp_path / "nope.jpg")).returncode == 2
    assert run("crop", str(tmp_path)).returncode == 2  # a folder
    good = str(save_jpeg(tmp_path / "a.jpg"))
    assert run("crop", good, "--aspect", "5:4").returncode == 2
    assert run("crop", good, "--top", "-1").returncode == 2
    assert run("crop", good, "--device", "tpu").returncode == 2
    bad_model = run("crop", good, "--model", "no-such-model")
    assert bad_model.returncode == 2 and "unknown model" in bad_model.stderr
    helped = run("crop", "--help")
    assert helped.returncode == 0 and "--aspect" in helped.stdout and "catalog" in helped.stdout


@pytest.mark.slow
def test_catalogued_photos_get_the_proposal_stored_others_are_not_indexed(tmp_path: Path, app_home: Path):
    from selfie_desk.core import paths
    from selfie_desk.core.storage.catalog import Catalog

    folder = tmp_path / "shots"
    known = save_jpeg(folder / "known.jpg", photo((480, 360), seed=1))
    assert run("score", str(folder), "--json", "--device", "cpu").returncode == 0
    stranger = save_jpeg(tmp_path / "elsewhere" / "stranger.jpg", photo((480, 360), seed=2))
    done = run("crop", str(known), str(stranger), "--json", "--device", "cpu", "--aspect", "1:1")
    assert done.returncode == 0, done.stderr
    rows = rows_of(done)
    with Catalog(paths.catalog_path()) as catalog:
        photos = catalog.photos("default", paths=[str(known), str(stranger)])
        assert [p.path for p in photos] == [str(known)]  # the stranger was not indexed
        proposal = catalog.crop_proposal(photos[0].id, "default", "1:1")
        assert proposal is not None
        assert [int(v) for v in proposal.crop] == rows[0]["crop"]
        assert round(proposal.score, 6) == rows[0]["score"]
        assert photos[0].best_crop_score == proposal.score
