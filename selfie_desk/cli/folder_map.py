"""`selfie-desk map`: score what is not scored yet (as `score` does), lay the folder out by similarity (the
window's Map, from the same cache) and write the snapped grid of thumbnails as one image. Named `folder_map`
so that it does not hide the builtin `map`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from selfie_desk.cli.common import UsageError, add_device_option, add_model_option
from selfie_desk.cli.score import Scored, scan
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    mapping = sub.add_parser(
        "map",
        help="write the folder's map (similar photos side by side) as one image",
        description=(
            "Index and score FOLDER's photos (recursively) as 'score' does, lay them out by similarity (t-SNE on "
            "the convnet's embeddings, snapped to a grid; the window's Map, from the same cache) and write the "
            "grid of thumbnails to OUT (.jpg, .png or .webp), SIZE px on its long side. OUT is never replaced "
            "unless --overwrite is given. With --json: one JSON object on stdout: "
            '{"out", "photos", "not_on_map", "cols", "rows", "width", "height", "layout": "tsne"|"cache"|'
            '"added"|"relayout", "seconds"}. Exit 0 on success, 1 when some photos could not be read, 2 for a '
            "usage error (OUT exists, an unknown format)."
        ),
    )
    mapping.add_argument("folder", metavar="PATH", type=Path, help="a folder of photos")
    mapping.add_argument("--out", required=True, type=Path, metavar="OUT", help="the image to write")
    mapping.add_argument("--size", type=int, default=4000, metavar="PX",
                         help="long side of the image in pixels (default: %(default)s)")
    mapping.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    mapping.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    add_device_option(mapping)
    add_model_option(mapping)
    mapping.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)
    mapping.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from selfie_desk.core.map.mosaic import FORMATS

    out: Path = args.out
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot tell the format of {out}: name it .jpg, .png or .webp")
    if not 64 <= args.size <= 30000:
        raise UsageError("--size must be between 64 and 30000 px")
    if out.exists() and not args.overwrite:
        raise UsageError(f"{out} exists: choose another name, or --overwrite to replace it")
    if not out.parent.is_dir():
        raise UsageError(f"no such folder: {out.parent}")
    if not args.folder.is_dir():
        raise UsageError(f"not a folder: {args.folder}")
    args.paths = [args.folder]

    def lay_out(catalog, scorer, photos):
        from selfie_desk.core.formats.indexing import canonical
        from selfie_desk.core.map.layout import layout_for

        return layout_for(catalog, str(canonical(args.folder)), [p.id for p in photos.values()])

    done = scan(args, then=lay_out)
    if not isinstance(done, Scored):
        return done
    report = done.then
    if not len(report.layout):
        print(f"selfie-desk: no photo of {args.folder} could be read: no map", file=sys.stderr)
        return ExitCode.SOME_FAILED
    return write(args, out, fmt, report, done.photos)


def write(args: argparse.Namespace, out: Path, fmt: str, report, photos: dict) -> int:
    from selfie_desk.core.files import write_atomic, write_new
    from selfie_desk.core.map.mosaic import render_mosaic

    by_id = {p.id: p for p in photos.values()}
    image = render_mosaic(report.layout, by_id, args.size)
    if max(image.size) != args.size:  # the cells are whole pixels: fit the long side to --size exactly
        from PIL import Image

        k = args.size / max(image.size)
        image = image.resize((max(1, round(image.width * k)), max(1, round(image.height * k))),
                             Image.Resampling.LANCZOS)

    def save(fh) -> None:
        image.save(fh, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))

    if args.overwrite:
        write_atomic(out, save, keep_mode=True)
    else:  # as export does: a file that appeared meanwhile is never replaced
        written = write_new(out.parent, out.stem, out.suffix, save, skip_existing=True)
        if written is None:
            raise UsageError(f"{out} exists: choose another name, or --overwrite to replace it")
    not_on_map = len(photos) - len(report.layout)
    summary = {"out": str(out), "photos": len(report.layout), "not_on_map": not_on_map,
               "cols": report.layout.cols, "rows": report.layout.rows, "width": image.width,
               "height": image.height, "layout": report.how, "seconds": round(report.seconds, 3)}
    if args.json:
        print(json.dumps(summary))
    print(f"selfie-desk: map of {len(report.layout)} photos ({report.layout.cols} x {report.layout.rows}) "
          f"written to {out}" + (f"; {not_on_map} could not be placed (unreadable)" if not_on_map else ""),
          file=sys.stderr)
    return ExitCode.SOME_FAILED if not_on_map else ExitCode.OK
