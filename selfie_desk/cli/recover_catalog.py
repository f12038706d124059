"""`selfie-desk recover-catalog`: move a damaged catalog aside and rebuild it by scoring the folders again,
taking the stars, rejects and picks back from their XMP sidecars (issue 15)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli import score
from selfie_desk.cli.common import UsageError, add_device_option, add_model_option
from selfie_desk.cli.guard import catalog_file
from selfie_desk.core.exit_codes import ExitCode
from selfie_desk.core.vocabulary import Decision


def register(sub) -> None:
    recover = sub.add_parser(
        "recover-catalog",
        help="move a damaged catalog aside and rebuild it from your folders and their XMP sidecars",
        description=(
            "Move the catalog aside (to CATALOG.damaged-DATE, nothing is deleted) when it is damaged, start a "
            "new one, and score each FOLDER into it: stars, rejects, crops and picks (a green label; darktable's "
            "colour labels too) come back from XMP sidecars or the XMP inside the photos (write sidecars with "
            "'selfie-desk sidecars' while the catalog works). A catalog that "
            "opens fine is left alone unless --force. Exit 0 when done, 3 when the catalog cannot be replaced."
        ),
    )
    recover.add_argument("folders", nargs="*", metavar="FOLDER", type=Path, help="folders to rebuild from")
    recover.add_argument("--force", action="store_true", help="move the catalog aside even if it opens fine")
    # score's options, hidden: the second half of the command is `score FOLDER...`
    add_device_option(recover, help=argparse.SUPPRESS)
    add_model_option(recover, help=argparse.SUPPRESS, metavar=None)
    recover.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    recover.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)
    recover.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # The catalog and the XMP reader load here, not when the command line is parsed.
    from selfie_desk.core.culling.session import CullingSession
    from selfie_desk.core.formats import xmp
    from selfie_desk.core.formats.indexing import canonical
    from selfie_desk.core.storage.catalog_access import CatalogError, move_aside, open_catalog

    missing = [str(p) for p in args.folders if not p.is_dir()]
    if missing:
        raise UsageError(f"no such folder: {', '.join(missing)}")
    path = catalog_file()
    if path.exists():
        try:
            open_catalog(path).close()
            healthy = True
        except CatalogError as exc:
            if not exc.damaged:
                raise
            healthy = False
        if healthy and not args.force:
            print(f"selfie-desk: the catalog {path} opens fine; left as it is (--force moves it aside anyway)",
                  file=sys.stderr)
        else:
            try:
                aside = move_aside(path)
            except OSError as exc:
                raise CatalogError(f"cannot move the catalog {path} aside: {exc.strerror or exc}") from None
            print(f"selfie-desk: moved the catalog aside to {aside}; starting a new one", file=sys.stderr)
    if not args.folders:
        print("selfie-desk: now run 'selfie-desk score FOLDER' (or open it in the window) for each folder",
              file=sys.stderr)
        return ExitCode.OK
    args.paths = list(args.folders)
    status = score.run(args)
    picks = 0
    with open_catalog(path) as catalog:
        session = CullingSession(catalog, args.model)  # the one writer of flags, here outside any undo history
        for folder in map(canonical, args.folders):
            for photo in catalog.photos(args.model, folder=str(folder)):
                if photo.decision is None and xmp.read(Path(photo.path)).label == xmp.LABELS[Decision.KEEP]:
                    session.adopt([(photo.id, "decision", Decision.KEEP)])
                    picks += 1
    print(f"selfie-desk: rebuilt; {picks} pick(s) taken back from green labels", file=sys.stderr)
    return status
