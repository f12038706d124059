"""`selfie-desk open FOLDER`, `selfie-desk FOLDER` and plain `selfie-desk`: the window. Named `window` so that
it does not hide the builtin `open`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from selfie_desk.cli.common import UsageError
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    opening = sub.add_parser(
        "open",
        help="open the window on a folder (also: selfie-desk FOLDER)",
        description="Open the Selfie Desk window on FOLDER and score it in the background.",
    )
    opening.add_argument("folder", metavar="FOLDER", type=Path, help="the folder of photos to cull")
    opening.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """`open FOLDER`, or no command at all (no `folder` then: the last folder, or the demo photos)."""
    return open_window(getattr(args, "folder", None))


def display_problem() -> str | None:
    """Why a window cannot open here (None: it can). Only Linux without X11/Wayland is detected up front."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None  # the user chose a platform (offscreen, xcb, wayland...): let Qt try it
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "on a headless machine use 'selfie-desk score FOLDER' or 'selfie-desk list FOLDER'")
    return None


def open_window(folder: Path | None) -> int:
    """The window: on `folder`, or the last folder, or (the first time) the bundled demo photos."""
    if folder is not None and not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    problem = display_problem()
    if problem:
        print(f"selfie-desk: error: {problem}", file=sys.stderr)
        return ExitCode.SOME_FAILED
    try:
        # Qt loads only for the window: the headless commands (and --self-test) never import it.
        from selfie_desk.ui.app import run as run_app
    except ImportError as exc:
        print(f"selfie-desk: error: the window cannot start: {exc}", file=sys.stderr)
        return ExitCode.SOME_FAILED
    return run_app(folder)
