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

from selfie_desk.core.culling.session import CullingSession  # the one writer of flags and stars (issue 30)

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
    from selfie_desk.core.formats import export
    from selfie_desk.core.storage.catalog import Photo

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
    from selfie_desk.core.formats import sidecars, xmp
    from selfie_desk.core.storage.catalog import Catalog

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
            CullingSession(catalog).adopt([(pid, "rating", 3)])
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

    from selfie_desk.core.formats import decoding

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


# ---- 4: an unplugged drive never loses a decision -----------------------------------------------------------------


def _shoot(folder: Path, n: int, sub: str | None = None) -> list[Path]:
    where = folder / sub if sub else folder
    where.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        out.append(where / f"IMG_{i:04d}.jpg")
        out[-1].write_bytes(jpeg_bytes(i + (100 if sub else 0)))
    return out


def _unplug(folder: Path, aside: Path) -> None:
    """What unplugging a drive leaves: its mount point, an empty folder (its photos elsewhere, to plug back)."""
    folder.rename(aside)
    folder.mkdir()


def _plug(folder: Path, aside: Path) -> None:
    folder.rmdir()
    aside.rename(folder)


def test_an_unplugged_drive_is_offline_not_removed_and_comes_back_with_every_decision(tmp_path):
    import time

    from selfie_desk.core.formats import indexing
    from selfie_desk.core.storage.catalog import Catalog

    drive, aside = tmp_path / "drive", tmp_path / "in-a-drawer"
    _shoot(drive, 30)
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        indexing.index([drive], catalog, "default")
        photos = catalog.photos("default", folder=str(drive))
        for i, p in enumerate(photos):
            CullingSession(catalog).adopt([(p.id, "decision", ("keep", "reject", None)[i % 3]),
                                           (p.id, "rating", i % 6)])
        decided = {p.path: (p.decision, p.rating) for p in catalog.photos("default", folder=str(drive))}

        _unplug(drive, aside)
        report = indexing.index([drive], catalog, "default")
        assert report.removed == 0 and report.offline == [(str(drive), 30)], (report.removed, report.offline)
        assert len(catalog.photos("default", folder=str(drive))) == 30  # still listed, decisions and all

        # weeks later, a scan of another folder purges nothing (it purged rows missing for 30 days)
        other = tmp_path / "other"
        _shoot(tmp_path, 2, sub="other")  # other photos (the same content would be taken as the drive's, moved)
        catalog._db.execute("UPDATE photos SET missing_since = ? WHERE path LIKE ?",
                            (time.time() - 90 * 86400, f"{drive}/%"))
        indexing.index([other], catalog, "default")
        catalog._db.execute("UPDATE photos SET missing_since = NULL WHERE path LIKE ?", (f"{drive}/%",))

        _plug(drive, aside)
        back = indexing.index([drive], catalog, "default")
        assert back.offline == [] and back.new == 0
        assert {p.path: (p.decision, p.rating) for p in catalog.photos("default", folder=str(drive))} == decided


def test_a_drive_mounted_inside_a_folder_is_offline_while_photos_deleted_beside_it_are_missing(tmp_path):
    from selfie_desk.core.formats import indexing
    from selfie_desk.core.storage.catalog import Catalog

    folder = tmp_path / "photos"
    here = _shoot(folder, 4)
    _shoot(folder, 6, sub="card")
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        indexing.index([folder], catalog, "default")
        _unplug(folder / "card", tmp_path / "card-aside")  # the card's mount point, empty
        here[0].unlink()  # and one photo deleted by the user, in a folder that still has others
        report = indexing.index([folder], catalog, "default")
        assert report.offline == [(str(folder / "card"), 6)] and report.removed == 1
        assert len(catalog.photos("default", folder=str(folder))) == 9


@pytest.mark.slow
def test_score_says_offline_and_exits_1_instead_of_removing_every_photo(app_home, tmp_path):
    drive = tmp_path / "drive"
    _shoot(drive, 5)
    assert run("score", str(drive), "--device", "cpu").returncode == 0
    _unplug(drive, tmp_path / "aside")
    done = run("score", str(drive), "--device", "cpu")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "offline" in done.stderr and "5 photos" in done.stderr and "0 removed" in done.stderr, done.stderr
    listed = run("list", str(drive), "--json")
    assert len(listed.stdout.splitlines()) == 5  # the catalog still has them


def test_the_window_reopening_an_unplugged_folder_shows_its_photos_and_says_offline(qtbot, make_window, tmp_path):
    drive, aside = tmp_path / "drive", tmp_path / "aside"
    _shoot(drive, 6)
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=120_000):
        window.open_folder(drive)
    first = window.model.photos()[0]
    window.set_decision("keep")
    _unplug(drive, aside)
    with qtbot.waitSignal(window.scan_finished, timeout=120_000):
        window.open_folder(drive)  # as the window does at start: the last folder, its mount point still there
    assert len(window.model.all_photos()) == 6, "an offline folder opened as empty"
    assert "offline" in window.messages.text(), window.messages.text()
    assert window.catalog.photos("default", paths=[first.path])[0].decision == "keep"


def test_forget_missing_is_the_only_way_photos_leave_and_spares_an_offline_drive(app_home, tmp_path):
    from selfie_desk.core import paths
    from selfie_desk.core.formats import indexing
    from selfie_desk.core.storage.catalog import Catalog

    folder = tmp_path / "photos"
    shots = _shoot(folder, 4)
    with Catalog(paths.catalog_path()) as catalog:
        indexing.index([folder], catalog, "default")
    shots[0].unlink()
    with Catalog(paths.catalog_path()) as catalog:
        indexing.index([folder], catalog, "default")  # marked missing, kept
    listed = run("forget-missing", str(folder), timeout=120)
    assert listed.returncode == 0 and listed.stdout.split() == [str(shots[0])], listed.stderr
    assert "--yes" in listed.stderr
    assert run("forget-missing", str(folder), "--yes", timeout=120).returncode == 0
    with Catalog(paths.catalog_path()) as catalog:
        assert [p for _, p, _ in catalog.known_under(str(folder))] == [str(s) for s in shots[1:]]
    _unplug(folder, tmp_path / "aside")
    refused = run("forget-missing", str(folder), "--yes", timeout=120)
    assert refused.returncode == EXIT_USAGE and "offline" in one_line(refused.stderr)
    with Catalog(paths.catalog_path()) as catalog:
        assert len(catalog.known_under(str(folder))) == 3


# ---- 8: the folder renamed while `score` runs --------------------------------------------------------------------


@pytest.mark.slow
def test_a_folder_renamed_while_it_scores_is_told_and_exits_1_not_0_photos(app_home, tmp_path):
    import sqlite3
    import time

    from conftest import photo, save_jpeg

    folder = tmp_path / "shoot"
    for i in range(160):
        save_jpeg(folder / f"IMG_{i:04d}.jpg", photo(size=(800, 600), seed=i))
    catalog = app_home / "data" / "catalog.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "selfie_desk", "score", str(folder), "--device", "cpu",
                             "--batch-size", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    scored = 0
    while time.monotonic() < deadline and proc.poll() is None and scored == 0:
        time.sleep(0.2)
        try:
            with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
                scored = db.execute("SELECT count(*) FROM scores").fetchone()[0]
        except sqlite3.Error:
            pass
    assert proc.poll() is None and scored, "the scan ended (or never scored) before the folder could be renamed"
    folder.rename(tmp_path / "renamed")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (proc.returncode, err)
    assert "Traceback" not in err and "renamed" in err and "not scored" in err, err
    assert "\n0 photos:" not in "\n" + err and "of its 160 photos not scored" in err, err


# ---- 5: two windows on one catalog ---------------------------------------------------------------------------------


def _hold_window_lock(catalog_path: Path) -> subprocess.Popen:
    """Another Selfie Desk window, as far as the catalog can tell: a process holding its window lock."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from selfie_desk.core.storage.catalog_access import window_lock\n"
        f"lock = window_lock({str(catalog_path)!r})\n"
        "print('held', flush=True); sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_one_window_per_catalog_a_second_is_refused_naming_the_first(tmp_path):
    from selfie_desk.core.storage.catalog_access import CatalogInUse, window_lock

    path = tmp_path / "catalog.sqlite3"
    holder = _hold_window_lock(path)
    try:
        with pytest.raises(CatalogInUse) as info:
            window_lock(path)
        assert f"process {holder.pid}" in str(info.value) and "already open" in str(info.value)
    finally:
        holder.communicate("")
    window_lock(path).release()  # the first window closed (or was killed): the next one opens
    lock = window_lock(path)
    with pytest.raises(CatalogInUse):
        window_lock(path)  # within one process too
    lock.release()


def test_a_second_window_on_the_catalog_says_so_in_a_dialog_and_opens_nothing(qapp, monkeypatch, tmp_path):
    from selfie_desk.core import paths
    from selfie_desk.ui import app

    holder = _hold_window_lock(paths.catalog_path())
    shown: list = []
    monkeypatch.setattr(app.QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    monkeypatch.setattr(app.QMessageBox, "information", lambda parent, title, text: shown.append((title, text)))
    made: list = []
    monkeypatch.setattr(app, "MainWindow", lambda *a, **k: made.append(1))
    try:
        assert app.run(tmp_path) == EXIT_CATALOG
    finally:
        holder.communicate("")
    assert made == [] and len(shown) == 1 and "already open" in shown[0][1], shown


# ---- 9: a photo replaced by another of the same name, size and time -----------------------------------------------


def _same_size(data: bytes, size: int) -> bytes:
    """`data` (a JPEG) padded after its end to exactly `size` bytes: decoders stop at the end marker."""
    assert len(data) <= size
    return data + b"\x00" * (size - len(data))


def test_a_photo_replaced_by_another_with_the_same_name_size_and_time_is_a_new_photo(tmp_path):
    from selfie_desk.core.formats import indexing
    from selfie_desk.core.storage.catalog import Catalog, Result

    folder = tmp_path / "shoot"
    folder.mkdir()
    first, second = jpeg_bytes(1, size=(160, 120)), jpeg_bytes(2, size=(160, 120))
    size = max(len(first), len(second)) + 16
    photo = folder / "IMG_0001.jpg"
    photo.write_bytes(_same_size(first, size))
    (folder / "other.jpg").write_bytes(jpeg_bytes(3))
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        report = indexing.index([folder], catalog, "default")
        old = catalog.photos("default", paths=[str(photo)])[0]
        catalog.record([Result(t.photo_id, 160, 120, score=0.9) for t in report.todo], "default")
        CullingSession(catalog).adopt([(old.id, "decision", "keep"), (old.id, "rating", 5)])
        st = photo.stat()

        photo.write_bytes(_same_size(second, size))  # another photo, its size and time made the same
        os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert (photo.stat().st_size, photo.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
        again = indexing.index([folder], catalog, "default")
        now = catalog.photos("default", paths=[str(photo)])[0]
        assert (now.score, now.decision, now.rating) == (None, None, 0), now  # not the old one's
        assert now.fingerprint != old.fingerprint  # so its thumbnail (keyed by it) is made afresh
        assert [t.path for t in again.todo] == [str(photo)] and again.unchanged == 1

        # the old photo's decisions are not lost: where its content turns up again, they follow it
        (folder / "moved-back.jpg").write_bytes(_same_size(first, size))
        indexing.index([folder], catalog, "default")
        back = catalog.photos("default", paths=[str(folder / "moved-back.jpg")])[0]
        assert (back.id, back.decision, back.rating) == (old.id, "keep", 5)


def test_an_unchanged_folder_is_read_again_without_reading_a_photo(tmp_path, monkeypatch):
    """The check that catches a replaced photo costs a stat, never a read, on a folder where nothing changed;
    a file whose inode or change time moved (a chmod, a backup tool) is fingerprinted again, and kept."""
    from selfie_desk.core.formats import indexing
    from selfie_desk.core.storage.catalog import Catalog

    folder = tmp_path / "shoot"
    shots = _shoot(folder, 20)
    reads: list[str] = []
    real = indexing.fingerprint
    monkeypatch.setattr(indexing, "fingerprint", lambda path, size: reads.append(str(path)) or real(path, size))
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        indexing.index([folder], catalog, "default")
        assert len(reads) == 20
        reads.clear()
        indexing.index([folder], catalog, "default")
        assert reads == []
        os.chmod(shots[3], 0o600)  # its change time moves, its content does not
        report = indexing.index([folder], catalog, "default")
        assert reads == [str(shots[3])] and report.new == 0 and report.changed == 0
        reads.clear()
        indexing.index([folder], catalog, "default")
        assert reads == []  # its new stamp was kept
