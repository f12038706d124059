"""The core stays free of Qt: checked on the source and on what importing it loads."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "selfie_desk" / "core"
QT = ("PySide6", "PyQt5", "PyQt6", "qtpy", "shiboken6")


def test_no_qt_import_in_core_source():
    offenders = []
    for file in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{file.name}: {n}" for n in names if n.split(".")[0] in QT]
    assert not offenders, offenders
    assert len(list(CORE.rglob("*.py"))) >= 8  # the check really looked at the core


def test_importing_core_and_cli_loads_no_qt():
    code = (
        "import sys, pkgutil, importlib, selfie_desk.core as c, selfie_desk.cli\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('selfie_desk.core.' + m.name)\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {QT!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
