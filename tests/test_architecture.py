"""The core stays free of Qt: checked on the source and on what importing it loads."""

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "selfie_desk"
CORE = PACKAGE / "core"
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


EDITS = re.compile(r"UPDATE\s+photos\s+SET\s+(?P<columns>.*?)\s+WHERE", re.I | re.S)
USER_COLUMNS = re.compile(r"(?:^|,)\s*(?:decision|rating|crop|\{\})\s*=", re.I)  # {}: a column named at run time
WRITER = PACKAGE / "core" / "culling" / "history.py"


def _sql_texts(tree: ast.AST) -> list[str]:
    """Every string literal of a module (f-strings with each {...} as "{}"), implicit concatenation joined."""
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            texts.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
    return texts


def test_only_the_culling_history_writes_a_flag_stars_or_a_crop():
    """One writer per edit (issue 30): the SQL that sets photos.decision, rating or crop lives in
    core/culling/history.py alone, which only the culling session calls."""
    writers = {}
    for file in PACKAGE.rglob("*.py"):
        for text in _sql_texts(ast.parse(file.read_text(), str(file))):
            for m in EDITS.finditer(text):
                if USER_COLUMNS.search(m["columns"]):
                    writers.setdefault(file.relative_to(PACKAGE).as_posix(), []).append(m["columns"])
    assert set(writers) == {WRITER.relative_to(PACKAGE).as_posix()}, writers
    assert len(writers["core/culling/history.py"]) >= 2  # the edits (a column at run time) and a pair's hand-over


GROUP_EDITS = {"split_group", "merge_groups", "move_to_group", "restore_groups"}


def test_only_the_culling_package_edits_the_users_groups():
    """A split, a merge and their undo change the groups the user made: the catalog's calls for them are made from
    core/culling/ alone (the session, and the history that undoes them), never from the window or a command."""
    callers = set()
    for file in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GROUP_EDITS:
                callers.add(file.relative_to(PACKAGE).as_posix())
    assert callers == {"core/culling/session.py", "core/culling/history.py"}, callers
