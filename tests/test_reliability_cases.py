"""Issue 31's cases, each first seen failing: a catalog that is not a file, hostile export names and file names,
a sidecar nested a thousand levels deep, a JPEG that lies about its size, a folder renamed while it scores, a
photo replaced by another of the same name, size and time, an unplugged drive, two windows on one catalog.
What held before (tests/test_reliability.py, tests/test_reliability_cli.py) keeps holding beside them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hostile_corpus import jpeg_bytes

EXIT_USAGE, EXIT_CATALOG = 2, 3


def run(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# ---- 7: a catalog that is not a regular file ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_catalog_that_is_a_fifo_or_a_folder_is_one_line_not_a_hang(app_home, tmp_path, kind):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    path = app_home / "data" / "catalog.sqlite3"
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    for args in (["list", str(tmp_path)], ["list", str(tmp_path), "--json"], ["score", str(tmp_path)]):
        done = run(*args, timeout=60)  # before: `list` blocked for ever opening the FIFO
        assert done.returncode == EXIT_CATALOG, (args, done.stderr)
        line = one_line(done.stderr)
        assert "not a regular file" in line and "SELFIE_DESK_HOME" in line, line
    assert (path.is_fifo() if kind == "fifo" else path.is_dir())  # left as it is
