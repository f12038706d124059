"""`selfie-desk export` and `selfie-desk sidecars`: the options, exit codes 0 / 1 / 2, failures named on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from export_fixtures import add_to_catalog, exif_json, needs_exiftool, open_catalog, save_photo, upright_image

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.formats import xmp


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True, timeout=300)


def shoot(tmp_path: Path) -> Path:
    """Five photos: scores 0.9 .. 0.5; picks p1 and p3; p0 rejected; p2 with three stars and a crop."""
    src = tmp_path / "shoot"
    with open_catalog() as catalog:
        for i in range(5):
            size = (64, 96) if i == 2 else (96, 64)
            path = save_photo(src / f"p{i}.jpg", upright_image(size, seed=i), orientation=6 if i == 2 else 1)
            add_to_catalog(catalog, path, size, score=0.9 - i / 10,
                           decision={0: "reject", 1: "keep", 3: "keep"}.get(i), rating=3 if i == 2 else 0,
                           crop=(8.0, 16.0, 56.0, 80.0) if i == 2 else None)
    return src


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
def test_export_picks_by_default_and_top_and_min_score(tmp_path: Path):
    src = shoot(tmp_path)
    done = run("export", str(src), str(tmp_path / "picks"))
    assert done.returncode == 0, done.stderr
    assert names(tmp_path / "picks") == ["p1.jpg", "p3.jpg"]
    assert "[2/2]" in done.stderr and "Exported 2 of 2 photos" in done.stderr
    assert done.stdout == ""

    done = run("export", str(src), str(tmp_path / "top"), "--top", "2", "--name", "{rank}-{name}")
    assert done.returncode == 0, done.stderr
    assert names(tmp_path / "top") == ["1-p1.jpg", "2-p2.jpg"]  # p0 scores best but is rejected

    done = run("export", str(src), str(tmp_path / "min"), "--min-score", "0.55", "--format", "png",
               "--long-edge", "32", "--apply-crop", "--quality", "80")
    assert done.returncode == 0, done.stderr
    assert names(tmp_path / "min") == ["p1.png", "p2.png", "p3.png"]
    from PIL import Image

    with Image.open(tmp_path / "min" / "p2.png") as im:
        assert im.size == (24, 32)  # the 48 x 64 crop, long edge 32
    with Image.open(tmp_path / "min" / "p1.png") as im:
        assert im.size == (32, 21) or im.size == (32, 22)


@pytest.mark.slow
@needs_exiftool
def test_export_with_xmp_and_list_only(tmp_path: Path):
    src = shoot(tmp_path)
    done = run("export", str(src), str(tmp_path / "x"), "--top", "3", "--xmp")
    assert done.returncode == 0, done.stderr
    tags = exif_json(tmp_path / "x" / "p2.jpg")
    assert tags["XMP-xmp:Rating"] == 3 and tags["XMP-crs:HasCrop"] is True and tags["IFD0:Orientation"] == 1

    done = run("export", str(src), str(tmp_path / "list"), "--picks", "--list-only")
    assert done.returncode == 0, done.stderr
    assert names(tmp_path / "list") == ["selfie-desk-export.csv", "selfie-desk-export.json"]
    rows = json.loads((tmp_path / "list" / "selfie-desk-export.json").read_text())
    assert [Path(r["path"]).name for r in rows] == ["p1.jpg", "p3.jpg"]
    assert {"path", "score", "decision", "rating", "crop"} <= set(rows[0])


@pytest.mark.slow
def test_a_second_export_adds_names_or_skips(tmp_path: Path):
    src = shoot(tmp_path)
    assert run("export", str(src), str(tmp_path / "d")).returncode == 0
    assert run("export", str(src), str(tmp_path / "d")).returncode == 0
    assert names(tmp_path / "d") == ["p1 (2).jpg", "p1.jpg", "p3 (2).jpg", "p3.jpg"]
    done = run("export", str(src), str(tmp_path / "d"), "--skip-existing")
    assert done.returncode == 0 and "2 skipped" in done.stderr
    assert len(names(tmp_path / "d")) == 4


def test_some_files_failed_exits_1_and_names_them(tmp_path: Path):
    src = shoot(tmp_path)
    (src / "p3.jpg").unlink()
    done = run("export", str(src), str(tmp_path / "out"))
    assert done.returncode == 1
    assert "p3.jpg" in done.stderr and "gone" in done.stderr and "Traceback" not in done.stderr
    assert names(tmp_path / "out") == ["p1.jpg"]


@pytest.mark.slow
def test_usage_errors_exit_2(tmp_path: Path):
    src = shoot(tmp_path)
    out = str(tmp_path / "out")
    for args in (
        ["export"],
        ["export", str(src)],
        ["export", str(tmp_path / "nope"), out],
        ["export", str(src), out, "--top", "2", "--picks"],
        ["export", str(src), out, "--top", "0"],
        ["export", str(src), out, "--quality", "500"],
        ["export", str(src), out, "--format", "gif"],
        ["export", str(src), out, "--name", "{nmae}"],
        ["export", str(src), out, "--long-edge", "0"],
        ["export", str(src), str(src / "p1.jpg")],
        ["sidecars", str(tmp_path / "nope")],
    ):
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
    never = tmp_path / "never-scored"
    save_photo(never / "a.jpg", upright_image())
    done = run("export", str(never), out)
    assert done.returncode == 2 and "selfie-desk score" in done.stderr
    assert not (tmp_path / "out").exists()
    help_text = run("export", "--help").stdout
    for option in ("--picks", "--top", "--min-score", "--apply-crop", "--long-edge", "--format", "--quality",
                   "--name", "--xmp", "--list-only"):
        assert option in help_text


@needs_exiftool
def test_sidecars_command(tmp_path: Path):
    src = shoot(tmp_path)
    done = run("sidecars", str(src))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in src.glob("*.xmp")) == ["p0.xmp", "p1.xmp", "p2.xmp", "p3.xmp"]
    assert "Wrote 4 sidecars" in done.stderr
    assert exif_json(src / "p0.xmp")["XMP-xmp:Rating"] == -1
    info = xmp.read(src / "p2.jpg")
    assert info.rating == 3 and info.orientation == 6 and info.crop is not None
    assert xmp.crop_from_xmp(info.crop, 64, 96, 6) == pytest.approx((8.0, 16.0, 56.0, 80.0), abs=0.01)
    (src / "p4.xmp").write_text("<broken", encoding="utf-8")
    with open_catalog() as catalog:
        from export_fixtures import photos_of

        CullingSession(catalog).adopt([(photos_of(catalog, src)["p4.jpg"].id, "rating", 2)])
    done = run("sidecars", str(src))
    assert done.returncode == 1 and "p4.jpg" in done.stderr and "not valid XMP" in done.stderr
    assert (src / "p4.xmp").read_text(encoding="utf-8") == "<broken"


def test_exporting_into_the_folder_itself_is_noted(tmp_path: Path):
    src = shoot(tmp_path)
    done = run("export", str(src), str(src / "keepers"))
    assert done.returncode == 0 and "inside" in done.stderr
    assert sorted(p.name for p in (src / "keepers").iterdir()) == ["p1.jpg", "p3.jpg"]
