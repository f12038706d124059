"""Issue 15 at the command line: one line and a documented exit status for every failure, never a traceback;
Ctrl+C is 130; kill -9 of a scan, an export, sidecars or training never damages the catalog, loses a stored
score or decision, or leaves a file behind after the next run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import photo, save_jpeg
from hostile_corpus import jpeg_bytes

from selfie_desk.core import files

EXIT_CATALOG, EXIT_INTERRUPTED = 3, 130
N_KILL = 30


def run(*args: str, env: dict | None = None, text: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=text,
                          timeout=300, env=env)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "selfie_desk", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def catalog_path(app_home: Path) -> Path:
    return app_home / "data" / "catalog.sqlite3"


@pytest.mark.slow
def test_a_damaged_catalog_is_one_line_and_exit_3_for_every_command(app_home, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    path = catalog_path(app_home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not SQLite" * 300)
    for args in (["list", str(tmp_path)], ["list", str(tmp_path), "--json"], ["score", str(tmp_path)],
                 ["sidecars", str(tmp_path)], ["export", str(tmp_path), str(tmp_path / "out")]):
        done = run(*args)
        assert done.returncode == EXIT_CATALOG, (args, done.stderr)
        assert "damaged" in one_line(done.stderr) and "recover-catalog" in done.stderr
    assert not (tmp_path / "out").exists()
    # the way out: moved aside (nothing deleted), a new catalog
    done = run("recover-catalog")
    assert done.returncode == 0, done.stderr
    assert not path.exists() and len(list(path.parent.glob("catalog.sqlite3.damaged-*"))) == 1
    assert run("list", str(tmp_path)).returncode == 0


@pytest.mark.slow
def test_recover_catalog_rebuilds_decisions_from_the_sidecars(app_home, tmp_path, scorer):
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    for i in range(4):
        save_jpeg(tmp_path / f"{i}.jpg", photo(size=(160, 120), seed=i))
    with Catalog(catalog_path(app_home)) as catalog:  # scored in this process (the model is loaded already)
        pipeline.score([tmp_path], catalog, scorer)
    db = sqlite3.connect(catalog_path(app_home))
    db.execute("UPDATE photos SET decision = 'keep' WHERE path LIKE '%/0.jpg'")
    db.execute("UPDATE photos SET decision = 'reject' WHERE path LIKE '%/1.jpg'")
    db.execute("UPDATE photos SET rating = 4 WHERE path LIKE '%/2.jpg'")
    db.execute("UPDATE photos SET crop = '[8.0, 16.0, 104.0, 112.0]' WHERE path LIKE '%/3.jpg'")  # a 1:1 crop
    db.commit()
    db.close()
    assert run("sidecars", str(tmp_path)).returncode == 0
    with open(catalog_path(app_home), "r+b") as fh:  # the header overwritten: a damaged catalog
        fh.write(b"\x00" * 100)
    assert run("list", str(tmp_path)).returncode == EXIT_CATALOG
    done = run("recover-catalog", str(tmp_path), "--device", "cpu")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, run("list", str(tmp_path), "--json").stdout.splitlines())}
    assert (rows["0.jpg"]["decision"], rows["1.jpg"]["decision"], rows["2.jpg"]["rating"]) == ("keep", "reject", 4)
    assert rows["3.jpg"]["decision"] is None and all(r["score"] is not None for r in rows.values())
    assert rows["3.jpg"]["crop"] == [8.0, 16.0, 104.0, 112.0]  # issue 31: crops came back null


@pytest.mark.slow
def test_a_newer_catalog_is_refused_and_not_overwritten(app_home, tmp_path):
    path = catalog_path(app_home)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    db.execute("PRAGMA user_version = 42")
    db.commit()
    db.close()
    before = path.read_bytes()
    for args in (["list", str(tmp_path)], ["score", str(tmp_path)], ["recover-catalog"]):
        done = run(*args)
        assert done.returncode == EXIT_CATALOG, (args, done.stderr)
        assert "newer Selfie Desk" in one_line(done.stderr)
    assert path.read_bytes() == before


@pytest.mark.slow
def test_an_app_home_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(2))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the app's folder should be")
    for home in (str(blocker / "home"), "/sys/selfie-desk-cannot-write-here"):
        env = {**os.environ, "SELFIE_DESK_HOME": home}
        done = run("score", str(tmp_path), env=env)
        assert done.returncode == EXIT_CATALOG, (home, done.stderr)
        assert "SELFIE_DESK_HOME" in one_line(done.stderr)
        assert run("list", str(tmp_path), env=env).returncode in (0, EXIT_CATALOG)


def test_a_name_that_is_not_utf8_prints_losslessly(tmp_path, app_home, scorer):
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    folder = tmp_path / "f"
    folder.mkdir()
    raw = os.fsencode(str(folder)) + b"/caf\xe9.jpg"
    save_jpeg(Path(os.fsdecode(raw)), photo(seed=3))
    os.mkfifo(folder / "x.jpg")  # and a FIFO: told, never opened
    with Catalog(catalog_path(app_home)) as catalog:  # scored here: the model is loaded already
        summary = pipeline.score([folder], catalog, scorer)
        photos = catalog.photos(scorer.model_name, folder=str(folder))
    assert {p.path for p in photos} == {os.fsdecode(raw), str(folder / "x.jpg")}
    assert summary.index.skipped == [(str(folder / "x.jpg"), "skipped: a named pipe (FIFO), not a photo file")]
    done = run("list", str(folder), "--json", text=False)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    rows = {r["path"]: r for r in map(json.loads, done.stdout.splitlines())}
    name = os.fsdecode(raw)
    assert rows[name]["score"] is not None and os.fsencode(name) == raw
    assert "\\udce9" in done.stdout.decode("ascii")  # JSON: the byte as a surrogate escape, as documented
    assert rows[str(folder / "x.jpg")]["score"] is None
    table = run("list", str(folder), text=False)  # the table prints the name's own bytes, as ls does
    assert table.returncode == 0 and raw in table.stdout, table.stderr


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_what_was_scored(tmp_path, app_home):
    for i in range(80):
        save_jpeg(tmp_path / f"{i:03}.jpg", photo(size=(320, 240), seed=i))
    proc = start("score", str(tmp_path), "--device", "cpu", "--batch-size", "4")
    _wait_for_scores(catalog_path(app_home), 1, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "interrupted" in err
    assert _count(catalog_path(app_home), "SELECT count(*) FROM scores") >= 1


# ---- kill -9 ---------------------------------------------------------------------------------------------------


def _count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def _wait_for_scores(db: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _count(db, "SELECT count(*) FROM scores") < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no score stored in time"
        time.sleep(0.05)


def _healthy(db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def _litter(*folders: Path) -> list[str]:
    return [str(p) for f in folders for p in f.rglob("*") if p.name.startswith(files.TEMP_PREFIX)
            or p.name.endswith((".part", ".tmp"))]


@pytest.mark.slow
def test_kill_9_during_scan_export_sidecars_and_training_loses_nothing(tmp_path, app_home, scorer):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i in range(N_KILL):
        save_jpeg(folder / f"{i:03}.jpg", photo(size=(320, 240), seed=i))
    db = catalog_path(app_home)

    # scan: killed after a batch was stored; the next scan keeps those scores and does the rest
    first = start("score", str(folder), "--device", "cpu", "--batch-size", "2")
    _wait_for_scores(db, 2, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    stored = {r[0]: r[1] for r in sqlite3.connect(db).execute("SELECT photo_id, scored_at FROM scores")}
    assert 2 <= len(stored) < N_KILL, "the scan ended before it was killed"
    _healthy(db)
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    with Catalog(db) as catalog:  # the next scan, in this process (the model is loaded already)
        summary = pipeline.score([folder], catalog, scorer)
        assert summary.scored == N_KILL - len(stored) and summary.failed == 0
        assert all(p.score is not None for p in catalog.photos(scorer.model_name, folder=str(folder)))
    after = {r[0]: r[1] for r in sqlite3.connect(db).execute("SELECT photo_id, scored_at FROM scores")}
    assert all(after[k] == v for k, v in stored.items())  # scores stored before the kill were kept, not redone

    # decisions (as the window would store them), then sidecars killed mid-way and run again
    conn = sqlite3.connect(db)
    conn.execute("UPDATE photos SET decision = CASE id % 2 WHEN 0 THEN 'keep' ELSE 'reject' END")
    conn.commit()
    conn.close()
    _kill_mid_way(["sidecars", str(folder)], lambda: any(folder.glob("*.xmp")))
    done = run("sidecars", str(folder))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(list(folder.glob("*.xmp"))) == N_KILL and not _litter(folder)

    # export killed mid-way, then again: every pick exported once more, nothing half-written left
    dest = tmp_path / "out"
    _kill_mid_way(["export", str(folder), str(dest), "--long-edge", "300", "--format", "png"],
                  lambda: dest.is_dir() and any(dest.glob("*.png")))
    done = run("export", str(folder), str(dest / "again"), "--long-edge", "300")
    assert done.returncode == 0, done.stderr
    done = run("export", str(folder), str(dest), "--list-only")  # any run into DEST cleans what a crash left
    assert done.returncode == 0, done.stderr
    assert not _litter(dest), _litter(dest)

    # training killed mid-way: no half model is listed, and training again works and leaves nothing behind
    _kill_mid_way(["train", str(folder), "--name", "mine"], lambda: False, after_s=2.5)
    listed = run("models", "--json")
    assert listed.returncode == 0, listed.stderr
    from selfie_desk.cli import main

    assert main(["train", str(folder), "--name", "mine", "--replace"]) == 0  # in this process: torch is loaded
    assert not _litter(app_home / "data" / "models")
    _healthy(db)
    assert _count(db, "SELECT count(*) FROM photos WHERE decision = 'keep'") == N_KILL // 2  # none lost
    assert _count(db, "SELECT count(*) FROM photos WHERE decision = 'reject'") == N_KILL // 2


def _kill_mid_way(args: list[str], started, after_s: float = 30.0) -> None:
    proc = start(*args)
    deadline = time.monotonic() + after_s
    while proc.poll() is None and not started() and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
