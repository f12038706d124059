"""`selfie-desk crop`: the crop search on photo files, the best crop and its alternatives (a summary or JSON
lines); photos the catalog knows also get the proposal stored there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli.common import (
    UsageError,
    add_device_option,
    add_model_option,
    load_scorer,
    print_json_lines,
    printable,
)
from selfie_desk.cli.guard import catalog_file
from selfie_desk.core.crop import geometry as crop_geometry
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    crop = sub.add_parser(
        "crop",
        help="propose the best crops of photos (framing learned from people's crops, and the photo's score)",
        description=(
            "Search hundreds of candidate crops of each photo (scale, position and, with --aspect free, ratio), "
            "rank them by how people frame a photo (a composition model learned from crops people drew) on the "
            "photo score's scale, and print the best one with up to K distinct alternatives. When no crop frames "
            "the photo clearly better, the proposal is the whole photo (keep as is). Crops never cut through a "
            "detected face. Without --json: a readable summary. With --json: one JSON object per "
            'photo per line on stdout and nothing else: {"path", "width", "height", "aspect", "crop": [x0, y0, '
            'x1, y1], "score", "alternatives": [{"crop", "score", "composition"}], "error", "keep_whole", '
            '"whole_score", "composition"}, in pixels of the upright full-resolution photo; "score" is on the '
            'photo score\'s scale ("whole_score" is the uncropped photo\'s), "composition" how much better the '
            "crop frames the photo than the whole frame (the composition model's units, > 0 better), "
            '"keep_whole" true when the proposal is the whole photo; for a file that cannot be read: "error" is '
            "the reason and crop, score, width and height are null, alternatives empty. Photos already in the "
            "catalog (opened or scored "
            "before, unchanged since) also get the proposal stored there, for the app's 'best after crop' sort; "
            "other photos are not added to the catalog. Exit 0 when every photo was cropped, 1 when some "
            "failed, 2 for a usage error."
        ),
    )
    crop.add_argument("images", nargs="+", metavar="IMAGE", type=Path, help="photo files")
    crop.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a summary")
    crop.add_argument("--aspect", choices=crop_geometry.RATIOS, default="original",
                      help="aspect ratio preset; free lets the search choose (default: %(default)s, the photo's own)")
    crop.add_argument("--top", type=int, default=3, metavar="K", help="alternatives besides the best (default: 3)")
    add_device_option(crop)
    add_model_option(crop)
    crop.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise UsageError("--top must be 0 or more")
    missing = [str(p) for p in args.images if not p.exists()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    folders = [str(p) for p in args.images if p.is_dir()]
    if folders:
        raise UsageError(f"crop takes photo files, not folders: {', '.join(folders)}")

    # The catalog and torch (the crop search) load only once the command line is known to be right.
    from selfie_desk.core.formats.decoding import PhotoError
    from selfie_desk.core.formats.indexing import canonical, fingerprint, pair_of, photo_path
    from selfie_desk.core.storage.catalog_access import open_catalog
    from selfie_desk.neural.crop_search import CropSearch

    scorer = load_scorer(args.model, args.device, runtime=args.runtime)
    if scorer is None:
        return ExitCode.SOME_FAILED
    search = CropSearch(scorer)
    # only an existing catalog is written to: `crop` never creates one nor indexes photos into it
    catalog = open_catalog(catalog_file()) if catalog_file().exists() else None
    failed = stored = 0
    try:
        for image in args.images:
            path = photo_path(canonical(image))  # a RAW+JPEG pair's JPEG names the pair: its raw
            try:
                result = search.search_path(path, args.aspect, args.top, pair_of(path))
            except (PhotoError, OSError) as exc:
                failed += 1
                row = {"path": str(path), "width": None, "height": None, "aspect": args.aspect, "crop": None,
                       "score": None, "alternatives": [], "error": str(exc) or type(exc).__name__,
                       "keep_whole": None, "whole_score": None, "composition": None}
                if args.json:
                    print_json_lines([row])
                else:
                    print(f"{printable(image)}: could not be read: {printable(row['error'])}")
                continue
            if catalog is not None:
                stored += _store_proposal(catalog, scorer.model_name, path, result, fingerprint)
            if args.json:
                print_json_lines([result.to_json(str(path))])
            else:
                print_crop(image, result)
    finally:
        if catalog is not None:
            catalog.close()
    if not args.json and stored:
        print(f"{stored} proposal(s) stored in the catalog", file=sys.stderr)
    return ExitCode.SOME_FAILED if failed else ExitCode.OK


def _store_proposal(catalog, model: str, path: Path, result, fingerprint) -> int:
    """Store the proposal when the catalog knows this photo and the file is unchanged since; 1 if stored."""
    known = catalog.photos(model, paths=[str(path)])
    if not known or known[0].error is not None:
        return 0
    photo = known[0]
    try:
        if fingerprint(path, path.stat().st_size) != photo.fingerprint:
            return 0  # changed since it was indexed: the app will re-read it and propose again
    except OSError:
        return 0
    catalog.save_crop_proposal(photo.id, model, result.proposal())
    return 1


def print_crop(shown: Path, result) -> None:
    """The readable form of one photo's crop search."""
    def box(b) -> str:
        x0, y0, x1, y1 = (int(v) for v in b)
        return f"{x1 - x0}x{y1 - y0} at ({x0}, {y0})"

    gain = result.best.score - result.whole_score
    print(f"{printable(shown)}  ({result.width}x{result.height}, aspect {result.aspect}, {len(result.faces)} face(s))")
    if result.keep_whole:
        print(f"  keep as is    {box(result.best.box):<28} score {result.best.score:.3f} "
              "(already well framed: no crop frames it clearly better)")
    else:
        print(f"  best crop     {box(result.best.box):<28} score {result.best.score:.3f} "
              f"(whole photo {result.whole_score:.3f}, {gain:+.3f}; composition {result.best.composition:+.2f})")
    for k, alt in enumerate(result.alternatives, 1):
        print(f"  alternative {k} {box(alt.box):<28} score {alt.score:.3f}")
