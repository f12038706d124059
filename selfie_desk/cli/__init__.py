"""The `selfie-desk` command. Its subcommands, options, JSON output and exit statuses are a contract other
tools rely on.

One module per command, each registering its own parser (`register(subparsers)`) with its handler as the
parser's `handler` default; `common` holds what they share (ExitCode, UsageError, loading the scorer,
progress, JSON lines) and `guard` runs each handler so that a failure is one line and an exit status. The
imports go one way, this module > commands > guard > common, and stay cheap: torch, Qt and the catalog load
inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from selfie_desk import __version__
from selfie_desk.cli import (
    crop,
    export,
    folder_map,
    forget,
    groups,
    listing,
    models,
    recover_catalog,
    score,
    self_test,
    sidecars,
    train,
    window,
)
from selfie_desk.cli.common import UsageError
from selfie_desk.cli.guard import lossless_stdout, run_guarded
from selfie_desk.core.exit_codes import ExitCode

__all__ = ["ExitCode", "UsageError", "build_parser", "main"]

# In the order `selfie-desk --help` lists them.
COMMANDS = (score, groups, folder_map, listing, crop, window, export, sidecars, recover_catalog, forget, train,
            models)


def build_parser() -> argparse.ArgumentParser:
    return _parser_and_commands()[0]


def _parser_and_commands() -> tuple[argparse.ArgumentParser, set[str]]:
    parser = argparse.ArgumentParser(
        prog="selfie-desk",
        description="Cull a photo folder with a convnet: score every photo, sort best to worst, crop and export.",
        epilog=("Run 'selfie-desk COMMAND --help' for the options of each command. Exit status: 0 success, 1 some "
                "files failed, 2 a usage error, 3 the catalog or the app's folder cannot be used, 130 interrupted."),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    self_test.register(parser)
    parser.set_defaults(handler=window.run)  # no command: the window, on the last folder
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser, set(sub.choices)


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = _parser_and_commands()
    lossless_stdout()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in commands and not argv[0].startswith("-"):
        argv.insert(0, "open")  # `selfie-desk FOLDER` is `selfie-desk open FOLDER`
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test.run(args)
    try:
        return run_guarded(args.handler, args)
    except UsageError as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("\nselfie-desk: interrupted; everything scored so far is saved", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`selfie-desk list FOLDER | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.SOME_FAILED
