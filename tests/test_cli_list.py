"""`selfie-desk list` (the catalog's view of a folder, as JSON lines) and how `selfie-desk` opens the window."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import photo, save_jpeg

from selfie_desk.core import paths
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats.indexing import canonical
from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.neural import pipeline

KEYS = ["path", "score", "decision", "rating", "crop", "faces", "width", "height", "aspects", "reasons", "group",
        "pair"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def test_list_json_is_the_catalogs_view_while_the_window_has_it_open(demo_folder: Path, scorer):
    with Catalog(paths.catalog_path()) as catalog:  # the window's connection, open the whole time
        pipeline.score([demo_folder], catalog, scorer)
        photos = {Path(p.path).name: p for p in catalog.photos(scorer.model_name, folder=str(demo_folder))}
        CullingSession(catalog).adopt([(photos["astronaut.png"].id, "decision", "keep")])
        CullingSession(catalog).adopt([(photos["astronaut.png"].id, "rating", 4)])
        CullingSession(catalog).adopt([(photos["coffee.png"].id, "decision", "reject")])
        CullingSession(catalog).adopt([(photos["astronaut.png"].id, "crop", (10.0, 20.0, 300.0, 400.0))])
        catalog._db.execute("BEGIN")  # even with a transaction open on the window's side
        catalog._db.execute("SELECT count(*) FROM photos").fetchone()
        done = run("list", str(demo_folder), "--json")
        catalog._db.execute("COMMIT")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 7
    for row in rows:
        assert list(row) == KEYS
        assert Path(row["path"]).parent == canonical(demo_folder)
        assert isinstance(row["rating"], int) and isinstance(row["width"], int) and isinstance(row["height"], int)
        assert 0 <= row["score"] <= 1 and row["decision"] in ("keep", "reject", None)
    by_name = {Path(r["path"]).name: r for r in rows}
    astronaut = by_name["astronaut.png"]
    assert (astronaut["decision"], astronaut["rating"], astronaut["crop"]) == ("keep", 4, [10.0, 20.0, 300.0, 400.0])
    assert len(astronaut["faces"]) == 1
    assert set(astronaut["faces"][0]) == {"box", "confidence", "eyes", "sharpness"}
    assert astronaut["faces"][0]["eyes"] == "open" and 0.5 < astronaut["faces"][0]["sharpness"] <= 1.0
    assert by_name["coffee.png"]["decision"] == "reject" and by_name["coffee.png"]["crop"] is None
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)

    table = run("list", str(demo_folder))
    assert table.returncode == 0 and "astronaut.png" in table.stdout and "pick" in table.stdout
    assert "****" in table.stdout


def test_list_of_a_folder_never_scored(tmp_path: Path):
    save_jpeg(tmp_path / "a.jpg", photo())
    done = run("list", str(tmp_path), "--json")
    assert done.returncode == 0 and done.stdout == ""
    assert not any(p.suffix == ".jpg" for p in paths.thumbnail_dir().rglob("*"))  # nothing was read


@pytest.mark.slow
def test_list_usage_errors_exit_2(tmp_path: Path):
    assert run("list").returncode == 2
    missing = run("list", str(tmp_path / "nope"), "--json")
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    save_jpeg(tmp_path / "a.jpg", photo())
    assert run("list", str(tmp_path / "a.jpg")).returncode == 2
    assert run("list", str(tmp_path), "--bogus").returncode == 2


@pytest.mark.slow
def test_open_without_a_display_is_a_one_line_error(tmp_path: Path):
    if not sys.platform.startswith("linux"):
        return
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for args in ([], [str(tmp_path)], ["open", str(tmp_path)]):
        done = run(*args, env=env)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and "no display" in done.stderr and "Traceback" not in done.stderr
    assert run("open", str(tmp_path / "nope"), env=env).returncode == 2
    assert run(str(tmp_path / "nope"), env=env).returncode == 2
    help_text = run("--help").stdout
    assert "list" in help_text and "open" in help_text and "score" in help_text


def test_list_into_a_pipe_that_closes_early_stops_quietly(tmp_path):
    """`selfie-desk list FOLDER | head -1`: no traceback when the reader goes away."""
    folder = canonical(tmp_path / "many")
    with Catalog(paths.catalog_path()) as catalog, catalog.transaction():
        for i in range(3000):  # ~250 KB of output: more than a pipe buffers
            catalog.add_file(str(folder / f"IMG_{i:05d}.jpg"), 1000, 1, f"fp{i}")
    proc = subprocess.Popen([sys.executable, "-m", "selfie_desk", "list", str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("rank")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err
