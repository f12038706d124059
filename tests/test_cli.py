"""The `selfie-desk score` contract: JSON lines on stdout and nothing else, exit codes 0 / 1 / 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import photo, save_jpeg

KEYS = {"path", "score", "faces", "width", "height", "error", "aspects", "reasons", "pair"}
ASPECTS = {"sharpness", "noise", "exposure", "framing"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfie_desk", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_score_json_contract_on_the_demo_folder(demo_folder: Path):
    done = run("score", str(demo_folder), "--json", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(list(demo_folder.iterdir())) == 7
    for row in rows:
        assert set(row) == KEYS
        assert Path(row["path"]).is_absolute() and Path(row["path"]).parent == demo_folder.resolve()
        assert 0.0 <= row["score"] <= 1.0 and row["error"] is None
        assert isinstance(row["width"], int) and isinstance(row["height"], int)
        assert set(row["aspects"]) == ASPECTS and all(0.0 <= v <= 1.0 for v in row["aspects"].values())
        assert isinstance(row["reasons"], list) and all(isinstance(r, str) and r for r in row["reasons"])
        for face in row["faces"]:
            assert set(face) == {"box", "confidence", "eyes", "sharpness"} and len(face["box"]) == 4
            assert face["eyes"] in ("open", "closed", "unknown")
            assert face["sharpness"] is None or 0.0 <= face["sharpness"] <= 1.0
            x0, y0, x1, y1 = face["box"]
            assert 0 <= x0 < x1 <= row["width"] and 0 <= y0 < y1 <= row["height"]
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)  # ranked, best first
    by_name = {Path(r["path"]).name: r for r in rows}
    assert (by_name["astronaut.png"]["width"], by_name["astronaut.png"]["height"]) == (512, 512)
    assert len(by_name["astronaut.png"]["faces"]) == 1
    astronaut = by_name["astronaut.png"]["faces"][0]
    assert astronaut["eyes"] == "open" and astronaut["sharpness"] > 0.5
    assert "closed eyes" not in by_name["astronaut.png"]["reasons"]
    assert by_name["coffee.png"]["faces"] == []


@pytest.mark.slow
def test_some_files_failed_exits_1_and_names_them(tmp_path: Path):
    save_jpeg(tmp_path / "good.jpg", photo())
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    done = run("score", str(tmp_path), "--json")
    assert done.returncode == 1
    rows = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert rows["good.jpg"]["error"] is None and rows["good.jpg"]["score"] is not None
    assert rows["broken.jpg"]["score"] is None and rows["broken.jpg"]["error"]

    table = run("score", str(tmp_path))  # readable form: a ranked table plus the failures
    assert table.returncode == 1
    assert "good.jpg" in table.stdout and "broken.jpg" in table.stdout and "could not be read" in table.stdout


@pytest.mark.slow
def test_usage_errors_exit_2(tmp_path: Path):
    assert run("score", str(tmp_path / "nope")).returncode == 2
    bad_model = run("score", str(tmp_path), "--model", "no-such-model")
    assert bad_model.returncode == 2 and "unknown model" in bad_model.stderr
    assert run("score").returncode == 2
    assert run("score", str(tmp_path), "--device", "tpu").returncode == 2


def test_help_explains_itself():
    top = run("--help")
    assert top.returncode == 0 and "score" in top.stdout
    sub = run("score", "--help")
    assert sub.returncode == 0 and "--json" in sub.stdout and "--device" in sub.stdout


@pytest.mark.slow
def test_missing_weights_give_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SELFIE_DESK_MODELS", str(tmp_path / "empty-models"))
    save_jpeg(tmp_path / "a.jpg")
    done = run("score", str(tmp_path / "a.jpg"), "--json")
    assert done.returncode == 1
    assert "missing" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
