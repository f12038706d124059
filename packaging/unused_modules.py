"""Which of the spec's EXCLUDES the app really never imports: run the self-test and import every selfie_desk
module (the window's included), then report each excluded module that ended up in sys.modules.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/unused_modules.py

Exit 0 when none of them was imported. Also lists the biggest torch subpackages that were never imported
(candidates for EXCLUDES), with their size on disk.
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# Imported only to ask whether it is there: torch/_native/common_utils.py looks triton up and does without it.
PROBED = {"triton"}


def spec_excludes() -> dict[str, list[str]]:
    """The EXCLUDES dict of packaging/selfie_desk.spec, read without running PyInstaller."""
    import ast

    tree = ast.parse((ROOT / "packaging" / "selfie_desk.spec").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXCLUDES":
            return ast.literal_eval(node.value)
    raise SystemExit("no EXCLUDES in the spec")


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main() -> int:
    import selfie_desk
    from selfie_desk import self_test

    status = self_test.run(out=io.StringIO(), device="cpu")
    for info in pkgutil.walk_packages(selfie_desk.__path__, "selfie_desk."):
        if info.name != "selfie_desk.__main__":  # that one starts the window
            importlib.import_module(info.name)
    loaded = set(sys.modules)
    bad = 0
    for group, names in spec_excludes().items():
        used = [n for n in names if n in loaded and n not in PROBED]
        bad += len(used)
        probed = [n for n in names if n in loaded and n in PROBED]
        if used:
            verdict = "IMPORTED: " + ", ".join(used)
        elif probed:
            verdict = f"only looked up by torch, which runs without it: {', '.join(probed)}"
        else:
            verdict = "never imported"
        print(f"{group:<13} {verdict}")
    import torch

    root = Path(torch.__file__).parent
    unused = [(size_mb(d), f"torch.{d.name}") for d in root.iterdir()
              if d.is_dir() and not d.name.startswith("__") and f"torch.{d.name}" not in loaded]
    print("torch folders never imported, biggest first (MB on disk; lib, include, bin hold no Python):")
    for mb, name in sorted(unused, reverse=True)[:15]:
        print(f"  {name:<28} {mb:7.1f}")
    print(f"self-test: {'passed' if status == 0 else 'FAILED'}")
    return 1 if bad or status else 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
