"""`selfie-desk export`: copy the keepers of a scored folder (picks, top N, above a score) to DEST, or list
them; the work is core.formats.export's, this is its command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from selfie_desk.cli.common import UsageError, add_model_option, print_progress, printable
from selfie_desk.cli.guard import catalog_file, catalog_photos
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    export = sub.add_parser(
        "export",
        help="copy the keepers (picks, top N, above a score) to DEST, or list them",
        description=(
            "Export photos of FOLDER (scored before) to DEST: upright, EXIF and ICC profile kept, never replacing "
            "a file (a clash gets a new name, 'photo (2).jpg', or is skipped with --skip-existing). Which photos: "
            "--picks (the default), --top N, --min-score S (best first; rejects never) or --best-of-groups "
            "(each group's best, as 'groups' ranks it, and the photos in no group). --list-only writes "
            "selfie-desk-export.csv and .json (path, score, decision, rating, crop) instead of copies. --xmp embeds "
            "the stars (-1 for a reject), a colour label and the crop as XMP that Lightroom, darktable and digiKam "
            "read. Progress and a summary on stderr. Exit 0 on success, 1 if some files failed (each named), "
            "2 for a usage error."
        ),
    )
    export.add_argument("folder", metavar="FOLDER", type=Path, help="a folder opened or scored before")
    export.add_argument("dest", metavar="DEST", type=Path, help="the folder to export to (created if needed)")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--picks", action="store_true", help="the photos flagged as picks (the default)")
    which.add_argument("--top", type=int, metavar="N", help="the N best-scored photos")
    which.add_argument("--min-score", type=float, metavar="S", help="every photo scored S or more (0-1)")
    which.add_argument("--best-of-groups", action="store_true",
                       help="the best of each group of one moment (as 'groups' ranks it; a rejected best gives way "
                            "to the next), and every photo in no group; rejects never")
    export.add_argument("--apply-crop", action="store_true",
                        help="crop to the accepted crops (photos without one are exported whole)")
    export.add_argument("--apply-proposed-crops", action="store_true",
                        help="crop the photos without an accepted crop to the crop search's proposal (unreviewed)")
    export.add_argument("--long-edge", type=int, metavar="PX", help="shrink so the long edge is at most PX")
    export.add_argument("--format", choices=("same", "jpeg", "png", "webp"), default="same",
                        help="file format (default: the source's; other formats than these become JPEG)")
    export.add_argument("--quality", type=int, default=90, metavar="Q", help="JPEG/WebP quality 1-100 (90)")
    export.add_argument("--name", default="{name}", metavar="PATTERN",
                        help="file name without extension, from {rank} {name} {score} {rating} {decision} {date} "
                             "{ext}, each as it is (no format specs; {{ and }} for braces; default: %(default)s; "
                             "e.g. '{rank} {name}')")
    export.add_argument("--xmp", action="store_true", help="embed the stars, label and crop as XMP")
    export.add_argument("--list-only", action="store_true", help="write a CSV and a JSON list, copy nothing")
    export.add_argument("--skip-existing", action="store_true",
                        help="skip a photo whose name exists in DEST (default: add ' (2)' to the name)")
    export.add_argument("--strip-gps", action="store_true", help="leave the GPS position out of the copies")
    export.add_argument("--raw-files", choices=("both", "raw", "jpeg"), default="both",
                        help="for a camera raw: copy the raw as it is (with --xmp its decisions in NAME.xmp beside "
                             "it), its JPEG (the one of the same NAME beside it, else one made from the raw; crop, "
                             "resize and format apply to it), or both (the default)")
    add_model_option(export, help="whose scores (default: %(default)s)")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # The exporter (PIL) and the catalog (numpy, SQLite) load here, not when the command line is parsed.
    from selfie_desk.core.formats import export
    from selfie_desk.core.storage.catalog_access import open_for_reading

    if args.top is not None:
        selection = "top"
    elif args.min_score is not None:
        selection = "min_score"
    elif args.best_of_groups:
        selection = "best_of_groups"
    else:
        selection = "picks"
    options = export.ExportOptions(
        selection=selection, top_n=args.top, min_score=args.min_score, apply_crop=args.apply_crop,
        apply_proposals=args.apply_proposed_crops,
        long_edge=args.long_edge, format=args.format, quality=args.quality, name_pattern=args.name,
        embed_xmp=args.xmp, list_only=args.list_only, skip_existing=args.skip_existing,
        strip_gps=args.strip_gps, model=args.model, raw_files=args.raw_files,
    )
    try:
        export.check_options(options)
        if selection == "top" and args.top < 1:
            raise export.ExportError("--top needs N >= 1")
    except export.ExportError as exc:
        raise UsageError(str(exc)) from None
    if args.dest.exists() and not args.dest.is_dir():
        raise UsageError(f"not a folder: {args.dest}")
    folder, photos = catalog_photos(args.folder, args.model)
    if export.inside(folder, args.dest) and not args.list_only:
        print(f"selfie-desk: note: {args.dest} is inside {args.folder}: the copies will be among its photos the next "
              "time it is scanned", file=sys.stderr)

    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        with open_for_reading(catalog_file()) as catalog:
            report = export.export(photos, args.dest, options, catalog, progress=print_progress, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    for outcome in report.outcomes:
        if outcome.error:
            print(f"selfie-desk: failed: {printable(outcome.source)}: {printable(outcome.error)}", file=sys.stderr)
        elif outcome.skipped:
            print(f"selfie-desk: skipped: {printable(outcome.source)}: {printable(outcome.skipped)}", file=sys.stderr)
    print(report.summary() + f"; into {args.dest}", file=sys.stderr)
    if report.selected == 0:
        hint = "no photo is flagged as a pick (P in the window)" if selection == "picks" else "no photo matches"
        print(f"selfie-desk: nothing to export: {hint}; see --top N or --min-score S", file=sys.stderr)
    if report.cancelled:
        return ExitCode.INTERRUPTED
    return ExitCode.SOME_FAILED if report.failed else ExitCode.OK
