"""The shape of `selfie_desk.cli`: every command registered with a working --help, the documented exit
statuses, imports in one direction; and the scorer's errors said as what they are, once, with no fallback."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import selfie_desk.cli as cli
from selfie_desk.cli import ExitCode, UsageError, build_parser, main
from selfie_desk.cli.common import load_scorer

PACKAGE = Path(cli.__file__).parent
COMMANDS = {"score", "groups", "map", "list", "crop", "open", "export", "sidecars", "recover-catalog",
            "forget-missing", "train", "models"}


def test_every_command_is_registered_in_the_documented_order():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == COMMANDS
    assert list(sub.choices) == ["score", "groups", "map", "list", "crop", "open", "export", "sidecars",
                                 "recover-catalog", "forget-missing", "train", "models"]  # as --help lists them
    for name, command in sub.choices.items():
        assert callable(command.get_default("handler")), name  # each command brings its own handler


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_of_each_command_exits_0(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: selfie-desk {command} ")


def test_top_level_help_and_version_exit_0(capsys):
    for flag in ("--help", "--version"):
        with pytest.raises(SystemExit) as done:
            main([flag])
        assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--self-test" in out and "130 interrupted" in out


def test_exit_codes_are_the_documented_ones():
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0, "SOME_FAILED": 1, "USAGE": 2, "CATALOG": 3, "INTERRUPTED": 130}
    epilog = build_parser().epilog
    for text in ("0 success", "1 some files failed", "2 a usage error", "3 the catalog", "130 interrupted"):
        assert text in epilog


def test_a_usage_error_exits_2_through_main(tmp_path, capsys):
    assert main(["crop", str(tmp_path / "nope.jpg")]) == ExitCode.USAGE
    assert capsys.readouterr().err == f"selfie-desk: error: no such file: {tmp_path / 'nope.jpg'}\n"


def _imports(module: Path) -> list[tuple[str, bool]]:
    """(imported selfie_desk.cli module, at module level?) for each import of a module of the package."""
    tree = ast.parse(module.read_text(), str(module))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("selfie_desk.cli"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((sub if (PACKAGE / f"{alias.name}.py").exists() else node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names if a.name.startswith("selfie_desk.cli")]
    return found


def test_the_package_imports_in_one_direction():
    modules = {f"selfie_desk.cli.{m.name}": PACKAGE / f"{m.name}.py" for m in pkgutil.iter_modules([str(PACKAGE)])}
    assert {"selfie_desk.cli.common", "selfie_desk.cli.guard"} < set(modules) and len(modules) >= 12
    graph = {}
    for name, file in modules.items():
        imported = _imports(file)
        assert all(top for _, top in imported), f"{name}: a function-level import of the cli package"
        assert "selfie_desk.cli" not in [m for m, _ in imported], f"{name} imports the package's __init__"
        graph[name] = {m for m, _ in imported}
    seen: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> None:
        assert seen.get(node) != 1, "import circle: " + " > ".join(path + [node])
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for after in graph.get(node, ()):
            visit(after, path + [node])
        seen[node] = 2

    for name in graph:
        visit(name, [])
    for name, file in modules.items():
        if name not in ("selfie_desk.cli.common", "selfie_desk.cli.guard", "selfie_desk.cli.self_test"):
            assert "def register(" in file.read_text() and "def run(" in file.read_text(), name


# The scorer: what goes wrong is said once, as what it is (no "No usable GPU" for a missing model, no second
# try on another device).

def test_an_unknown_model_is_a_usage_error_on_any_device(capsys):
    import torch

    for device in ("cpu", "auto") + (("cuda",) if torch.cuda.is_available() else ()):
        with pytest.raises(UsageError, match="unknown model 'no-such-model'"):
            load_scorer("no-such-model", device)
    assert capsys.readouterr().err == ""  # main says it, once


def test_missing_weights_are_named_once_without_falling_back(tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setenv("SELFIE_DESK_MODELS", str(tmp_path / "empty-models"))
    for device in ("cpu",) + (("cuda",) if torch.cuda.is_available() else ()):
        assert load_scorer("default", device) is None
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("selfie-desk: error: model file ") and "missing" in err
        assert "GPU" not in err and "CPU" not in err


def test_no_gpu_for_device_cuda_is_said_as_such(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert load_scorer("default", "cuda") is None
    assert capsys.readouterr().err == ("selfie-desk: error: --device cuda was asked for, but no CUDA GPU is "
                                       "available\n")
