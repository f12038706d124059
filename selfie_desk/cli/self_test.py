"""`selfie-desk --self-test`: the top-level flag that checks the installation (selfie_desk.self_test)."""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser) -> None:
    """Adds the flag to the top-level parser: it is an option of the program, not a command."""
    parser.add_argument(
        "--self-test", action="store_true",
        help="check this installation: score and crop the bundled demo photos headless, print a summary; "
             "exit 0 when all is well, 1 naming what is wrong",
    )


def run(_args: argparse.Namespace) -> int:
    # headless, imports no Qt; torch and the demo photos load only when the flag is given
    from selfie_desk import self_test

    return self_test.run()
