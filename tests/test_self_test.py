"""`selfie-desk --self-test` from source: passes headless without Qt, and names what is wrong when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from selfie_desk import self_test
from selfie_desk.cli import main
from selfie_desk.core import paths
from selfie_desk.core.crop.geometry import Crop, CropResult

ROOT = Path(__file__).resolve().parents[1]

# Runs the self-test the way the frozen app does, then proves no Qt module was loaded on the way.
RUN_HEADLESS = """
import sys
from selfie_desk.cli import main
status = main(["--self-test"])
qt = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6")))
print("QT MODULES:", qt)
sys.exit(status if not qt else 3)
"""


@pytest.mark.slow
def test_self_test_passes_headless_and_writes_nothing(tmp_path):
    home = tmp_path / "user-home"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["SELFIE_DESK_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-c", RUN_HEADLESS], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "QT MODULES: []" in done.stdout
    assert "self-test passed" in done.stdout
    demo = sorted(p.name for p in paths.demo_photos_dir().iterdir() if p.suffix != ".md")
    for name in demo:  # one summary row per demo photo
        assert any(line.startswith(name) for line in done.stdout.splitlines()), done.stdout
    assert not home.exists(), "the self-test wrote into the user's SELFIE_DESK_HOME"


def test_self_test_names_a_missing_model(tmp_path, monkeypatch, capsys, app_home):
    monkeypatch.setenv("SELFIE_DESK_MODELS", str(tmp_path / "empty"))
    assert main(["--self-test"]) == 1
    out = capsys.readouterr().out
    assert "self-test FAILED" in out
    assert "the models did not load" in out and "is missing from" in out
    assert os.environ["SELFIE_DESK_HOME"] == str(app_home)  # put back as it was


def test_self_test_without_demo_photos_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paths, "demo_photos_dir", lambda: tmp_path / "nowhere")
    assert self_test.run() == 1
    assert "expected the bundled demo photos" in capsys.readouterr().out


def _result(box, width=600, height=400, score=0.7) -> CropResult:
    crop = Crop(box=box, score=score, estimate=score)
    return CropResult(width=width, height=height, aspect="original", best=crop, alternatives=[], whole_score=0.5,
                      faces=[], face_rule="no faces detected", candidates=1, verified=True)


@pytest.mark.parametrize(
    ("box", "score", "problem"),
    [
        ((0, 0, 300, 200), 0.7, None),
        ((0, 0, 300, 300), 0.7, "has ratio 1.000"),
        ((400, 0, 700, 200), 0.7, "is not inside"),
        ((0, 0, 300, 200), 1.5, "outside [0, 1]"),
    ],
)
def test_crop_checks_catch_bad_crops(box, score, problem):
    report = self_test.Report()
    self_test._check_crop(report, "p.jpg", _result(box, score=score), top=2)
    if problem is None:
        assert report.problems == []
    else:
        assert len(report.problems) == 1 and problem in report.problems[0]


def test_frozen_bundle_paths(tmp_path, monkeypatch):
    """Inside a PyInstaller bundle models/ and resources/ are found under sys._MEIPASS, not next to the code."""
    monkeypatch.delenv("SELFIE_DESK_MODELS", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.frozen_root() == tmp_path
    assert paths.bundled_models_dir() == tmp_path / "models"
    assert paths.demo_photos_dir() == tmp_path / "resources" / "demo"
    assert paths.icon_path() == tmp_path / "resources" / "icons" / "selfie-desk.png"
    monkeypatch.setenv("SELFIE_DESK_MODELS", str(tmp_path / "elsewhere"))
    assert paths.bundled_models_dir() == tmp_path / "elsewhere"


def test_source_checkout_paths():
    assert paths.frozen_root() is None
    assert paths.bundled_models_dir() == ROOT / "models"
    assert paths.demo_photos_dir() == ROOT / "resources" / "demo"
    with Image.open(paths.icon_path()) as icon:  # the installer's icon (tools/make_icon.py)
        assert icon.size == (256, 256)
    assert paths.icon_path().with_suffix(".svg").is_file()
