"""Camera raw files (issue 17): the embedded preview read upright, a demosaic only without one, bad raws told
per file; RAW+JPEG pairs as one photo in the catalog, its decisions kept whichever file is deleted; the raw's
sidecar NAME.xmp. Raws are built here (tests/raw_fixtures.py); the real ones in ../shared/raw are used when present."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import photo, save_jpeg
from PIL import Image
from raw_fixtures import jpeg_bytes, truncate, write_dng

from selfie_desk.core import paths
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats import decoding, raw, sidecars, xmp
from selfie_desk.core.formats.indexing import index, photo_path
from selfie_desk.core.storage.catalog import Catalog, Result

SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "raw"
if not SHARED_RAW.is_dir():
    SHARED_RAW = Path("/work/shared/raw")


@pytest.fixture
def catalog(app_home):
    with Catalog(paths.catalog_path()) as cat:
        yield cat


def colour_at(im: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    return tuple(im.convert("RGB").getpixel((int(im.width * fx), int(im.height * fy))))


# ---- reading ------------------------------------------------------------------------------------------------------


def test_every_listed_raw_format_is_a_photo():
    for ext in ("dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "sr2", "raf", "orf", "rw2", "pef", "srw", "3fr",
                "iiq"):
        assert decoding.is_photo(Path(f"IMG_1.{ext}")) and decoding.is_photo(Path(f"IMG_1.{ext.upper()}"))
        assert raw.is_raw(f"IMG_1.{ext.upper()}")
    assert not raw.is_raw("IMG_1.jpg")


def test_the_preview_is_read_upright_with_the_raws_size_and_time(tmp_path):
    # sensor 640 x 480, turned 90° clockwise (EXIF 6): upright 480 x 640; the preview is stored as the sensor saw it
    path = write_dng(tmp_path / "a.dng", 640, 480, preview=jpeg_bytes(640, 480), orientation=6)
    got = decoding.decode(path, 2000)
    assert (got.width, got.height) == (480, 640)
    assert got.image.size == (480, 640)
    assert got.captured_at == "2025-06-01T10:20:30"
    # the preview's bright disc sits right of centre and high in the sensor's frame: turned clockwise, it goes low
    stored = Image.open(__import__("io").BytesIO(jpeg_bytes(640, 480)))
    assert colour_at(stored, 0.6, 0.4)[2] < 100  # yellow: little blue
    assert colour_at(got.image, 1 - 0.4, 0.6)[2] < 100


def test_a_small_request_decodes_the_preview_reduced(tmp_path):
    path = write_dng(tmp_path / "a.dng", 2048, 1536, preview=jpeg_bytes(2048, 1536))
    got = decoding.decode(path, 256)
    assert 256 <= max(got.image.size) < 1024  # DCT-reduced, never a full decode
    assert (got.width, got.height) == (2048, 1536)


def test_without_a_preview_the_raw_is_demosaiced_upright(tmp_path):
    path = write_dng(tmp_path / "b.dng", 640, 480, orientation=8)
    got = decoding.decode(path, 200)
    assert (got.width, got.height) == (480, 640)
    assert got.image.height > got.image.width  # LibRaw turned it
    # the mosaic brightens left to right: turned anticlockwise (EXIF 8), its bright right edge is the top
    top, bottom = colour_at(got.image, 0.5, 0.1), colour_at(got.image, 0.5, 0.9)
    assert sum(top) > sum(bottom) + 100


def test_a_small_preview_is_not_used_for_a_big_request_but_full_resolution_is_a_demosaic(tmp_path):
    path = write_dng(tmp_path / "c.dng", 1600, 1200, preview=jpeg_bytes(160, 120))
    assert max(decoding.decode(path, 100).image.size) == 160  # enough for a 100 px thumbnail
    assert max(decoding.decode(path, 1600).image.size) >= 800  # a half-size demosaic
    full = decoding.decode(path, 1600, full_resolution=True)
    assert full.image.size == (1600, 1200)


@pytest.mark.parametrize("case, message", [
    ("truncated", "truncated or damaged raw file"),
    ("unknown", "cannot read: an unknown camera, or not a raw file"),
    ("empty", "empty file"),
])
def test_bad_raws_say_why(tmp_path, case, message):
    path = tmp_path / "bad.nef"
    if case == "truncated":
        write_dng(path, 640, 480)  # no preview: only the raw data could be read, and it is cut
        truncate(path, 0.3)
    elif case == "unknown":
        path.write_bytes(b"FUJIFILMCCD-RAW " + os.urandom(4000))
    else:
        path.write_bytes(b"")
    with pytest.raises(decoding.PhotoError, match=message):
        decoding.decode(path, 500)


@pytest.mark.parametrize("case", ["truncated", "unknown"])
def test_a_pairs_unreadable_raw_is_read_from_its_jpeg_and_says_so(tmp_path, case):
    raw_path = tmp_path / "IMG_7.NEF"
    if case == "truncated":
        write_dng(raw_path, 640, 480)
        truncate(raw_path, 0.3)
    else:
        raw_path.write_bytes(b"FUJIFILMCCD-RAW " + os.urandom(4000))
    jpeg = save_jpeg(tmp_path / "IMG_7.JPG", photo((640, 480), seed=3))
    with pytest.raises(decoding.PhotoError):
        decoding.decode(raw_path, 500)  # alone, the raw is an error
    got = decoding.decode(raw_path, 500, pair=jpeg)
    assert (got.width, got.height) == (640, 480)
    assert colour_at(got.image, 0.3, 0.6) == colour_at(Image.open(jpeg), 0.3, 0.6)
    assert got.note.startswith("read from its JPEG IMG_7.JPG, the raw itself cannot be: ")
    assert decoding.decode(jpeg, 500).note is None
    # the JPEG as bad as the raw: the raw's own reason, not the JPEG's
    jpeg.write_bytes(b"not a jpeg")
    with pytest.raises(decoding.PhotoError, match="truncated or damaged raw|unknown camera"):
        decoding.decode(raw_path, 500, pair=jpeg)


def test_indexing_hands_the_pass_each_raws_jpeg(tmp_path, catalog):
    folder = tmp_path / "shoot"
    shoot(folder, 2)
    save_jpeg(folder / "solo.jpg", photo((320, 240)))
    report = index([folder], catalog, "m")
    pairs = {Path(t.path).name: t.pair and Path(t.pair).name for t in report.todo}
    assert pairs == {"IMG_0.DNG": "IMG_0.JPG", "IMG_1.DNG": "IMG_1.JPG", "solo.jpg": None}


def test_pair_up_names_one_jpeg_per_raw():
    names = ["IMG_1.CR2", "IMG_1.JPG", "IMG_2.NEF", "IMG_2.jpg", "IMG_3.jpg", "img_4.arw", "IMG_4.JPG", "IMG_5.dng"]
    assert raw.pair_up(names) == {"IMG_1.CR2": "IMG_1.JPG", "IMG_2.NEF": "IMG_2.jpg"}


# ---- pairs in the catalog -----------------------------------------------------------------------------------------


def shoot(folder: Path, n: int = 2, orientation: int = 1) -> list[tuple[Path, Path]]:
    out = []
    for i in range(n):
        jpeg = save_jpeg(folder / f"IMG_{i}.JPG", photo((640, 480), seed=i), orientation=orientation)
        dng = write_dng(folder / f"IMG_{i}.DNG", 640, 480, preview=jpeg.read_bytes(), seed=i)
        out.append((dng, jpeg))
    return out


def listed(catalog: Catalog, folder: Path):
    return catalog.photos("m", folder=str(folder))


def test_a_raw_and_its_jpeg_are_one_photo(tmp_path, catalog):
    folder = tmp_path / "shoot"
    pairs = shoot(folder)
    save_jpeg(folder / "solo.jpg", photo((320, 240), seed=9))
    report = index([folder], catalog, "m")
    photos = listed(catalog, folder)
    assert report.found == 3 and len(report.todo) == 3
    assert sorted((p.path, p.pair) for p in photos) == sorted(
        [(str(d), str(j)) for d, j in pairs] + [(str(folder / "solo.jpg"), None)])
    assert photos[0].to_json()["pair"] is not None
    # naming the JPEG on the command line is naming the pair
    assert photo_path(pairs[0][1]) == pairs[0][0]


def test_a_jpeg_catalogued_alone_hands_its_decisions_to_the_raw_that_arrives(tmp_path, catalog):
    folder = tmp_path / "shoot"
    jpeg = save_jpeg(folder / "IMG_0.JPG", photo((640, 480)))
    index([folder], catalog, "m")
    (before,) = listed(catalog, folder)
    CullingSession(catalog).adopt([(before.id, "decision", "keep")])
    CullingSession(catalog).adopt([(before.id, "rating", 4)])
    dng = write_dng(folder / "IMG_0.DNG", 640, 480, preview=jpeg.read_bytes())
    report = index([folder], catalog, "m")
    (after,) = listed(catalog, folder)
    assert (after.id, after.path, after.pair) == (before.id, str(dng), str(jpeg))
    assert (after.decision, after.rating) == ("keep", 4)
    assert [t.path for t in report.todo] == [str(dng)]  # scored again, from the raw


@pytest.mark.parametrize("deleted", ["raw", "jpeg"])
def test_deleting_one_file_of_a_pair_keeps_the_other_with_its_decisions(tmp_path, catalog, deleted):
    folder = tmp_path / "shoot"
    ((dng, jpeg),) = shoot(folder, 1)
    index([folder], catalog, "m")
    (pair,) = listed(catalog, folder)
    CullingSession(catalog).adopt([(pair.id, "decision", "reject")])
    CullingSession(catalog).adopt([(pair.id, "crop", (10.0, 20.0, 300.0, 400.0))])
    (dng if deleted == "raw" else jpeg).unlink()
    index([folder], catalog, "m")
    (left,) = listed(catalog, folder)
    assert left.id == pair.id
    assert left.path == str(jpeg if deleted == "raw" else dng) and left.pair is None
    assert left.decision == "reject" and left.crop == (10.0, 20.0, 300.0, 400.0)
    # and the JPEG coming back makes it a pair again, still with the same decisions
    if deleted == "jpeg":
        save_jpeg(jpeg, photo((640, 480)))
        index([folder], catalog, "m")
        (again,) = listed(catalog, folder)
        assert (again.id, again.pair, again.decision) == (pair.id, str(jpeg), "reject")


def test_a_pair_renamed_together_keeps_its_decisions(tmp_path, catalog):
    folder = tmp_path / "shoot"
    ((dng, jpeg),) = shoot(folder, 1)
    index([folder], catalog, "m")
    (pair,) = listed(catalog, folder)
    CullingSession(catalog).adopt([(pair.id, "rating", 5)])
    os.rename(dng, folder / "trip_0.DNG")
    os.rename(jpeg, folder / "trip_0.JPG")
    index([folder], catalog, "m")
    (moved,) = listed(catalog, folder)
    assert (moved.id, moved.rating, moved.pair) == (pair.id, 5, str(folder / "trip_0.JPG"))


def test_a_pair_whose_files_disagree_on_orientation_is_told(tmp_path, catalog):
    folder = tmp_path / "shoot"
    save_jpeg(folder / "IMG_0.JPG", photo((640, 480)), orientation=6)
    write_dng(folder / "IMG_0.DNG", 640, 480, preview=jpeg_bytes(640, 480), orientation=1)
    save_jpeg(folder / "other.jpg", photo((320, 240)))
    report = index([folder], catalog, "m")
    assert len(report.notes) == 1
    path, message = report.notes[0]
    assert path.endswith("IMG_0.DNG") and "disagree on orientation" in message and "raw's is used" in message
    assert len(listed(catalog, folder)) == 2  # the rest carries on


def test_the_pairs_sidecar_is_the_raws_name_xmp(tmp_path, catalog):
    folder = tmp_path / "shoot"
    ((dng, jpeg),) = shoot(folder, 1)
    save_jpeg(folder / "solo.jpg", photo((320, 240)))
    index([folder], catalog, "m")
    for p in listed(catalog, folder):
        catalog.record([Result(photo_id=p.id, width=640, height=480, score=0.5)], "m")
        CullingSession(catalog).adopt([(p.id, "rating", 3)])
    written = {p.path: sidecars.write_one(p) for p in listed(catalog, folder)}
    assert written[str(dng)] == folder / "IMG_0.xmp"  # Lightroom's and darktable's sidecar for the raw
    assert written[str(folder / "solo.jpg")] == folder / "solo.xmp"  # a JPEG alone: as before
    assert xmp.read(dng).rating == 3


def test_a_raws_sidecar_decisions_come_in_with_it(tmp_path, catalog):
    folder = tmp_path / "shoot"
    ((dng, _),) = shoot(folder, 1)
    xmp.write_sidecar(dng, xmp.XmpUpdate(rating=4, label="Green"))
    assert (folder / "IMG_0.xmp").exists()
    index([folder], catalog, "m")
    (p,) = listed(catalog, folder)
    assert (p.rating, p.decision) == (4, "keep")


# ---- the real raws in ../shared/raw (skipped without them) ----------------------------------------------------------

real = pytest.mark.skipif(not SHARED_RAW.is_dir(), reason="../shared/raw is not here (a fresh clone)")


@real
@pytest.mark.parametrize("name, size, preview", [
    ("RAW_CANON_D30_SRGB.CRW", (2176, 1448), True),
    ("canon_eos_6d.dng", (1224, 816), True),
    ("blackmagic_pocket4k_12bit.dng", (4128, 2176), False),
])
def test_real_raws(tmp_path, name, size, preview):
    src = SHARED_RAW / name
    got = decoding.decode(src, 480)
    assert (got.width, got.height) == size
    assert 480 <= max(got.image.size) <= max(size)
    w, h = got.image.size
    assert abs(w / h - size[0] / size[1]) < 0.02
    info = raw.decode(src, 480)
    assert (info.source == "preview") == preview


@real
def test_a_real_raw_truncated_is_told_and_the_folder_goes_on(tmp_path, catalog):
    folder = tmp_path / "cut"
    folder.mkdir()
    shutil.copy(SHARED_RAW / "blackmagic_pocket4k_12bit.dng", folder / "frame.dng")
    truncate(folder / "frame.dng", 0.5)
    save_jpeg(folder / "ok.jpg", photo((320, 240)))
    with pytest.raises(decoding.PhotoError, match="truncated or damaged"):
        decoding.decode(folder / "frame.dng", 480)
    assert len(index([folder], catalog, "m").todo) == 2


# ---- export -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which, names", [
    ("both", {"IMG_0.DNG", "IMG_0.jpg", "IMG_0.xmp", "alone.DNG", "alone.jpg", "alone.xmp"}),
    ("raw", {"IMG_0.DNG", "IMG_0.xmp", "alone.DNG", "alone.xmp"}),
    ("jpeg", {"IMG_0.jpg", "alone.jpg"}),
])
def test_export_copies_the_raw_the_jpeg_or_both(tmp_path, catalog, which, names):
    from selfie_desk.core.formats import export

    folder = tmp_path / "shoot"
    ((dng, jpeg),) = shoot(folder, 1)
    write_dng(folder / "alone.DNG", 640, 480, preview=jpeg_bytes(640, 480, seed=3))
    index([folder], catalog, "m")
    for p in listed(catalog, folder):
        catalog.record([Result(photo_id=p.id, width=640, height=480, score=0.5)], "m")
        CullingSession(catalog).adopt([(p.id, "decision", "keep")])
        CullingSession(catalog).adopt([(p.id, "crop", (0.0, 0.0, 320.0, 240.0))])
    dest = tmp_path / "out"
    options = export.ExportOptions(raw_files=which, embed_xmp=True, apply_crop=which == "jpeg")
    report = export.export(listed(catalog, folder), dest, options, catalog)
    assert not report.failed, report.failed
    assert {p.name for p in dest.iterdir()} == names
    assert (dest / "IMG_0.DNG").read_bytes() == dng.read_bytes() if which != "jpeg" else True
    if which == "jpeg":  # the crop is cut into the JPEG: the pair's own, and one made from the lone raw
        assert Image.open(dest / "IMG_0.jpg").size == (320, 240)
        assert Image.open(dest / "alone.jpg").size == (320, 240)
    if which == "raw":
        assert xmp.read(dest / "alone.DNG").decision == "keep"
    assert len(report.written) == 2


# ---- scored (the real models) ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_raw_jpeg_folder_scores_one_photo_per_pair_from_the_previews(tmp_path, catalog, scorer):
    from conftest import DEMO

    from selfie_desk.neural import pipeline

    folder = tmp_path / "shoot"
    folder.mkdir()
    portrait = Image.open(DEMO / "astronaut.png").convert("RGB")  # 512 x 512, one face
    jpeg = folder / "IMG_0001.JPG"
    portrait.save(jpeg, quality=92)
    dng = write_dng(folder / "IMG_0001.DNG", 512, 512, preview=jpeg.read_bytes())
    write_dng(folder / "IMG_0002.NEF", 640, 480)  # a NEF-named DNG without a preview: demosaiced
    (folder / "IMG_0003.CR3").write_bytes(b"\0" * 4096)  # not a raw at all: told, the folder goes on
    summary = pipeline.score([folder], catalog, scorer)
    by_name = {Path(p.path).name: p for p in catalog.photos(scorer.model_name, folder=str(folder))}
    assert set(by_name) == {"IMG_0001.DNG", "IMG_0002.NEF", "IMG_0003.CR3"}
    pair = by_name["IMG_0001.DNG"]
    assert pair.pair == str(jpeg) and pair.path == str(dng)
    assert pair.score is not None and (pair.width, pair.height) == (512, 512)
    assert any(f.confidence > 0.8 for f in pair.faces)
    assert by_name["IMG_0002.NEF"].score is not None and by_name["IMG_0002.NEF"].width == 640
    assert "cannot read" in by_name["IMG_0003.CR3"].error
    assert summary.failed == 1


@pytest.mark.slow
def test_a_pair_whose_raw_cannot_be_read_is_scored_from_its_jpeg(tmp_path, catalog, scorer):
    from conftest import DEMO

    from selfie_desk.core.formats.indexing import pair_of
    from selfie_desk.neural import pipeline
    from selfie_desk.neural.crop_search import CropSearch

    folder = tmp_path / "shoot"
    folder.mkdir()
    jpeg = folder / "IMG_0009.JPG"
    Image.open(DEMO / "astronaut.png").convert("RGB").save(jpeg, quality=92)
    broken = folder / "IMG_0009.CR3"
    broken.write_bytes(b"ftypcrx " + os.urandom(6000))  # a camera LibRaw does not know (to it)
    (folder / "IMG_0010.CR3").write_bytes(b"ftypcrx " + os.urandom(6000))  # no JPEG: an error, as before
    summary = pipeline.score([folder], catalog, scorer)
    by_name = {Path(p.path).name: p for p in catalog.photos(scorer.model_name, folder=str(folder))}
    pair = by_name["IMG_0009.CR3"]
    assert pair.error is None and pair.score is not None and pair.pair == str(jpeg)
    assert (pair.width, pair.height) == (512, 512) and any(f.confidence > 0.8 for f in pair.faces)
    assert by_name["IMG_0010.CR3"].error and by_name["IMG_0010.CR3"].score is None
    assert summary.failed == 1 and summary.scored == 1
    told = [(Path(p).name, m) for p, m in summary.index.notes]
    assert told == [("IMG_0009.CR3", told[0][1])] and "read from its JPEG IMG_0009.JPG" in told[0][1]
    # the crop search reads the pair the same way, and gives the whole photo the pass's score
    assert pair_of(broken) == jpeg and pair_of(jpeg) is None
    result = CropSearch(scorer).search_path(broken, "1:1", 1, pair_of(broken))
    assert (result.width, result.height) == (512, 512)
    assert result.whole_score == pytest.approx(pair.score, abs=0.02)


def test_a_pair_is_named_as_both_files_in_the_window(tmp_path, catalog):
    from selfie_desk.core.measures.describe import Form, describe, name_of

    folder = tmp_path / "shoot"
    shoot(folder, 1)
    save_jpeg(folder / "solo.jpg", photo((320, 240)))
    index([folder], catalog, "m")
    pair, solo = listed(catalog, folder)
    assert name_of(pair) == "IMG_0.DNG + JPG" and name_of(solo) == "solo.jpg"
    assert "IMG_0.DNG + JPG" in describe(pair, Form.TOOLTIP)


@pytest.mark.slow
def test_the_window_shows_a_pair_as_one_photo_and_the_loupe_its_preview(qtbot, make_window, tmp_path):
    folder = tmp_path / "shoot"
    jpeg = save_jpeg(folder / "IMG_0.JPG", photo((2000, 1500), seed=4))
    write_dng(folder / "IMG_0.DNG", 2000, 1500, preview=jpeg.read_bytes(), sparse=True)
    save_jpeg(folder / "solo.jpg", photo((320, 240)))
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=90_000):
        assert window.open_folder(folder)
    photos = window.model.photos()
    assert sorted(os.path.basename(p.path) for p in photos) == ["IMG_0.DNG", "solo.jpg"]  # one cell per pair
    pair = next(p for p in photos if p.pair is not None)
    window.selection.select_row(window.model.row_of(pair.id))
    window.show_loupe()
    loupe = window.loupe
    qtbot.waitUntil(lambda: loupe.canvas.image is not None and loupe.canvas.image.width() == 2000, timeout=20_000)
    assert "IMG_0.DNG + JPG" in loupe.pane.caption.text()


@pytest.mark.slow
def test_the_window_shows_a_pair_whose_raw_cannot_be_read_from_its_jpeg_and_says_so(qtbot, make_window, tmp_path):
    folder = tmp_path / "shoot"
    save_jpeg(folder / "IMG_5.JPG", photo((1200, 800), seed=5))
    (folder / "IMG_5.CR3").write_bytes(b"ftypcrx " + os.urandom(6000))  # to this LibRaw, an unknown camera
    window = make_window()
    with qtbot.waitSignal(window.scan_finished, timeout=90_000):
        assert window.open_folder(folder)
    (pair,) = window.model.photos()
    assert pair.error is None and pair.score is not None and pair.pair is not None
    qtbot.waitUntil(lambda: "IMG_5.CR3: read from its JPEG IMG_5.JPG" in window.messages.text(), timeout=5_000)
    window.selection.select_row(window.model.row_of(pair.id))
    window.show_loupe()
    qtbot.waitUntil(lambda: window.loupe.canvas.image is not None and window.loupe.canvas.image.width() == 1200,
                    timeout=20_000)


@pytest.mark.slow
def test_exiftool_reads_the_raws_sidecar_with_the_crop_on_the_stored_image(tmp_path, catalog):
    """What Lightroom and darktable read for a raw: NAME.xmp, its Camera Raw crop measured on the raw as stored
    (here turned 90° clockwise: EXIF 6), checked with exiftool, the reference reader."""
    from export_fixtures import EXIFTOOL, exiftool

    if EXIFTOOL is None:
        pytest.skip("exiftool missing: tools/setup-system.sh installs it")
    folder = tmp_path / "shoot"
    save_jpeg(folder / "IMG_0.JPG", photo((640, 480)), orientation=6)
    dng = write_dng(folder / "IMG_0.DNG", 640, 480, preview=jpeg_bytes(640, 480), orientation=6)
    index([folder], catalog, "m")
    (p,) = listed(catalog, folder)
    catalog.record([Result(photo_id=p.id, width=480, height=640, score=0.5)], "m")
    CullingSession(catalog).adopt([(p.id, "decision", "keep")])
    CullingSession(catalog).adopt([(p.id, "crop", (0.0, 0.0, 240.0, 320.0))])  # the upright photo's top-left quarter
    (p,) = listed(catalog, folder)
    sidecar = sidecars.write_one(p)
    assert sidecar == folder / "IMG_0.xmp"
    out = exiftool("-s", "-XMP-xmp:Label", "-XMP-crs:HasCrop", "-XMP-crs:CropLeft", "-XMP-crs:CropTop",
                   "-XMP-crs:CropRight", "-XMP-crs:CropBottom", str(sidecar)).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["Label"] == "Green" and fields["HasCrop"] == "True"
    # shown turned clockwise, the upright top-left quarter is the sensor's bottom-left quarter
    assert [float(fields[k]) for k in ("CropLeft", "CropTop", "CropRight", "CropBottom")] == \
        pytest.approx([0.0, 0.5, 0.5, 1.0])
    assert dng.exists()
