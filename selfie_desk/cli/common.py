"""What the commands share: the exit statuses, the usage error, loading the scorer, scoring with a progress
bar, and JSON lines on stdout. Importing it is cheap: torch and the catalog load inside the functions that
need them, so `--help`, `list` and the window's start never pay for them."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

from selfie_desk.core.vocabulary import Device

DEVICES = tuple(d.value for d in Device)  # --device's choices, in the order --help lists them

# What a terminal would act on instead of showing: C0 and C1 controls and DEL (an ESC sequence can set the window's
# title, move the cursor, hide text), Unicode's bidirectional overrides and isolates (they reorder the rest of a
# name on screen), and the raw C1 bytes of a name that is not UTF-8 (surrogate escapes \udc80-\udc9f).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\udc80-\udc9f]")


def printable(text: object) -> str:
    """`text` safe to print on a terminal in a table: every character a terminal would act on shown as its
    escape (ESC as \\x1b, a newline as \\n, a right-to-left override as \\u202e). JSON output never goes
    through this: it carries the real names."""
    def escape(match: re.Match[str]) -> str:
        ch = match.group()
        code = ord(ch)
        if 0xDC80 <= code <= 0xDC9F:
            return f"\\x{code - 0xDC00:02x}"
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch) or (
            f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")

    return _UNPRINTABLE.sub(escape, str(text))


def add_device_option(parser: Any, help: str = "where the convnet runs") -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto", help=help)
    # selfie_desk.neural.runtime.RUNTIMES (not imported here: the command line loads no network code)
    parser.add_argument("--runtime", choices=("auto", "torch", "onnx"), default=None,
                        help="what runs the networks: onnx (ONNX Runtime, the CPU), torch (the GPU, or the CPU); "
                             "auto: torch on a GPU, onnx on the CPU (default: $SELFIE_DESK_RUNTIME or auto)")


def add_model_option(parser: Any, help: str = "score model (default: %(default)s)",
                     metavar: str | None = "NAME") -> None:
    parser.add_argument("--model", default="default", metavar=metavar, help=help)


class UsageError(Exception):
    """A mistake in the command line: exit status 2."""


def print_json_lines(rows: Iterable[dict]) -> None:
    """One JSON object per line on stdout (ASCII: other characters as escapes), flushed at the end."""
    out = sys.stdout
    for row in rows:
        out.write(json.dumps(row) + "\n")
    out.flush()


def load_scorer(model: str, device: str, *, head_only: bool = False, runtime: str | None = None):
    """The convnet for `--model`/`--device`/`--runtime`, or None after saying why on stderr (missing weights, no
    such device, a runtime this installation lacks). An unknown model name is a usage error. No fallback to
    another device: `--device cuda` means the GPU, and what went wrong is said as it is, once. `head_only`: the
    model's head alone (`HeadOnly`: a cluster's driver, whose workers load the networks)."""
    # the networks load here (ONNX Runtime ~1 s, torch seconds), only for the commands that run them
    from selfie_desk.core.model_cards import UnknownModelError
    from selfie_desk.core.weights import ModelMissingError
    from selfie_desk.neural.runtime import make_scorer
    from selfie_desk.neural.runtime.heads import HeadOnly

    try:
        return HeadOnly(model) if head_only else make_scorer(model, device, runtime)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from None
    except (ModelMissingError, RuntimeError) as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return None


def score_with_progress(targets, catalog, scorer, batch_size: int = 16, *, label: str | None = None, run=None):
    """`pipeline.score` with a progress bar on a terminal's stderr; Ctrl+C stops it cleanly (check
    `summary.cancelled`): every finished batch is already saved. `run(progress, cancel)`, when given, is the
    pass instead (the cluster's), labelled `label` on the bar."""
    from selfie_desk.neural import pipeline  # the networks' code: already loaded with the scorer passed in

    bar = ProgressBar(sys.stderr, label or scorer.label) if sys.stderr.isatty() else None
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        if run is not None:
            return run(bar, cancel)
        return pipeline.score(targets, catalog, scorer, progress=bar, cancel=cancel, batch_size=batch_size)
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar:
            bar.finish()


class ProgressBar:
    """A one-line progress bar on a terminal: count, rate, time left."""

    def __init__(self, stream, device: str, width: int = 28):
        self.stream, self.device, self.width = stream, device, width
        self.shown = False

    def __call__(self, p) -> None:
        if p.total == 0:
            return
        filled = int(self.width * p.done / p.total)
        eta = "" if p.eta is None else f" ETA {int(p.eta) // 60}:{int(p.eta) % 60:02d}"
        line = (
            f"\r[{'#' * filled}{'-' * (self.width - filled)}] {p.done}/{p.total} "
            f"{p.rate:5.1f} photos/s{eta}  {self.device}"
        )
        self.stream.write(line[:200])
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def print_progress(p) -> None:
    """One line per file on stderr, `[done/total] path`: export's and sidecars' progress."""
    print(f"[{p.done}/{p.total}] {printable(p.path)}", file=sys.stderr, flush=True)
