"""`selfie-desk forget-missing`: forget the photos of a folder whose files are gone for good. Nothing else ever
removes a photo's scores and decisions from the catalog (issue 31): a photo deleted or moved away is only marked
missing, and an unplugged drive's folder is offline, both kept until the user says so here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli.common import UsageError, printable
from selfie_desk.cli.guard import catalog_file
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    forget = sub.add_parser(
        "forget-missing",
        help="forget the photos of a folder whose files are gone (their scores and decisions), on your word",
        description=(
            "List the photos the catalog has under FOLDER (recursively) whose files are gone: deleted, moved "
            "elsewhere, or on a drive that is not plugged in. With --yes, forget them: their scores, flags, stars "
            "and crops leave the catalog (write sidecars first to keep the decisions with the files). Nothing is "
            "ever forgotten otherwise. A folder that is empty now (an unplugged drive's mount point) is refused "
            "unless --offline-too, so that a drive plugged in later finds its decisions. Exit 0, or 2 for a usage "
            "error."
        ),
    )
    forget.add_argument("folder", metavar="FOLDER", type=Path, help="a folder opened or scored before")
    forget.add_argument("--yes", action="store_true", help="forget them (without it: only list them)")
    forget.add_argument("--offline-too", action="store_true",
                        help="also when FOLDER is empty or gone, as an unplugged drive leaves it")
    forget.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    from selfie_desk.core.formats.indexing import canonical, gone
    from selfie_desk.core.storage.catalog_access import open_catalog

    target = canonical(args.folder)
    offline = not target.is_dir() or not os.listdir(target)
    if offline and not args.offline_too:
        raise UsageError(f"{args.folder} is empty or not there: offline (an unplugged drive?) rather than deleted; "
                         "plug it in, or add --offline-too to forget its photos anyway")
    if not catalog_file().exists():
        print(f"No photos of {printable(target)} in the catalog.", file=sys.stderr)
        return ExitCode.OK
    with open_catalog(catalog_file()) as catalog:
        gone_ids = [(pid, path) for pid, path, _missing in catalog.known_under(str(target)) if gone(path)]
        for _pid, path in gone_ids:
            print(printable(path))
        if not gone_ids:
            print(f"No photo of {printable(target)} is missing.", file=sys.stderr)
        elif args.yes:
            catalog.forget(pid for pid, _path in gone_ids)
            print(f"Forgot {len(gone_ids)} missing photo{'s' if len(gone_ids) != 1 else ''} of {printable(target)}",
                  file=sys.stderr)
        else:
            print(f"{len(gone_ids)} missing photo{'s' if len(gone_ids) != 1 else ''}; add --yes to forget them "
                  "(their scores and decisions)", file=sys.stderr)
    return ExitCode.OK
