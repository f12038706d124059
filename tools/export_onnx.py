"""Export every network the CPU runtime runs from its torch module into models/*.onnx, and record each graph's
SHA-256 where the app checks it (selfie_desk/core/weights.py, BUNDLED) and where people read it (models/README.md).

    .venv/bin/python tools/export_onnx.py            # every graph (runtime.graphs.GRAPHS)
    .venv/bin/python tools/export_onnx.py backbone   # only these
    .venv/bin/python tools/export_onnx.py --check    # export nothing: compare each stored graph with its torch
                                                     # module (exit 1 on any difference), as the tests do

Run it after any change to a network or its weights (a retrained backbone, a new face detector, a new crop
model): tests/test_runtime.py fails until the graphs are exported again. Needs torch and the `onnx` package
(the dev extra); the app itself needs neither. The export is deterministic: the same modules and weights give
the same bytes, so running it with nothing changed changes no file.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
WEIGHTS_PY = ROOT / "selfie_desk" / "core" / "weights.py"
README = MODELS / "README.md"


def record_digest(file: str, digest: str, what: str, sources: tuple[str, ...]) -> None:
    """Set `file`'s SHA-256 in weights.BUNDLED and in the README's table (a row is added when missing)."""
    text = WEIGHTS_PY.read_text()
    entry = re.compile(rf'^(\s*"{re.escape(file)}": )"[0-9a-f]{{64}}",$', re.M)
    if entry.search(text):
        text = entry.sub(rf'\g<1>"{digest}",', text)
    else:
        start = text.index("BUNDLED = {")
        end = text.index("\n}", start)
        text = text[:end] + f'\n    "{file}": "{digest}",' + text[end:]
    WEIGHTS_PY.write_text(text)

    readme = README.read_text()
    row = re.compile(rf"^\| `{re.escape(file)}` \|.*\| `[0-9a-f]{{64}}` \|$", re.M)
    made_from = ", ".join(f"`{s}`" for s in sources)
    line = (f"| `{file}` | {what} (ONNX graph, opset 17) | exported from {made_from} by `tools/export_onnx.py` "
            f"(the torch module in `selfie_desk/neural/export.py`) | as {made_from} | `{digest}` |")
    if row.search(readme):
        readme = row.sub(line.replace("\\", "\\\\"), readme)
    else:
        table_rows = [m for m in re.finditer(r"^\| `[^`]+` \|.*\| `[0-9a-f]{64}` \|$", readme, re.M)]
        at = table_rows[-1].end()
        readme = readme[:at] + "\n" + line + readme[at:]
    README.write_text(readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graphs", nargs="*", help="graph names (default: all)")
    parser.add_argument("--check", action="store_true", help="compare the stored graphs with torch; export nothing")
    args = parser.parse_args()

    from selfie_desk.neural import export
    from selfie_desk.neural.runtime import graphs

    names = args.graphs or list(graphs.GRAPHS)
    unknown = [n for n in names if n not in graphs.GRAPHS]
    if unknown:
        parser.error(f"unknown graph(s) {unknown}; known: {', '.join(graphs.GRAPHS)}")
    failed = 0
    for name in names:
        graph = graphs.GRAPHS[name]
        if args.check:
            session = graphs.Session(graph, threads=1, path=MODELS / graph.file)
            problems = export.disagreement(graph, lambda inputs, s=session: s.run(*inputs))
            verdict = "differs from torch: " + "; ".join(problems) if problems else "agrees with torch"
            print(f"{graph.file:<22} {verdict}")
            failed += bool(problems)
            continue
        t = time.perf_counter()
        path = export.export(graph, MODELS)
        digest = graphs.file_sha256(path)
        record_digest(graph.file, digest, graph.what, graph.sources)
        print(f"{graph.file:<22} {path.stat().st_size / 1e6:6.2f} MB  sha256 {digest[:16]}...  "
              f"{time.perf_counter() - t:5.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
