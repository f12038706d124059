"""Issue 31's cases, each first seen failing: a catalog that is not a file, hostile export names and file names,
a sidecar nested a thousand levels deep, a JPEG that lies about its size, a folder renamed while it scores, a
photo replaced by another of the same name, size and time, an unplugged drive, two windows on one catalog.
What held before (tests/test_reliability.py, tests/test_reliability_cli.py) keeps holding beside them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_corpus import deep_xmp, jpeg_bytes

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


# ---- 10: hostile export names, file names, model files and Pillow's warnings ------------------------------------

HOSTILE_PATTERNS = ["{name.__class__}", "{name.__init__.__globals__}", "{name[99]}", "{score.real}",
                    "{name:>300000000}", "{name!r}", "{rank:{rank}}", "{0}", "{}"]


@pytest.mark.parametrize("pattern", HOSTILE_PATTERNS)
def test_an_export_name_pattern_is_not_a_python_format_string(pattern):
    from selfie_desk.core import export
    from selfie_desk.core.catalog import Photo

    with pytest.raises(export.ExportError) as info:
        export.check_pattern(pattern)
    assert "{name}" in str(info.value)  # the message says what is allowed
    p = Photo(1, "/x/IMG_0042.JPG", 10, 10, "2024-05-06T07:08:09", None, 0.87654, "keep", 4, None)
    with pytest.raises(export.ExportError):
        export.file_stem(pattern, p, 1, 1)
    # the documented placeholders still work, braces doubled are literal braces
    assert export.file_stem("{rank} {name} {{x}}", p, 7, 120) == "007 IMG_0042 {x}"


def test_export_refuses_a_hostile_name_pattern_as_a_usage_error(tmp_path):
    for pattern in ("{name.__class__}", "{name:>300000000}", "{score.real}"):
        done = run("export", str(tmp_path), str(tmp_path / "out"), "--name", pattern, timeout=120)
        assert done.returncode == EXIT_USAGE, (pattern, done.stderr)
        line = one_line(done.stderr)
        assert "internal error" not in line and "name pattern" in line, line
    assert not (tmp_path / "out").exists()


def test_a_malicious_personal_model_is_refused_without_advising_the_unsafe_option(app_home, tmp_path):
    import pickle

    from selfie_desk.core import paths
    from selfie_desk.neural import model

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    paths.user_models_dir().mkdir(parents=True, exist_ok=True)
    (paths.user_models_dir() / "evil.pt").write_bytes(pickle.dumps({"format": 2, "card": Payload()}))
    for load in (lambda: model.load_head("evil"), lambda: model.model_card("evil")):
        with pytest.raises(RuntimeError) as info:
            load()
        text = str(info.value)
        assert "weights_only" not in text and "evil" in text and "not a model" in text, text
    assert not marker.exists()  # and its code never ran


ESCAPED_NAME = "evil\x1b]0;owned\x07 \u202egpj.jpg"


def _corrupt_exif_jpeg(seed: int) -> bytes:
    import struct

    data = jpeg_bytes(seed)
    exif = (b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + struct.pack("<H", 2) + struct.pack("<HHII", 0x0112, 3, 1, 1)
            + struct.pack("<HHII", 0x010F, 2, 1000, 500))  # a Make tag pointing past the end
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + data[2:]


@pytest.mark.slow
def test_tables_print_terminal_escapes_escaped_and_pillow_warnings_stay_off_stderr(app_home, tmp_path):
    import json

    folder = tmp_path / "shoot"
    folder.mkdir()
    (folder / ESCAPED_NAME).write_bytes(jpeg_bytes(3))
    (folder / "plain.jpg").write_bytes(jpeg_bytes(4))
    (folder / "bad-exif.jpg").write_bytes(_corrupt_exif_jpeg(5))
    for args in (["score", str(folder), "--device", "cpu"], ["groups", str(folder), "--device", "cpu"],
                 ["list", str(folder)]):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
        for stream in (done.stdout, done.stderr):
            assert not any(ch in stream for ch in "\x1b\x07\u202e"), (args, stream)
            assert "Warning" not in stream and "warnings.warn" not in stream, (args, stream)
        assert "evil\\x1b]0;owned\\x07 \\u202egpj.jpg" in done.stdout, (args, done.stdout)
        if args[0] == "score":
            assert "EXIF" in done.stderr and "bad-exif.jpg" in done.stderr, done.stderr  # a per-file note
    rows = [json.loads(line) for line in run("list", str(folder), "--json").stdout.splitlines()]
    assert str(folder / ESCAPED_NAME) in {r["path"] for r in rows}  # JSON unchanged: the real name


# ---- 6: a sidecar nested a thousand levels deep -------------------------------------------------------------------


def test_a_sidecar_nested_a_thousand_levels_deep_is_one_message_and_the_folder_carries_on(tmp_path):
    from selfie_desk.core import sidecars, xmp
    from selfie_desk.core.catalog import Catalog

    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("a.jpg", "deep.jpg", "z.jpg"):
        (folder / name).write_bytes(jpeg_bytes(len(name) + ord(name[0])))
    (folder / "deep.xmp").write_text(deep_xmp(1000))
    before = (folder / "deep.xmp").read_bytes()
    assert xmp.read(folder / "deep.jpg").empty  # reading it is no crash either: another app's odd file
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        for name in ("a.jpg", "deep.jpg", "z.jpg"):
            pid = catalog.add_file(str(folder / name), 1, 1, name)
            catalog.set_rating(pid, 3)
        report = sidecars.write_sidecars(catalog.photos("default", folder=str(folder)))
    assert sorted(Path(p).name for p in report.written) == ["a.xmp", "z.xmp"]  # the rest carried on
    [(path, message)] = report.failed
    assert path == str(folder / "deep.jpg") and "deep" in message and "left as it is" in message, message
    assert (folder / "deep.xmp").read_bytes() == before


# ---- 2: a JPEG whose header claims far more pixels than its data holds ---------------------------------------------


def test_a_jpeg_that_lies_about_its_size_is_told_per_file_not_scored_as_that_size(tmp_path):
    import io

    from hostile_corpus import lying_jpeg
    from PIL import Image

    from selfie_desk.core import decoding

    liar = tmp_path / "liar.jpg"
    liar.write_bytes(lying_jpeg(19000, 19000))
    with pytest.raises(decoding.PhotoError, match="header claims 19000 x 19000 pixels"):
        decoding.decode(liar, 224)
    # an honest photo of that size whose data is tiny (one flat colour, as small as a JPEG gets) still reads
    flat = tmp_path / "flat.jpg"
    buf = io.BytesIO()
    Image.new("L", (6000, 4000), 128).save(buf, format="JPEG", quality=5)
    flat.write_bytes(buf.getvalue())
    got = decoding.decode(flat, 224)
    assert (got.width, got.height) == (6000, 4000)
