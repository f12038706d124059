"""`selfie-desk score DIR --cluster auto --json` run as a user runs it and stopped from outside (issue 18's
"nothing lost"): the driver killed with SIGKILL, its whole process group with it (kill -9 -PGID, the OOM killer
taking the command), or interrupted with SIGINT sent to the process group (what Ctrl+C in a terminal does).
No committed result is lost, no Ray process outlives the command, and the re-run's results equal a clean run's.

A module of its own: each test starts its own local Ray cluster in a subprocess, so test_cluster.py's
module-wide cluster is shut down before these run (never two clusters on the 2 cores at once)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import photo, save_jpeg
from test_cluster import assert_same, local_pass

N_EXTRA = 5  # synthetic photos beside the 7 demo ones: a run long enough to be stopped in its middle
STARTUP_S = 300  # to the first commit: Ray's start and the workers' model loading, on 2 shared cores


@pytest.fixture
def folder(demo_folder: Path) -> Path:
    for i in range(N_EXTRA):
        save_jpeg(demo_folder / f"extra-{i}.jpg", photo((1200, 900), seed=i))
    return demo_folder


@pytest.fixture
def ray_tmp():
    """Ray's session files, here and not in /tmp/ray (short: its socket paths must fit 107 bytes)."""
    pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")
    path = Path(tempfile.mkdtemp(prefix="sdray-", dir="/tmp"))
    yield path
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def command(folder: Path) -> list[str]:
    # batch 1: each photo its own commit, so the run is stopped between commits, with photos in flight
    return [sys.executable, "-m", "selfie_desk", "score", str(folder), "--cluster", "auto", "--json",
            "--batch-size", "1"]


def environment(home: Path, ray_tmp: Path) -> dict[str, str]:
    return {**os.environ, "SELFIE_DESK_HOME": str(home), "RAY_TMPDIR": str(ray_tmp)}


def committed(catalog: Path) -> dict[str, tuple[float, float, int]]:
    """What the catalog holds now, read-only (the driver is writing it): path -> (score, scored_at, faces)."""
    if not catalog.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
            return {path: (score, at, faces) for path, score, at, faces in db.execute(
                "SELECT p.path, s.score, s.scored_at, (SELECT count(*) FROM faces f WHERE f.photo_id = p.id) "
                "FROM scores s JOIN photos p ON p.id = s.photo_id")}
    except sqlite3.Error:  # not yet created, or mid-migration
        return {}


def ray_processes(ray_tmp: Path, driver_pid: int | None = None) -> list:
    """The command's processes other than the driver: every process started with its RAY_TMPDIR (the workers
    rename themselves `ray::...` and sit in process groups of their own, out of reach of a signal to the
    driver's group), and the driver's descendants."""
    import psutil  # Ray's own dependency (on the path once ray is imported)

    found = {}
    if driver_pid is not None:
        try:
            found = {p.pid: p for p in psutil.Process(driver_pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("RAY_TMPDIR") == str(ray_tmp):
                found.setdefault(proc.pid, proc)
        except psutil.Error:  # gone, or another user's
            pass
    found.pop(driver_pid, None)
    return list(found.values())


def name(proc) -> str:
    import psutil

    try:
        return proc.name()
    except psutil.Error:
        return "(gone)"


def wait_for_commits(driver: subprocess.Popen, catalog: Path, errors: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while not committed(catalog):
        assert driver.poll() is None, f"the command ended first ({driver.returncode}): {errors.read_text()}"
        assert time.monotonic() < deadline, f"no commit in {STARTUP_S} s: {errors.read_text()}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_stopped_driver_loses_nothing_and_leaves_no_ray_process(tmp_path, scorer, folder, ray_tmp, stop):
    import psutil

    home = tmp_path / "home"
    catalog = home / "data" / "catalog.sqlite3"
    n = len(list(folder.iterdir()))
    want = local_pass(tmp_path, scorer, folder, batch_size=4)  # the clean run
    out, err = tmp_path / "out.jsonl", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        driver = subprocess.Popen(command(folder), env=environment(home, ray_tmp), stdout=stdout,
                                  stderr=stderr, start_new_session=True)  # its own group, as a shell's job
    ours: list = []
    try:
        wait_for_commits(driver, catalog, err)
        ours = ray_processes(ray_tmp, driver.pid)
        assert any(name(p) == "raylet" for p in ours), [name(p) for p in ours]
        os.killpg(driver.pid, stop)
        code = driver.wait(timeout=120)
        kept = committed(catalog)
        # Ray's processes go with the driver: the group's at once, the workers once they lose their raylet
        _gone, alive = psutil.wait_procs(ours + ray_processes(ray_tmp), timeout=60)
        assert not alive, f"left running after the driver: {[(p.pid, name(p)) for p in alive]}"
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
        for proc in ours + ray_processes(ray_tmp):  # whatever failed above, leave nothing behind
            try:
                proc.kill()
            except psutil.Error:
                pass
    stderr_text = err.read_text()
    if stop == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:  # Ctrl+C: the command's own clean stop
        assert code == 130, stderr_text
        assert "interrupted; everything scored so far is saved" in stderr_text
        assert "Traceback" not in stderr_text, stderr_text
    assert 1 <= len(kept) < n, f"stopped after {len(kept)} of {n} commits: not mid-run"

    again = subprocess.run(command(folder), env=environment(home, ray_tmp), capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    after = committed(catalog)
    for path, row in kept.items():  # every result committed before the stop is still there, not made again
        assert after[path] == row, path
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    got = {os.path.relpath(r["path"], folder): r for r in lines}
    assert_same(got, want)  # the re-run's output: the clean run's results, every photo
    assert not ray_processes(ray_tmp), "the command ended, its Ray processes did not"
