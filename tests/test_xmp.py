"""XMP: what we write exiftool reads back exactly, what exiftool writes we read, sidecars merge without losing
anything, crops convert between upright pixels and Camera Raw's stored-frame fractions, and indexing takes the
stars other apps left (for new photos only)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from export_fixtures import (
    TO_STORED,
    add_to_catalog,
    exif_json,
    exiftool,
    needs_exiftool,
    open_catalog,
    photos_of,
    save_photo,
    sidecars_for_folder,
    upright_image,
)
from PIL import Image

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats import indexing, xmp
from selfie_desk.core.formats.decoding import apply_orientation

# ---- geometry ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_crop_fractions_are_on_the_stored_image_and_round_trip(orientation: int):
    upright = upright_image((96, 64))
    stored = upright
    for op in TO_STORED[orientation]:
        stored = stored.transpose(op)
    box = (16, 8, 64, 48)  # upright pixels, on the 8-px grid so that every edge is exact
    crop = xmp.crop_to_xmp(box, 96, 64, orientation)
    # Camera Raw's fractions, applied to the stored pixels and then turned upright, give the upright crop.
    sw, sh = stored.size
    cut = stored.crop((round(crop.left * sw), round(crop.top * sh), round(crop.right * sw), round(crop.bottom * sh)))
    assert apply_orientation(cut, orientation).tobytes() == upright.crop(box).tobytes()
    assert xmp.crop_from_xmp(crop, 96, 64, orientation) == pytest.approx(box)


# ---- packets -----------------------------------------------------------------------------------------------------


def test_packet_round_trip_and_bad_xmp():
    update = xmp.XmpUpdate(rating=-1, label="Red", crop=xmp.XmpCrop(0.1, 0.2, 0.9, 0.8))
    info = xmp.parse(xmp.merge(update))
    assert (info.rating, info.label) == (-1, "Red")
    assert info.crop == xmp.XmpCrop(0.1, 0.2, 0.9, 0.8, 0.0)
    with pytest.raises(xmp.XmpError):
        xmp.parse(b"<not xmp")
    with pytest.raises(ValueError):
        xmp.merge(xmp.XmpUpdate(rating=7))


@needs_exiftool
def test_exiftool_reads_exactly_what_we_write_in_a_sidecar(tmp_path: Path):
    photo = save_photo(tmp_path / "IMG_1.jpg", upright_image(), orientation=6)
    update = xmp.XmpUpdate(rating=4, label="Green", crop=xmp.XmpCrop(0.125, 0.25, 0.75, 0.875, 1.5), orientation=6)
    sidecar = xmp.write_sidecar(photo, update)
    assert sidecar == tmp_path / "IMG_1.xmp"
    tags = exif_json(sidecar)
    assert tags["XMP-xmp:Rating"] == 4 and tags["XMP-xmp:Label"] == "Green"
    assert tags["XMP-crs:HasCrop"] is True
    assert (tags["XMP-crs:CropLeft"], tags["XMP-crs:CropTop"], tags["XMP-crs:CropRight"],
            tags["XMP-crs:CropBottom"], tags["XMP-crs:CropAngle"]) == (0.125, 0.25, 0.75, 0.875, 1.5)
    assert tags["XMP-tiff:Orientation"] == 6
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.slow
@needs_exiftool
def test_we_read_what_exiftool_writes(tmp_path: Path):
    photo = save_photo(tmp_path / "a.jpg", upright_image())
    exiftool("-XMP-xmp:Rating=4", "-o", str(tmp_path / "a.xmp"), str(photo))
    assert xmp.read(photo).rating == 4  # Lightroom's NAME.xmp

    (tmp_path / "a.xmp").unlink()
    exiftool("-XMP-xmp:Rating=-1", "-XMP-xmp:Label=Purple", "-o", str(tmp_path / "a.jpg.xmp"), str(photo))
    info = xmp.read(photo)  # darktable's NAME.EXT.xmp
    assert (info.rating, info.label) == (-1, "Purple")

    (tmp_path / "a.jpg.xmp").unlink()
    assert xmp.read(photo) == xmp.XmpInfo()
    exiftool("-overwrite_original", "-XMP-xmp:Rating=3", "-XMP-crs:HasCrop=True", "-XMP-crs:CropLeft=0.1",
             "-XMP-crs:CropTop=0.2", "-XMP-crs:CropRight=0.6", "-XMP-crs:CropBottom=0.7", "-XMP-crs:CropAngle=-2",
             str(photo))
    info = xmp.read(photo)  # embedded in the JPEG
    assert info.rating == 3 and info.crop == xmp.XmpCrop(0.1, 0.2, 0.6, 0.7, -2.0)

    for fmt, name in (("PNG", "b.png"), ("WEBP", "c.webp")):
        other = save_photo(tmp_path / name, upright_image(), fmt=fmt)
        exiftool("-overwrite_original", "-XMP-xmp:Rating=5", str(other))
        assert xmp.read(other).rating == 5, name


@needs_exiftool
def test_merging_into_a_sidecar_keeps_every_foreign_field(tmp_path: Path):
    photo = save_photo(tmp_path / "IMG_2.jpg", upright_image(), orientation=8)
    sidecar = tmp_path / "IMG_2.xmp"
    exiftool("-XMP-xmp:Rating=2", "-XMP-xmp:Label=Blue", "-XMP-dc:Creator=Ann", "-XMP-dc:Subject=beach",
             "-XMP-dc:Subject=family", "-XMP-crs:Exposure2012=0.5", "-o", str(sidecar), str(photo))
    # A namespace exiftool does not know, as another app would leave it
    text = sidecar.read_text(encoding="utf-8").replace(
        "</rdf:RDF>", "<rdf:Description rdf:about='' xmlns:acme='http://example.com/acme/1.0/'>"
        "<acme:Mood>sunny</acme:Mood></rdf:Description></rdf:RDF>")
    sidecar.write_text(text, encoding="utf-8")
    os.chmod(sidecar, 0o640)
    before = exif_json(sidecar)

    xmp.write_sidecar(photo, xmp.XmpUpdate(rating=5, label="Green", crop=xmp.XmpCrop(0.1, 0.1, 0.9, 0.9),
                                           orientation=1))
    after = exif_json(sidecar)
    assert after["XMP-xmp:Rating"] == 5 and after["XMP-xmp:Label"] == "Green" and after["XMP-crs:HasCrop"] is True
    assert after["XMP-tiff:Orientation"] == 8  # the sidecar's own orientation is not ours to change
    for key, value in before.items():
        if key.startswith(("XMP-", "XMP:")) and key not in ("XMP-xmp:Rating", "XMP-xmp:Label"):
            assert after.get(key) == value, key
    assert after["XMP-dc:Subject"] == ["beach", "family"] and after["XMP-crs:Exposure2012"] == 0.5
    merged = sidecar.read_text(encoding="utf-8")
    assert "acme:Mood" in merged and "sunny" in merged and "xmlns:acme" in merged
    assert merged.count("Rating") == 1  # one value, not two competing ones
    assert os.stat(sidecar).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_malformed_sidecar_is_left_alone(tmp_path: Path):
    photo = save_photo(tmp_path / "x.jpg", upright_image())
    (tmp_path / "x.xmp").write_text("<x:xmpmeta oops", encoding="utf-8")
    with pytest.raises(xmp.XmpError, match="not valid XMP"):
        xmp.write_sidecar(photo, xmp.XmpUpdate(rating=3))
    assert (tmp_path / "x.xmp").read_text(encoding="utf-8") == "<x:xmpmeta oops"
    assert xmp.read(photo) == xmp.XmpInfo()  # and reading it is no error either


# ---- sidecars from the catalog -------------------------------------------------------------------------------------


@needs_exiftool
def test_sidecars_for_the_catalogs_decisions(tmp_path: Path):
    folder = tmp_path / "shoot"
    up = upright_image((96, 64))
    for name, orientation in (("a.jpg", 6), ("b.jpg", 1), ("c.jpg", 1), ("d.jpg", 1)):
        save_photo(folder / name, up, orientation=orientation)
    originals = {p.name: p.read_bytes() for p in folder.iterdir()}
    with open_catalog() as catalog:
        add_to_catalog(catalog, folder / "a.jpg", (96, 64), decision="keep", rating=3, crop=(16, 8, 64, 48))
        add_to_catalog(catalog, folder / "b.jpg", (96, 64), decision="reject")
        add_to_catalog(catalog, folder / "c.jpg", (96, 64), rating=5)
        add_to_catalog(catalog, folder / "d.jpg", (96, 64))  # nothing decided: no sidecar
        report = sidecars_for_folder(folder, catalog)
    assert sorted(Path(p).name for p in report.written) == ["a.xmp", "b.xmp", "c.xmp"] and not report.failed
    assert not (folder / "d.xmp").exists()
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".jpg"} == originals
    a = exif_json(folder / "a.xmp")
    assert (a["XMP-xmp:Rating"], a["XMP-xmp:Label"], a["XMP-tiff:Orientation"]) == (3, "Green", 6)
    crop = xmp.XmpCrop(a["XMP-crs:CropLeft"], a["XMP-crs:CropTop"], a["XMP-crs:CropRight"], a["XMP-crs:CropBottom"])
    assert xmp.crop_from_xmp(crop, 96, 64, 6) == pytest.approx((16, 8, 64, 48), abs=0.01)
    b = exif_json(folder / "b.xmp")
    assert (b["XMP-xmp:Rating"], b["XMP-xmp:Label"]) == (-1, "Red")
    assert exif_json(folder / "c.xmp")["XMP-xmp:Rating"] == 5


# ---- indexing reads other apps' ratings ----------------------------------------------------------------------------


@needs_exiftool
def test_indexing_takes_ratings_from_xmp_for_new_photos_only(tmp_path: Path):
    folder = tmp_path / "rated"
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        save_photo(folder / name, upright_image(seed=len(name) + ord(name[0])))
    exiftool("-XMP-xmp:Rating=4", "-o", str(folder / "a.xmp"), str(folder / "a.jpg"))
    exiftool("-overwrite_original", "-XMP-xmp:Rating=-1", str(folder / "b.jpg"))
    exiftool("-XMP-xmp:Rating=2", "-o", str(folder / "c.jpg.xmp"), str(folder / "c.jpg"))
    with open_catalog() as catalog:
        report = indexing.index([folder], catalog, "default")
        assert report.new == 4 and report.xmp_ratings == 3
        got = photos_of(catalog, folder)
        assert (got["a.jpg"].rating, got["a.jpg"].decision) == (4, None)
        assert (got["b.jpg"].rating, got["b.jpg"].decision) == (0, "reject")
        assert got["c.jpg"].rating == 2 and got["d.jpg"].rating == 0 and got["d.jpg"].decision is None

        CullingSession(catalog).adopt([(got["a.jpg"].id, "rating", 1)])  # the user decides otherwise in Selfie Desk
        exiftool("-overwrite_original", "-XMP-xmp:Rating=5", str(folder / "a.xmp"))
        indexing.index([folder], catalog, "default")
        assert photos_of(catalog, folder)["a.jpg"].rating == 1


def test_picks_written_to_sidecars_come_back_in_a_fresh_catalog(tmp_path: Path):
    """Issue 16, item 8: File > Write XMP Sidecars writes a pick as xmp:Label="Green"; a fresh catalog read the
    rejects and the stars back, but not the picks."""
    from selfie_desk.core.storage.catalog import Catalog

    folder = tmp_path / "shoot"
    for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg", "d.jpg")):
        save_photo(folder / name, upright_image(seed=i))
    with open_catalog() as catalog:
        add_to_catalog(catalog, folder / "a.jpg", (96, 64), decision="keep", rating=3)
        add_to_catalog(catalog, folder / "b.jpg", (96, 64), decision="keep")
        add_to_catalog(catalog, folder / "c.jpg", (96, 64), decision="reject")
        add_to_catalog(catalog, folder / "d.jpg", (96, 64), rating=2)
        assert len(sidecars_for_folder(folder, catalog).written) == 4
    with Catalog(tmp_path / "fresh" / "catalog.db") as fresh:
        report = indexing.index([folder], fresh, "default")
        assert report.new == 4 and report.xmp_ratings == 4
        got = {name: (p.decision, p.rating) for name, p in photos_of(fresh, folder).items()}
    assert got == {"a.jpg": ("keep", 3), "b.jpg": ("keep", 0), "c.jpg": ("reject", 0), "d.jpg": (None, 2)}


def test_an_xmp_label_means_a_pick_only_when_green():
    assert xmp.XmpInfo(label="Green").decision == "keep"
    assert xmp.XmpInfo(label=" green ").decision == "keep"
    assert xmp.XmpInfo(label="Yellow").decision is None
    assert xmp.XmpInfo(rating=-1, label="Green").decision == "reject"
    assert xmp.XmpInfo(rating=4).decision is None


def test_reading_a_photo_without_xmp_or_with_junk(tmp_path: Path):
    photo = save_photo(tmp_path / "p.jpg", upright_image())
    assert xmp.read(photo).empty
    Image.new("RGB", (8, 8)).save(tmp_path / "q.bmp")
    assert xmp.read(tmp_path / "q.bmp").empty
    (tmp_path / "r.jpg").write_bytes(b"\xff\xd8\xff\xe1\x00")  # truncated
    assert xmp.read(tmp_path / "r.jpg").empty
    shutil.copy(photo, tmp_path / "s.jpg")
    (tmp_path / "s.xmp").write_bytes(b"\x00\x01 garbage")
    assert xmp.read(tmp_path / "s.jpg").empty


# ---- every decision reads back into a fresh catalog (issue 31) ------------------------------------------------------


def _fresh_index(folder: Path, tmp_path: Path, name: str = "fresh") -> dict:
    from selfie_desk.core.storage.catalog import Catalog

    with Catalog(tmp_path / name / "catalog.db") as fresh:
        indexing.index([folder], fresh, "default")
        return {n: (p.decision, p.rating, p.crop) for n, p in photos_of(fresh, folder).items()}


@needs_exiftool
def test_crops_picks_rejects_stars_come_back_from_our_sidecars_in_a_fresh_catalog(tmp_path: Path):
    """Crops were written (Camera Raw's fields) but a fresh catalog read them back as null; a 4:5 crop must come
    back as the same whole-pixel box, so its aspect is exactly 4:5 still, whatever the EXIF orientation."""
    folder = tmp_path / "shoot"
    up = upright_image((400, 320))
    cases = {"a.jpg": (6, "keep", 3, (40.0, 20.0, 200.0, 220.0)),  # 4:5, turned
             "b.jpg": (1, "reject", 0, (10.0, 30.0, 390.0, 250.0)),
             "c.jpg": (8, None, 5, (0.0, 0.0, 300.0, 200.0)),  # 3:2, turned the other way
             "d.jpg": (3, "keep", 0, None)}
    with open_catalog() as catalog:
        for name, (orientation, decision, rating, crop) in cases.items():
            save_photo(folder / name, up, orientation=orientation)
            add_to_catalog(catalog, folder / name, (400, 320), decision=decision, rating=rating, crop=crop)
        assert len(sidecars_for_folder(folder, catalog).written) == 4
    a = exif_json(folder / "a.xmp")  # what exiftool reads in ours: Camera Raw's fields, on the stored frame
    assert a["XMP-crs:HasCrop"] is True and a["XMP-tiff:Orientation"] == 6
    got = _fresh_index(folder, tmp_path)
    assert got == {name: (d, r, c) for name, (_o, d, r, c) in cases.items()}, got
    x0, y0, x1, y1 = got["a.jpg"][2]
    assert (x1 - x0) * 5 == (y1 - y0) * 4  # the aspect, exactly


@needs_exiftool
def test_crops_exiftool_writes_in_a_sidecar_or_embedded_come_back(tmp_path: Path):
    folder = tmp_path / "shoot"
    save_photo(folder / "side.jpg", upright_image((400, 320)), orientation=6)
    save_photo(folder / "inside.jpg", upright_image((400, 320), seed=2))
    crop = ["-XMP-crs:HasCrop=True", "-XMP-crs:CropLeft=0.1", "-XMP-crs:CropTop=0.2", "-XMP-crs:CropRight=0.6",
            "-XMP-crs:CropBottom=0.7", "-XMP-xmp:Rating=2", "-XMP-xmp:Label=Green"]
    exiftool(*crop, "-o", str(folder / "side.xmp"), str(folder / "side.jpg"))  # Lightroom's sidecar
    exiftool("-overwrite_original", *crop, str(folder / "inside.jpg"))  # embedded, as an exported copy has it
    got = _fresh_index(folder, tmp_path)
    # upright 400 x 320 stored turned (6): Camera Raw's (0.1, 0.2)-(0.6, 0.7) on the stored frame is x 120-320, y 32-192
    assert got["side.jpg"] == ("keep", 2, (120.0, 32.0, 320.0, 192.0)), got
    assert got["inside.jpg"] == ("keep", 2, (40.0, 64.0, 240.0, 224.0)), got


DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="4"
   xmpMM:DerivedFrom="{name}"
   darktable:xmp_version="5"
   darktable:raw_params="0"
   darktable:auto_presets_applied="1"
   darktable:history_end="{end}"
   darktable:iop_order_version="4">
   <darktable:colorlabels>
    <rdf:Seq>
     <rdf:li>2</rdf:li>
    </rdf:Seq>
   </darktable:colorlabels>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="crop" darktable:enabled="1" darktable:modversion="1"
      darktable:params="{first}" darktable:multi_name="" darktable:multi_priority="0"/>
     <rdf:li darktable:num="1" darktable:operation="exposure" darktable:enabled="1" darktable:modversion="6"
      darktable:params="00000000000080b9" darktable:multi_name="" darktable:multi_priority="0"/>
     <rdf:li darktable:num="2" darktable:operation="crop" darktable:enabled="1" darktable:modversion="1"
      darktable:params="{second}" darktable:multi_name="" darktable:multi_priority="0"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _darktable_crop(cx: float, cy: float, cw: float, ch: float, ratio_n: int, ratio_d: int,
                    compressed: bool = False) -> str:
    """darktable's crop module parameters (src/iop/crop.c: left, top, right, bottom as fractions of the image
    after its flip module, then the aspect) as its XMP writes them: hex, or "gz" + factor + base64 of zlib."""
    import base64
    import struct
    import zlib

    blob = struct.pack("<4f2i", cx, cy, cw, ch, ratio_n, ratio_d)
    if compressed:
        return "gz01" + base64.b64encode(zlib.compress(blob)).decode()
    return blob.hex()


@needs_exiftool
@pytest.mark.parametrize("end, compressed", [(3, False), (1, True)])
def test_darktables_stars_colour_label_and_crop_come_back(tmp_path: Path, end: int, compressed: bool):
    """darktable writes its colour labels as darktable:colorlabels (2 is green, never xmp:Label) and its crop in
    its history (the last crop entry before history_end wins), measured on the image after its flip: upright."""
    folder = tmp_path / "shoot"
    save_photo(folder / "IMG_7.jpg", upright_image((400, 320)), orientation=6)  # upright 400 x 320, stored turned
    first = _darktable_crop(0.1, 0.1, 0.9, 0.9, 0, 0, compressed)
    second = _darktable_crop(0.2, 0.25, 0.8, 0.7, 4, 5, compressed)
    sidecar = folder / "IMG_7.jpg.xmp"  # darktable's NAME.EXT.xmp
    sidecar.write_text(DARKTABLE_SIDECAR.format(name="IMG_7.jpg", end=end, first=first, second=second))
    assert "XMP-xmp:Rating" in exif_json(sidecar)  # well-formed XMP, as exiftool reads it
    got = _fresh_index(folder, tmp_path)["IMG_7.jpg"]
    box = (80.0, 80.0, 320.0, 224.0) if end == 3 else (40.0, 32.0, 360.0, 288.0)  # upright: no turning back
    assert got == ("keep", 4, box), got
