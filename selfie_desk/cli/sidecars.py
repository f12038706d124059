"""`selfie-desk sidecars`: write the catalog's stars, flags and crops as XMP sidecars next to the photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli.common import add_model_option, print_progress, printable
from selfie_desk.cli.guard import catalog_photos
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    sidecars = sub.add_parser(
        "sidecars",
        help="write the stars, flags and crops as XMP sidecars next to the photos",
        description=(
            "Write NAME.xmp next to each photo of FOLDER that has a flag, stars or a crop in the catalog "
            "(Lightroom's convention), merging into a sidecar already there without losing its other fields. "
            "The photos themselves are not touched. Exit 0 on success, 1 if some failed, 2 for a usage error."
        ),
    )
    sidecars.add_argument("folder", metavar="FOLDER", type=Path, help="a folder opened or scored before")
    add_model_option(sidecars, help=argparse.SUPPRESS)
    sidecars.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from selfie_desk.core.formats import sidecars  # the XMP writer, loaded only for this command

    _folder, photos = catalog_photos(args.folder, args.model)
    report = sidecars.write_sidecars(photos, progress=print_progress)
    for path, message in report.failed:
        print(f"selfie-desk: failed: {printable(path)}: {printable(message)}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return ExitCode.SOME_FAILED if report.failed else ExitCode.OK
