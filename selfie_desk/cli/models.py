"""`selfie-desk models`: the score models (the default and your personal ones) with their cards."""

from __future__ import annotations

import argparse

from selfie_desk.cli.common import print_json_lines
from selfie_desk.core.exit_codes import ExitCode
from selfie_desk.core.model_cards import model_cards, summary_line


def register(sub) -> None:
    models = sub.add_parser(
        "models",
        help="list the score models (the default and your personal ones) with their cards",
        description='List the score models. With --json: one object per model per line: {"name", "path", "card"}.',
    )
    models.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    models.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    models = model_cards()
    if args.json:
        print_json_lines({"name": name, "path": str(path), "card": card} for name, (path, card) in models.items())
        return ExitCode.OK
    width = max(len(name) for name in models)
    for name, (_, card) in models.items():
        print(f"{name:<{width}}  {summary_line(name, card)}")
    return ExitCode.OK
