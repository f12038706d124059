"""`selfie-desk list`: the catalog's view of a folder, best first, without opening a photo (so it works while
the window is open). Named `listing` so that it does not hide the builtin `list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli.common import UsageError, add_model_option, print_json_lines, printable
from selfie_desk.cli.guard import catalog_file
from selfie_desk.core.culling.ranking import best_first
from selfie_desk.core.exit_codes import ExitCode
from selfie_desk.core.vocabulary import Decision


def register(sub) -> None:
    listing = sub.add_parser(
        "list",
        help="print the catalog's view of a folder: scores, flags, stars, crops",
        description=(
            "Print what the catalog knows of the photos in FOLDER (recursively), best first. Reads the catalog "
            "only (no photo is opened), so it works while the window is open. With --json: one JSON object per "
            'photo per line: {"path", "score", "decision": "keep"|"reject"|null, "rating": 0-5, '
            '"crop": [x0, y0, x1, y1]|null, "faces": [{"box", "confidence", "eyes": "open"|"closed"|"unknown", '
            '"sharpness": 0-1|null}], "width", "height", '
            '"group": int|null (see \'selfie-desk groups\'), "pair": the JPEG beside a raw (RAW+JPEG: one '
            'photo, "path" the raw)|null}. '
            "Exit 2 for a usage error."
        ),
    )
    listing.add_argument("folder", metavar="FOLDER", type=Path, help="a folder opened or scored before")
    listing.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    add_model_option(listing, help="whose scores (default: %(default)s)")
    listing.set_defaults(handler=run)


def list_row(photo) -> dict:
    """One photo as `selfie-desk list --json` prints it."""
    return {
        "path": photo.path,
        "score": None if photo.score is None else round(photo.score, 6),
        "decision": photo.decision,
        "rating": photo.rating,
        "crop": None if photo.crop is None else [round(v, 1) for v in photo.crop],
        "faces": [f.to_json() for f in photo.faces],
        "width": photo.width,
        "height": photo.height,
        **photo.look_json(),
        "group": photo.group_id,
        "pair": photo.pair,
    }


def run(args: argparse.Namespace) -> int:
    # The catalog (numpy, SQLite) loads here, not when the command line is parsed.
    from selfie_desk.core.formats.indexing import canonical
    from selfie_desk.core.storage.catalog_access import open_for_reading

    target = canonical(args.folder)
    if target.exists() and not target.is_dir():
        raise UsageError(f"not a folder: {args.folder}")
    photos = []
    if catalog_file().exists():
        with open_for_reading(catalog_file()) as catalog:
            photos = catalog.photos(args.model, folder=str(target))
    if not photos and not target.exists():
        raise UsageError(f"no such folder: {args.folder}")
    ranked = sorted(photos, key=best_first)
    if args.json:
        print_json_lines(list_row(photo) for photo in ranked)
        return ExitCode.OK
    if not ranked:
        print(f"No photos of {target} in the catalog yet: open it in Selfie Desk or run "
              f"'selfie-desk score {args.folder}'.", file=sys.stderr)
        return ExitCode.OK
    print(f"{'rank':>4}  {'score':>5}  {'flag':<6}  {'stars':<5}  {'faces':>5}  {'size':>11}  photo")
    rank = 0
    for p in ranked:
        if p.score is not None:
            rank += 1
        flag = {Decision.KEEP: "pick", Decision.REJECT: "reject"}.get(p.decision or "", "")
        score = "  -  " if p.score is None else f"{p.score:.3f}"
        size = f"{p.width}x{p.height}" if p.width else "?"
        shown_rank = str(rank) if p.score is not None else "-"
        print(f"{shown_rank:>4}  {score:>5}  {flag:<6}  {'*' * p.rating:<5}  {len(p.faces):>5}  {size:>11}  "
              f"{printable(p.path)}")
    return ExitCode.OK
