"""Exporting: which photos, crops in upright coordinates for every EXIF orientation, EXIF/ICC/GPS kept (or GPS
stripped), embedded XMP that exiftool reads, never overwriting, atomic writes and clear per-file failures."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from export_fixtures import (
    add_to_catalog,
    exif_json,
    export_folder,
    leftovers,
    needs_exiftool,
    open_catalog,
    photos_of,
    save_photo,
    upright_image,
)
from PIL import Image

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats import export, xmp
from selfie_desk.core.formats.export import ExportOptions
from selfie_desk.core.storage.catalog import CropProposal, Photo


def P(pid: int, score: float | None, decision: str | None = None, rating: int = 0, error: str | None = None) -> Photo:
    return Photo(pid, f"/x/{pid}.jpg", 10, 10, None, error, score, decision, rating, None)


def ids(photos) -> list[int]:
    return [p.id for p in photos]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


# ---- selection rules ---------------------------------------------------------------------------------------------


def test_selection_rules():
    photos = [P(1, 0.9, "reject"), P(2, 0.8), P(3, 0.7, "keep"), P(4, None, "keep"), P(5, 0.6, "keep"),
              P(6, 0.95, "keep", error="damaged"), P(7, 0.3)]
    assert ids(export.select(photos, ExportOptions(selection="picks"))) == [3, 5, 4]  # best first, unscored last
    assert ids(export.select(photos, ExportOptions(selection="top", top_n=2))) == [2, 3]  # never a reject
    assert ids(export.select(photos, ExportOptions(selection="top", top_n=50))) == [2, 3, 5, 7]
    assert ids(export.select(photos, ExportOptions(selection="min_score", min_score=0.65))) == [2, 3]
    assert ids(export.select(photos, ExportOptions(selection="ids", photo_ids=(7, 1, 4)))) == [1, 7, 4]
    with pytest.raises(export.ExportError):
        export.select(photos, ExportOptions(selection="top", top_n=0))
    with pytest.raises(export.ExportError):
        export.select(photos, ExportOptions(selection="everything"))


def test_name_patterns():
    p = Photo(1, "/x/IMG_0042.JPG", 10, 10, "2024-05-06T07:08:09", None, 0.87654, "keep", 4, None)
    assert export.file_stem("{rank} {name}", p, 7, 120) == "007 IMG_0042"
    assert export.file_stem("{date}_{score}_{rating}_{decision}_{ext}", p, 1, 1) == "2024-05-06_0.877_4_pick_jpg"
    assert export.file_stem("a/b:{name}", p, 1, 1) == "a_b_IMG_0042"
    with pytest.raises(export.ExportError, match="unknown field"):
        export.check_pattern("{nmae}")
    with pytest.raises(export.ExportError):
        export.check_pattern("{rank")


# ---- fidelity ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_crop_applied_in_upright_coordinates(tmp_path: Path, orientation: int):
    up = upright_image((96, 64), seed=orientation)
    src = save_photo(tmp_path / "src" / "p.png", up, orientation=orientation, fmt="PNG")
    box = (16.0, 8.0, 64.0, 48.0)
    with open_catalog() as catalog:
        add_to_catalog(catalog, src, (96, 64), decision="keep", crop=box)
        report = export_folder(tmp_path / "src", tmp_path / "out", ExportOptions(apply_crop=True), catalog)
    assert not report.failed, report.outcomes
    with Image.open(report.written[0].target) as out:
        assert out.getexif().get(0x0112) == 1
        assert out.size == (48, 40)
        assert out.convert("RGB").tobytes() == up.crop((16, 8, 64, 48)).tobytes()


def test_uncropped_export_is_upright_and_resized(tmp_path: Path):
    up = upright_image((96, 64))
    src = save_photo(tmp_path / "src" / "p.jpg", up, orientation=6)
    with open_catalog() as catalog:
        add_to_catalog(catalog, src, (96, 64), decision="keep", crop=(0, 0, 10, 10))
        report = export_folder(tmp_path / "src", tmp_path / "out", ExportOptions(long_edge=48), catalog)
    with Image.open(report.written[0].target) as out:
        assert out.size == (48, 32) and out.getexif().get(0x0112) == 1
        got = np.asarray(out.convert("RGB"), np.int16)
    expected = up.resize((48, 32), Image.Resampling.LANCZOS)
    right = np.abs(got - np.asarray(expected, np.int16)).mean()
    wrong = np.abs(got - np.asarray(expected.transpose(Image.Transpose.ROTATE_180), np.int16)).mean()
    assert wrong > 4 * right, (right, wrong)  # JPEG twice and a resize: close, not identical (exact: PNG tests)


def test_a_proposed_crop_is_cut_only_when_asked_for_apart(tmp_path: Path):
    """Applying the crops means the accepted ones: a proposal nobody reviewed is never cut by default (issue 16)."""
    up = upright_image((96, 64))
    src = save_photo(tmp_path / "src" / "p.png", up, orientation=3, fmt="PNG")
    with open_catalog() as catalog:
        pid = add_to_catalog(catalog, src, (96, 64), decision="keep")
        catalog.save_crop_proposal(pid, "default", CropProposal("original", (8, 0, 88, 56), 0.7, [], 0.5))
        accepted_only = export_folder(tmp_path / "src", tmp_path / "a", ExportOptions(apply_crop=True),
                                             catalog)
        proposed = export_folder(tmp_path / "src", tmp_path / "b", ExportOptions(apply_proposals=True),
                                        catalog)
        rows = export.list_rows(catalog.photos("default", folder=str(tmp_path / "src")), catalog, "default")
    with Image.open(accepted_only.written[0].target) as out:
        assert out.size == (96, 64)  # whole
    with Image.open(proposed.written[0].target) as out:
        assert out.convert("RGB").tobytes() == up.crop((8, 0, 88, 56)).tobytes()
    assert rows[0]["crop"] == [8, 0, 88, 56] and rows[0]["crop_accepted"] is False


def test_a_keep_as_is_proposal_crops_nothing(tmp_path: Path):
    """The crop search proposes the whole frame when no crop scores clearly higher (issue 12): no crop."""
    up = upright_image((96, 64))
    src = save_photo(tmp_path / "src" / "p.png", up, fmt="PNG")
    with open_catalog() as catalog:
        pid = add_to_catalog(catalog, src, (96, 64), decision="keep")
        catalog.save_crop_proposal(pid, "default", CropProposal("original", (0, 0, 96, 64), 0.7, [], 0.7))
        report = export_folder(tmp_path / "src", tmp_path / "out", ExportOptions(apply_proposals=True),
                                      catalog)
        photo = catalog.photos("default", folder=str(tmp_path / "src"))[0]
        assert export.proposed_crop(photo, catalog, "default") is None
    with Image.open(report.written[0].target) as out:
        assert out.size == (96, 64)


def test_proposals_never_replace_an_accepted_crop_and_are_not_applied_without_apply_crop(tmp_path: Path):
    up = upright_image((96, 64))
    src = save_photo(tmp_path / "src" / "p.png", up, fmt="PNG")
    with open_catalog() as catalog:
        pid = add_to_catalog(catalog, src, (96, 64), decision="keep", crop=(16.0, 8.0, 64.0, 48.0))
        catalog.save_crop_proposal(pid, "default", CropProposal("original", (8, 0, 88, 56), 0.7, [], 0.5))
        both = export_folder(tmp_path / "src", tmp_path / "both",
                                    ExportOptions(apply_crop=True, apply_proposals=True), catalog)
        neither = export_folder(tmp_path / "src", tmp_path / "neither",
                                       ExportOptions(apply_proposals=True), catalog)
    with Image.open(both.written[0].target) as out:
        assert out.size == (48, 40)
    with Image.open(neither.written[0].target) as out:
        assert out.size == (96, 64)  # the accepted crop was not asked for; the proposal never stands in for it


@needs_exiftool
@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_exiftool_reads_exif_icc_and_embedded_xmp(tmp_path: Path, fmt: str):
    src = save_photo(tmp_path / "src" / "IMG_7.jpg", upright_image((64, 96)), orientation=8)
    box = (8.0, 16.0, 40.0, 80.0)  # upright: the photo is 64 x 96 once turned
    with open_catalog() as catalog:
        add_to_catalog(catalog, src, (64, 96), decision="keep", rating=4, crop=box)
        kept = export_folder(tmp_path / "src", tmp_path / "kept",
                                    ExportOptions(format=fmt, embed_xmp=True), catalog)
        stripped = export_folder(tmp_path / "src", tmp_path / "stripped",
                                        ExportOptions(format=fmt, embed_xmp=True, strip_gps=True, apply_crop=True),
                                        catalog)
    tags = exif_json(Path(kept.written[0].target))
    assert Path(kept.written[0].target).suffix == {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}[fmt]
    assert tags["IFD0:Orientation"] == 1
    assert (tags["IFD0:Make"], tags["IFD0:Model"]) == ("Canon", "EOS R5")
    assert tags["ExifIFD:DateTimeOriginal"] == "2024:05:06 07:08:09"
    assert tags["GPS:GPSLatitude"] == pytest.approx(48.858333, abs=1e-4)
    assert tags["ICC_Profile:ProfileDescription"].startswith("sRGB")
    assert (tags["XMP-xmp:Rating"], tags["XMP-xmp:Label"], tags["XMP-crs:HasCrop"]) == (4, "Green", True)
    # The copy is upright, so Camera Raw's fractions are simply the crop over the upright size.
    assert (tags["XMP-crs:CropLeft"], tags["XMP-crs:CropTop"], tags["XMP-crs:CropRight"],
            tags["XMP-crs:CropBottom"], tags["XMP-crs:CropAngle"]) == pytest.approx((0.125, 1 / 6, 0.625, 5 / 6, 0),
                                                                                    abs=1e-6)
    with Image.open(kept.written[0].target) as im:
        assert im.size == (64, 96)

    tags = exif_json(Path(stripped.written[0].target))
    assert not any(k.startswith("GPS:") for k in tags)
    assert tags["IFD0:Make"] == "Canon" and tags["ICC_Profile:ProfileDescription"].startswith("sRGB")
    assert tags["XMP-xmp:Rating"] == 4 and "XMP-crs:HasCrop" not in tags  # the crop is in the pixels already
    info = xmp.read(Path(stripped.written[0].target))
    assert info.rating == 4 and info.crop is None


def test_a_reject_travels_as_minus_one(tmp_path: Path):
    src = save_photo(tmp_path / "src" / "r.jpg", upright_image())
    with open_catalog() as catalog:
        pid = add_to_catalog(catalog, src, (96, 64), decision="reject", rating=2)
        report = export_folder(tmp_path / "src", tmp_path / "out",
                                      ExportOptions(selection="ids", photo_ids=(pid,), embed_xmp=True), catalog)
    info = xmp.read(Path(report.written[0].target))
    assert (info.rating, info.label) == (-1, "Red")


# ---- safety ------------------------------------------------------------------------------------------------------


def _three_picks(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    with open_catalog() as catalog:
        for i in range(3):
            add_to_catalog(catalog, save_photo(src / f"p{i}.jpg", upright_image(seed=i)), (96, 64),
                           score=0.9 - i / 10, decision="keep")
    return src


def test_never_overwrites_and_originals_never_change(tmp_path: Path):
    src = _three_picks(tmp_path)
    before = digest(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "1 p0.jpg").write_bytes(b"someone else's file")
    with open_catalog() as catalog:
        first = export_folder(src, out, ExportOptions(name_pattern="{rank} {name}"), catalog)
        second = export_folder(src, out, ExportOptions(name_pattern="{rank} {name}"), catalog)
        skipped = export_folder(src, out, ExportOptions(name_pattern="{rank} {name}", skip_existing=True),
                                       catalog)
    assert (out / "1 p0.jpg").read_bytes() == b"someone else's file"
    assert [Path(o.target).name for o in first.outcomes] == ["1 p0 (2).jpg", "2 p1.jpg", "3 p2.jpg"]
    assert [Path(o.target).name for o in second.outcomes] == ["1 p0 (3).jpg", "2 p1 (2).jpg", "3 p2 (2).jpg"]
    assert len(skipped.skipped) == 3 and not skipped.written and not skipped.failed
    assert digest(src) == before
    assert leftovers(out) == []
    assert "3 skipped" in skipped.summary()


def test_atomic_writes_and_a_full_disk(tmp_path: Path, monkeypatch):
    src = _three_picks(tmp_path)
    out = tmp_path / "out"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file hits a full disk halfway
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(export.os, "fsync", fsync)
    with open_catalog() as catalog:
        report = export_folder(src, out, ExportOptions(), catalog)
    assert [Path(o.target).name for o in report.written] == ["p0.jpg", "p2.jpg"]
    assert len(report.failed) == 1 and report.failed[0].source.endswith("p1.jpg")
    assert "full" in report.failed[0].error and "kept" in report.failed[0].error
    assert leftovers(out) == [] and sorted(p.name for p in out.iterdir()) == ["p0.jpg", "p2.jpg"]
    with Image.open(out / "p0.jpg") as im:
        im.load()  # complete, readable files only


def test_a_vanished_source_fails_alone(tmp_path: Path):
    src = _three_picks(tmp_path)
    (src / "p1.jpg").unlink()
    with open_catalog() as catalog:
        photos = list(photos_of(catalog, src).values())
        report = export.export(photos, tmp_path / "out", ExportOptions(), catalog)
    assert len(report.written) == 2 and len(report.failed) == 1
    assert "gone" in report.failed[0].error and report.failed[0].source.endswith("p1.jpg")


def _make_read_only(folder: Path) -> str:
    """chmod where it binds; as root (where it does not) the immutable attribute; '' if neither can."""
    os.chmod(folder, 0o555)
    try:
        (folder / ".probe").touch()
    except OSError:
        return "chmod"
    (folder / ".probe").unlink()
    os.chmod(folder, 0o755)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return "chattr"
    return ""


def test_a_read_only_destination_is_a_clear_message(tmp_path: Path):
    src = _three_picks(tmp_path)
    out = tmp_path / "readonly"
    out.mkdir()
    how = _make_read_only(out)
    if not how:
        pytest.skip("cannot make a folder read-only here (root without chattr)")
    try:
        with open_catalog() as catalog:
            report = export_folder(src, out, ExportOptions(), catalog)
            listed = export_folder(src, out, ExportOptions(list_only=True), catalog)
    finally:
        if how == "chattr":
            subprocess.run(["chattr", "-i", str(out)], check=True)
        os.chmod(out, 0o755)
    assert len(report.failed) == 3 and not report.written
    assert all("cannot write to" in o.error and str(out) in o.error for o in report.failed)
    assert listed.failed and not listed.lists
    assert list(out.iterdir()) == []


def test_cancel_keeps_what_was_written_and_progress_is_reported(tmp_path: Path):
    import threading

    src = _three_picks(tmp_path)
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append((p.done, p.total))
        cancel.set()  # cancel after the first file

    with open_catalog() as catalog:
        report = export_folder(src, tmp_path / "out", ExportOptions(), catalog, progress=progress, cancel=cancel)
    assert report.cancelled and len(report.written) == 1 and seen == [(1, 3)]
    assert "cancelled" in report.summary()


def test_list_only_writes_csv_and_json(tmp_path: Path):
    src = _three_picks(tmp_path)
    out = tmp_path / "out"
    with open_catalog() as catalog:
        CullingSession(catalog).adopt([(photos_of(catalog, src)["p0.jpg"].id, "crop", (1.0, 2.0, 30.0, 40.0))])
        report = export_folder(src, out, ExportOptions(list_only=True), catalog)
        again = export_folder(src, out, ExportOptions(list_only=True), catalog)
    assert sorted(Path(p).name for p in report.lists) == ["selfie-desk-export.csv", "selfie-desk-export.json"]
    assert sorted(Path(p).name for p in again.lists) == ["selfie-desk-export (2).csv", "selfie-desk-export (2).json"]
    rows = json.loads((out / "selfie-desk-export.json").read_text())
    assert [Path(r["path"]).name for r in rows] == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert rows[0]["crop"] == [1.0, 2.0, 30.0, 40.0] and rows[0]["decision"] == "keep"
    assert rows[0]["score"] == pytest.approx(0.9)
    csv_text = (out / "selfie-desk-export.csv").read_text()
    assert csv_text.splitlines()[0].startswith("rank,path,score,decision,rating,crop")
    assert not any(p.suffix == ".jpg" for p in out.iterdir())


@pytest.mark.slow
@needs_exiftool
def test_an_upright_jpeg_is_copied_losslessly_and_keeps_its_own_xmp(tmp_path: Path):
    from export_fixtures import exiftool

    src = save_photo(tmp_path / "src" / "p.jpg", upright_image(), orientation=1)
    exiftool("-overwrite_original", "-XMP-dc:Subject=beach", "-XMP-xmp:Rating=1", str(src))
    turned = save_photo(tmp_path / "src" / "q.jpg", upright_image(), orientation=6)
    exiftool("-overwrite_original", "-XMP-dc:Subject=city", "-XMP-tiff:Orientation=6", "-XMP-crs:HasCrop=True",
             "-XMP-crs:CropLeft=0.5", "-XMP-crs:CropTop=0", "-XMP-crs:CropRight=1", "-XMP-crs:CropBottom=1",
             str(turned))
    original = src.read_bytes()
    with open_catalog() as catalog:
        add_to_catalog(catalog, src, (96, 64), decision="keep", rating=5)
        add_to_catalog(catalog, turned, (64, 96), decision="keep", score=0.4)
        plain = export_folder(tmp_path / "src", tmp_path / "plain", ExportOptions(), catalog)
        tagged = export_folder(tmp_path / "src", tmp_path / "tagged", ExportOptions(embed_xmp=True), catalog)
    assert (tmp_path / "plain" / "p.jpg").read_bytes() == original  # nothing to change: the very same bytes
    copy = (tmp_path / "tagged" / "p.jpg").read_bytes()
    assert copy[copy.index(b"\xff\xda"):] == original[original.index(b"\xff\xda"):]  # image data untouched
    tags = exif_json(tmp_path / "tagged" / "p.jpg")
    assert tags["XMP-xmp:Rating"] == 5 and tags["XMP-dc:Subject"] == "beach" and tags["XMP-xmp:Label"] == "Green"
    checked = exif_json(tmp_path / "tagged" / "p.jpg", "-validate", "-warning", "-a")
    assert checked["ExifTool:Validate"].split()[0] == "0", checked  # no errors (the fixture's EXIF lacks tags:
    assert checked["ExifTool:Validate"] == exif_json(src, "-validate")["ExifTool:Validate"]  # warnings as before)
    # Re-encoded upright: the source packet's keywords stay, its orientation and crop (now wrong) do not
    tags = exif_json(tmp_path / "tagged" / "q.jpg")
    assert tags["XMP-dc:Subject"] == "city" and tags["IFD0:Orientation"] == 1
    assert "XMP-tiff:Orientation" not in tags and "XMP-crs:HasCrop" not in tags
    assert len(plain.written) == 2 and len(tagged.written) == 2
