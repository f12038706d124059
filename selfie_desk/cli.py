"""The `selfie-desk` command. Its subcommands and JSON output are a contract other tools rely on."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from selfie_desk import __version__
from selfie_desk.cli_guard import (  # issue 15: the guarded runner, the catalog's door, per-file reports
    EXIT_CATALOG,  # noqa: F401  (part of the command's contract, with the three below)
    EXIT_INTERRUPTED,
    add_recover_command,
    catalog_file,
    cmd_recover_catalog,
    lossless_stdout,
    run_guarded,
    scan_lock_told,
    tell_skipped,
)
from selfie_desk.core import crop_geometry
from selfie_desk.core.ranking import best_first

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in the command line: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfie-desk",
        description="Cull a photo folder with a convnet: score every photo, sort best to worst, crop and export.",
        epilog=("Run 'selfie-desk COMMAND --help' for the options of each command. Exit status: 0 success, 1 some "
                "files failed, 2 a usage error, 3 the catalog or the app's folder cannot be used, 130 interrupted."),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--self-test", action="store_true",
        help="check this installation: score and crop the bundled demo photos headless, print a summary; "
             "exit 0 when all is well, 1 naming what is wrong",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    score = sub.add_parser(
        "score",
        help="index photos (folders recursively) and score them",
        description=(
            "Index photos (folders recursively) into the catalog and score each with the convnet. "
            "Only new or changed files are read again. Without --json: a ranked table, progress on stderr. "
            "With --json: one JSON object per photo per line on stdout: "
            '{"path", "score", "faces": [{"box": [x0, y0, x1, y1], "confidence"}], "width", "height", "error"}, '
            "in pixels of the upright full-resolution photo. Exit 0 when every file scored, 1 when some failed, "
            "2 for a usage error."
        ),
    )
    score.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="photo files or folders")
    score.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    score.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the convnet runs")
    score.add_argument("--model", default="default", metavar="NAME", help="score model (default: %(default)s)")
    score.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)

    listing = sub.add_parser(
        "list",
        help="print the catalog's view of a folder: scores, flags, stars, crops",
        description=(
            "Print what the catalog knows of the photos in FOLDER (recursively), best first. Reads the catalog "
            "only (no photo is opened), so it works while the window is open. With --json: one JSON object per "
            'photo per line: {"path", "score", "decision": "keep"|"reject"|null, "rating": 0-5, '
            '"crop": [x0, y0, x1, y1]|null, "faces": [{"box", "confidence"}], "width", "height"}. '
            "Exit 2 for a usage error."
        ),
    )
    listing.add_argument("folder", metavar="FOLDER", type=Path, help="a folder opened or scored before")
    listing.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    listing.add_argument("--model", default="default", metavar="NAME", help="whose scores (default: %(default)s)")

    crop = sub.add_parser(
        "crop",
        help="propose the best crops of photos (the convnet searches over scale, position and ratio)",
        description=(
            "Search hundreds of candidate crops of each photo (scale, position and, with --aspect free, ratio), "
            "score them with the convnet and print the best one with up to K distinct alternatives. Crops never "
            "cut through a detected face. Without --json: a readable summary. With --json: one JSON object per "
            'photo per line on stdout and nothing else: {"path", "width", "height", "aspect", "crop": [x0, y0, '
            'x1, y1], "score", "alternatives": [{"crop", "score"}], "error"}, in pixels of the upright '
            'full-resolution photo; for a file that cannot be read: "error" is the reason and crop, score, '
            "width and height are null, alternatives empty. Photos already in the catalog (opened or scored "
            "before, unchanged since) also get the proposal stored there, for the app's 'best after crop' sort; "
            "other photos are not added to the catalog. Exit 0 when every photo was cropped, 1 when some "
            "failed, 2 for a usage error."
        ),
    )
    crop.add_argument("images", nargs="+", metavar="IMAGE", type=Path, help="photo files")
    crop.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a summary")
    crop.add_argument("--aspect", choices=crop_geometry.ASPECTS, default="original",
                      help="aspect ratio preset; free lets the search choose (default: %(default)s, the photo's own)")
    crop.add_argument("--top", type=int, default=3, metavar="K", help="alternatives besides the best (default: 3)")
    crop.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the convnet runs")
    crop.add_argument("--model", default="default", metavar="NAME", help="score model (default: %(default)s)")

    opening = sub.add_parser(
        "open",
        help="open the window on a folder (also: selfie-desk FOLDER)",
        description="Open the Selfie Desk window on FOLDER and score it in the background.",
    )
    opening.add_argument("folder", metavar="FOLDER", type=Path, help="the folder of photos to cull")
    add_export_commands(sub)
    add_recover_command(sub)

    training = sub.add_parser(
        "train",
        help="teach the score your taste: train a personal model from your picks, stars or a likes table",
        description=(
            "Train a personal score model on the stored embeddings (seconds on a CPU). Labels: your picks (good) "
            "and rejects (bad), stars (4-5 good, 1-2 bad) in FOLDERs (scored first if needed; without FOLDER: "
            "the whole catalog), and/or a likes table (--likes: columns path,likes,followers[,tags]; within groups "
            "of posts with a similar audience the top half by likes is good). Prints the agreement on held-out "
            "photos next to the default model's, and saves the model for --model NAME. Exit 0 when saved, "
            "1 when there was nothing to learn from (nothing saved), 2 for a usage error."
        ),
    )
    training.add_argument("folders", nargs="*", metavar="FOLDER", type=Path, help="folders whose decisions to use")
    training.add_argument("--likes", metavar="FILE.csv", type=Path, help="a likes table: path,likes,followers[,tags]")
    training.add_argument("--name", required=True, metavar="NAME", help="the new model's name")
    training.add_argument("--holdout", type=float, default=0.2, help="share of labels held out (default: 0.2)")
    training.add_argument("--seed", type=int, default=0, help="seed of the held-out split and training")
    training.add_argument("--init", choices=("default", "fresh"), default="default",
                          help="start from the default model's weights (default) or from scratch")
    training.add_argument("--group-size", type=int, default=100, help="likes: posts per group (default: 100)")
    training.add_argument("--replace", action="store_true", help="replace an existing model of that name")
    training.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                          help="where photos not yet scored are scored")

    models = sub.add_parser(
        "models",
        help="list the score models (the default and your personal ones) with their cards",
        description='List the score models. With --json: one object per model per line: {"name", "path", "card"}.',
    )
    models.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    handlers = {
        "score": cmd_score, "list": cmd_list, "crop": cmd_crop, "open": lambda a: cmd_open(a.folder),
        "export": cmd_export, "sidecars": cmd_sidecars, "train": _cmd_train, "models": _cmd_models,
        "recover-catalog": cmd_recover_catalog, None: lambda _a: cmd_open(None),
    }
    lossless_stdout()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in handlers and not argv[0].startswith("-"):
        argv.insert(0, "open")  # `selfie-desk FOLDER` is `selfie-desk open FOLDER`
    args = parser.parse_args(argv)
    if args.self_test:
        from selfie_desk.self_test import run as self_test  # headless: imports no Qt

        return self_test()
    try:
        return run_guarded(handlers[args.command], args)
    except UsageError as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nselfie-desk: interrupted; everything scored so far is saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`selfie-desk list FOLDER | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SOME_FAILED


def _cmd_train(args: argparse.Namespace) -> int:
    from selfie_desk.cli_train import cmd_train  # training's own module, loaded only when asked for

    return cmd_train(args)


def _cmd_models(args: argparse.Namespace) -> int:
    from selfie_desk.cli_train import cmd_models

    return cmd_models(args)


def display_problem() -> str | None:
    """Why a window cannot open here (None: it can). Only Linux without X11/Wayland is detected up front."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None  # the user chose a platform (offscreen, xcb, wayland...): let Qt try it
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "on a headless machine use 'selfie-desk score FOLDER' or 'selfie-desk list FOLDER'")
    return None


def cmd_open(folder: Path | None) -> int:
    """The window: on `folder`, or the last folder, or (the first time) the bundled demo photos."""
    if folder is not None and not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    problem = display_problem()
    if problem:
        print(f"selfie-desk: error: {problem}", file=sys.stderr)
        return EXIT_SOME_FAILED
    try:
        from selfie_desk.ui.app import run
    except ImportError as exc:
        print(f"selfie-desk: error: the window cannot start: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    return run(folder)


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
    }


def cmd_list(args: argparse.Namespace) -> int:
    from selfie_desk.core.catalog_access import open_for_reading
    from selfie_desk.core.indexing import canonical

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
        for photo in ranked:
            sys.stdout.write(json.dumps(list_row(photo)) + "\n")
        sys.stdout.flush()
        return EXIT_OK
    if not ranked:
        print(f"No photos of {target} in the catalog yet: open it in Selfie Desk or run "
              f"'selfie-desk score {args.folder}'.", file=sys.stderr)
        return EXIT_OK
    print(f"{'rank':>4}  {'score':>5}  {'flag':<6}  {'stars':<5}  {'faces':>5}  {'size':>11}  photo")
    rank = 0
    for p in ranked:
        if p.score is not None:
            rank += 1
        flag = {"keep": "pick", "reject": "reject"}.get(p.decision or "", "")
        score = "  -  " if p.score is None else f"{p.score:.3f}"
        size = f"{p.width}x{p.height}" if p.width else "?"
        shown_rank = str(rank) if p.score is not None else "-"
        print(f"{shown_rank:>4}  {score:>5}  {flag:<6}  {'*' * p.rating:<5}  {len(p.faces):>5}  {size:>11}  {p.path}")
    return EXIT_OK


def load_scorer(model: str, device: str):
    """The convnet for `--model`/`--device`, or None after saying why on stderr (missing weights, no such
    device). An unknown model name is a usage error."""
    from selfie_desk.core.model_cards import UnknownModelError
    from selfie_desk.core.weights import ModelMissingError
    from selfie_desk.neural.model import Scorer

    try:
        return Scorer(model=model, device=device)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from None
    except (ModelMissingError, RuntimeError) as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return None


def score_with_progress(targets, catalog, scorer, batch_size: int = 16):
    """`pipeline.score` with a progress bar on a terminal's stderr; Ctrl+C stops it cleanly (check
    `summary.cancelled`): every finished batch is already saved."""
    from selfie_desk.neural import pipeline

    bar = ProgressBar(sys.stderr, scorer.label) if sys.stderr.isatty() else None
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        return pipeline.score(targets, catalog, scorer, progress=bar, cancel=cancel, batch_size=batch_size)
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar:
            bar.finish()


def cmd_score(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")

    from selfie_desk.core.catalog_access import open_catalog
    from selfie_desk.core.indexing import canonical

    path = catalog_file()
    open_catalog(path).close()  # a damaged, newer or unwritable catalog is told before the model loads
    scorer = load_scorer(args.model, args.device)
    if scorer is None:
        return EXIT_SOME_FAILED
    with open_catalog(path) as catalog, scan_lock_told(path) as go:
        if not go:
            return EXIT_INTERRUPTED
        summary = score_with_progress(args.paths, catalog, scorer, args.batch_size)
        photos = []
        for target in map(canonical, args.paths):
            if target.is_dir():
                photos += catalog.photos(scorer.model_name, folder=str(target))
            else:
                photos += catalog.photos(scorer.model_name, paths=[str(target)])
    if summary.cancelled:
        print("selfie-desk: interrupted; everything scored so far is saved", file=sys.stderr)
        return EXIT_INTERRUPTED

    unique = {p.path: p for p in photos}
    ranked = sorted(unique.values(), key=best_first)
    not_listed = tell_skipped(summary.index.skipped, unique)
    if args.json:
        out = sys.stdout
        for photo in ranked:
            out.write(json.dumps(photo.to_json()) + "\n")
        out.flush()
    else:
        print_table(ranked, summary, scorer.label)
    return EXIT_SOME_FAILED if not_listed or any(p.error for p in ranked) else EXIT_OK


def cmd_crop(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise UsageError("--top must be 0 or more")
    missing = [str(p) for p in args.images if not p.exists()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    folders = [str(p) for p in args.images if p.is_dir()]
    if folders:
        raise UsageError(f"crop takes photo files, not folders: {', '.join(folders)}")

    from selfie_desk.core.catalog_access import open_catalog
    from selfie_desk.core.decoding import PhotoError
    from selfie_desk.core.indexing import canonical, fingerprint
    from selfie_desk.neural.crop_search import CropSearch

    scorer = load_scorer(args.model, args.device)
    if scorer is None:
        return EXIT_SOME_FAILED
    search = CropSearch(scorer)
    # only an existing catalog is written to: `crop` never creates one nor indexes photos into it
    catalog = open_catalog(catalog_file()) if catalog_file().exists() else None
    failed = stored = 0
    try:
        for image in args.images:
            path = canonical(image)
            try:
                result = search.search_path(path, args.aspect, args.top)
            except (PhotoError, OSError) as exc:
                failed += 1
                row = {"path": str(path), "width": None, "height": None, "aspect": args.aspect, "crop": None,
                       "score": None, "alternatives": [], "error": str(exc) or type(exc).__name__,
                       "keep_whole": None}
                if args.json:
                    sys.stdout.write(json.dumps(row) + "\n")
                    sys.stdout.flush()
                else:
                    print(f"{image}: could not be read: {row['error']}")
                continue
            if catalog is not None:
                stored += _store_proposal(catalog, scorer.model_name, path, result, fingerprint)
            if args.json:
                sys.stdout.write(json.dumps(result.to_json(str(path))) + "\n")
                sys.stdout.flush()
            else:
                print_crop(image, result)
    finally:
        if catalog is not None:
            catalog.close()
    if not args.json and stored:
        print(f"{stored} proposal(s) stored in the catalog", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


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
    print(f"{shown}  ({result.width}x{result.height}, aspect {result.aspect}, {len(result.faces)} face(s))")
    if result.keep_whole:
        print(f"  keep as is    {box(result.best.box):<28} score {result.best.score:.3f} "
              "(no crop scores clearly higher)")
    else:
        print(f"  best crop     {box(result.best.box):<28} score {result.best.score:.3f} "
              f"(whole photo {result.whole_score:.3f}, {gain:+.3f})")
    for k, alt in enumerate(result.alternatives, 1):
        print(f"  alternative {k} {box(alt.box):<28} score {alt.score:.3f}")


def print_table(photos, summary, device: str) -> None:
    good = [p for p in photos if p.error is None]
    bad = [p for p in photos if p.error is not None]
    try:
        cwd = Path.cwd()
    except OSError:
        cwd = None

    def show(path: str) -> str:
        if cwd is not None:
            try:
                return os.path.relpath(path, cwd) if path.startswith(str(cwd)) else path
            except ValueError:
                pass
        return path

    print(f"{'rank':>4}  {'score':>5}  {'faces':>5}  {'size':>11}  photo")
    for rank, p in enumerate(good, 1):
        score = "  -  " if p.score is None else f"{p.score:.3f}"
        size = f"{p.width}x{p.height}" if p.width else "?"
        print(f"{rank:>4}  {score:>5}  {len(p.faces):>5}  {size:>11}  {show(p.path)}")
    if bad:
        print(f"\n{len(bad)} could not be read:")
        for p in bad:
            print(f"  {show(p.path)}: {p.error}")
    idx = summary.index
    print(
        f"\n{len(photos)} photos: {summary.scored} scored now, {idx.unchanged} unchanged, {idx.moved} moved, "
        f"{idx.removed} removed, {len(bad)} failed; {summary.elapsed:.1f} s on {device}",
        file=sys.stderr,
    )


def add_export_commands(sub) -> None:
    export = sub.add_parser(
        "export",
        help="copy the keepers (picks, top N, above a score) to DEST, or list them",
        description=(
            "Export photos of FOLDER (scored before) to DEST: upright, EXIF and ICC profile kept, never replacing "
            "a file (a clash gets a new name, 'photo (2).jpg', or is skipped with --skip-existing). Which photos: "
            "--picks (the default), --top N or --min-score S (best first; rejects never). --list-only writes "
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
                             "{ext} (default: %(default)s; e.g. '{rank} {name}')")
    export.add_argument("--xmp", action="store_true", help="embed the stars, label and crop as XMP")
    export.add_argument("--list-only", action="store_true", help="write a CSV and a JSON list, copy nothing")
    export.add_argument("--skip-existing", action="store_true",
                        help="skip a photo whose name exists in DEST (default: add ' (2)' to the name)")
    export.add_argument("--strip-gps", action="store_true", help="leave the GPS position out of the copies")
    export.add_argument("--model", default="default", metavar="NAME", help="whose scores (default: %(default)s)")

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
    sidecars.add_argument("--model", default="default", metavar="NAME", help=argparse.SUPPRESS)


def _catalog_photos(folder: Path, model: str) -> tuple[Path, list]:
    from selfie_desk.core.catalog_access import open_for_reading
    from selfie_desk.core.indexing import canonical

    target = canonical(folder)
    if not target.is_dir():
        raise UsageError(f"no such folder: {folder}")
    photos = []
    if catalog_file().exists():
        with open_for_reading(catalog_file()) as catalog:
            photos = catalog.photos(model, folder=str(target))
    if not photos:
        raise UsageError(f"no photos of {target} in the catalog yet: open it in Selfie Desk or run "
                         f"'selfie-desk score {folder}' first")
    return target, photos


def cmd_export(args: argparse.Namespace) -> int:
    from selfie_desk.core import export
    from selfie_desk.core.catalog_access import open_for_reading

    if args.top is not None:
        selection = "top"
    elif args.min_score is not None:
        selection = "min_score"
    else:
        selection = "picks"
    options = export.ExportOptions(
        selection=selection, top_n=args.top, min_score=args.min_score, apply_crop=args.apply_crop,
        apply_proposals=args.apply_proposed_crops,
        long_edge=args.long_edge, format=args.format, quality=args.quality, name_pattern=args.name,
        embed_xmp=args.xmp, list_only=args.list_only, skip_existing=args.skip_existing,
        strip_gps=args.strip_gps, model=args.model,
    )
    try:
        export.check_options(options)
        if selection == "top" and args.top < 1:
            raise export.ExportError("--top needs N >= 1")
    except export.ExportError as exc:
        raise UsageError(str(exc)) from None
    if args.dest.exists() and not args.dest.is_dir():
        raise UsageError(f"not a folder: {args.dest}")
    folder, photos = _catalog_photos(args.folder, args.model)
    if export.inside(folder, args.dest) and not args.list_only:
        print(f"selfie-desk: note: {args.dest} is inside {args.folder}: the copies will be among its photos the next "
              "time it is scanned", file=sys.stderr)

    def progress(p) -> None:
        print(f"[{p.done}/{p.total}] {p.path}", file=sys.stderr, flush=True)

    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        with open_for_reading(catalog_file()) as catalog:
            report = export.export(photos, args.dest, options, catalog, progress=progress, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    for outcome in report.outcomes:
        if outcome.error:
            print(f"selfie-desk: failed: {outcome.source}: {outcome.error}", file=sys.stderr)
        elif outcome.skipped:
            print(f"selfie-desk: skipped: {outcome.source}: {outcome.skipped}", file=sys.stderr)
    print(report.summary() + f"; into {args.dest}", file=sys.stderr)
    if report.selected == 0:
        hint = "no photo is flagged as a pick (P in the window)" if selection == "picks" else "no photo matches"
        print(f"selfie-desk: nothing to export: {hint}; see --top N or --min-score S", file=sys.stderr)
    if report.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


def cmd_sidecars(args: argparse.Namespace) -> int:
    from selfie_desk.core import sidecars

    folder, photos = _catalog_photos(args.folder, args.model)

    def progress(p) -> None:
        print(f"[{p.done}/{p.total}] {p.path}", file=sys.stderr, flush=True)

    report = sidecars.write_sidecars(photos, progress=progress)
    for path, message in report.failed:
        print(f"selfie-desk: failed: {path}: {message}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


class ProgressBar:
    """A one-line progress bar on a terminal: count, rate, time left."""

    def __init__(self, stream, device: str, width: int = 28):
        self.stream, self.device, self.width = stream, device, width
        self.shown = False

    def __call__(self, p) -> None:
        if p.total == 0:
            return
        filled = int(self.width * p.done / p.total)
        eta = "" if p.eta is None else f" ETA {int(p.eta) // 60}:{int(p.eta) % 60:02d}"
        line = (
            f"\r[{'#' * filled}{'-' * (self.width - filled)}] {p.done}/{p.total} "
            f"{p.rate:5.1f} photos/s{eta}  {self.device}"
        )
        self.stream.write(line[:200])
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
