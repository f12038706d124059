"""`selfie-desk score`: index photos into the catalog, score them, print them ranked (a table or JSON lines)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfie_desk.cli.common import (
    UsageError,
    add_device_option,
    add_model_option,
    load_scorer,
    print_json_lines,
    printable,
    score_with_progress,
)
from selfie_desk.cli.guard import catalog_file, scan_lock_told, tell_offline, tell_skipped
from selfie_desk.core.culling.ranking import best_first
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    score = sub.add_parser(
        "score",
        help="index photos (folders recursively) and score them",
        description=(
            "Index photos (folders recursively) into the catalog and score each with the convnet. "
            "Only new or changed files are read again. Without --json: a ranked table, progress on stderr. "
            "With --json: one JSON object per photo per line on stdout: "
            '{"path", "score", "faces": [{"box": [x0, y0, x1, y1], "confidence", "eyes": "open"|"closed"|"unknown", '
            '"sharpness": 0-1|null}], "width", "height", "error", "pair": the JPEG beside a raw|null}, in pixels of '
            'the upright full-resolution photo. A raw and a JPEG of the same NAME in one folder are one photo. '
            "Exit 0 when every file scored, 1 when some failed, 2 for a usage error."
        ),
    )
    score.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="photo files or folders")
    score.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    add_device_option(score)
    add_model_option(score)
    score.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)
    add_cluster_options(score)
    score.set_defaults(handler=run)


def add_cluster_options(parser) -> None:
    """--cluster, --workers, --path-map: the pass on a Ray cluster (the `cluster` extra; docs/scaling.md)."""
    parser.add_argument(
        "--cluster", metavar="auto|ADDRESS", default=None,
        help="score on a Ray cluster: 'auto' starts one on this machine (every core), HOST:PORT joins one "
             "started with `ray start --head` (workers read the photos from shared storage; the catalog "
             "stays here). Needs pip install 'selfie-desk[cluster]'")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="with --cluster: worker processes (default: one per CPU of the cluster)")
    parser.add_argument("--path-map", action="append", default=[], metavar="LOCAL=REMOTE",
                        help="with --cluster: the workers see paths under LOCAL at REMOTE (repeatable)")


@dataclass(frozen=True)
class Scored:
    """What `scan` leaves: the scorer, the pass's summary and the catalog's photos of the paths, by path."""

    scorer: Any
    summary: Any
    photos: dict[str, Any]
    then: Any = None  # what `then` returned
    vanished: tuple[str, ...] = ()  # targets moved, renamed or unplugged while they were scored


def scan(args: argparse.Namespace, then: Callable[[Any, Any, dict[str, Any]], Any] | None = None) -> Scored | int:
    """Index and score `args.paths` (reads args.model, device, batch_size), then collect the catalog's photos of
    them; an exit status instead when it cannot or was interrupted. `then(catalog, scorer, photos)` runs while
    the catalog and the scan lock are still held (groups regroups there)."""
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")

    # The catalog (numpy, SQLite) loads only once the command line is known to be right.
    from selfie_desk.core.formats.indexing import canonical, photo_path
    from selfie_desk.core.storage.catalog_access import open_catalog

    targets = [(photo_path(canonical(p)), p.is_dir()) for p in args.paths]  # where each is, before the pass
    path = catalog_file()
    open_catalog(path).close()  # a damaged, newer or unwritable catalog is told before the model loads
    cluster = _join_cluster(args)
    if isinstance(cluster, int):
        return cluster
    try:
        if cluster is not None:  # they load the convnet while this process loads the head and indexes
            cluster.start_workers(args.model, args.device, args.path_map_pairs, args.workers)
        scorer = load_scorer(args.model, args.device, head_only=cluster is not None, runtime=args.runtime)
        if scorer is None:
            return ExitCode.SOME_FAILED
        with open_catalog(path) as catalog, scan_lock_told(path) as go:
            if not go:
                return ExitCode.INTERRUPTED
            try:
                summary = _score(args, catalog, scorer, cluster)
            except Exception as exc:
                if cluster is None or type(exc).__name__ != "ClusterError":
                    raise
                print(f"selfie-desk: error: {exc}", file=sys.stderr)
                return ExitCode.SOME_FAILED
            return _collect(targets, catalog, scorer, summary, then)
    finally:
        if cluster is not None:
            cluster.close()


def _join_cluster(args: argparse.Namespace):
    """The Ray cluster of --cluster (None without it), or an exit status after saying why it cannot be had."""
    address = getattr(args, "cluster", None)
    if address is None:
        if getattr(args, "workers", None) is not None or getattr(args, "path_map", None):
            raise UsageError("--workers and --path-map go with --cluster")
        return None
    from selfie_desk.cluster import run as cluster_run

    try:
        path_map = cluster_run.parse_path_map(args.path_map)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers wants a number of worker processes, 1 or more")
    args.path_map_pairs = path_map
    try:
        return cluster_run.connect(args.cluster)
    except cluster_run.ClusterError as exc:
        print(f"selfie-desk: error: {exc}", file=sys.stderr)
        return ExitCode.SOME_FAILED


def _score(args: argparse.Namespace, catalog, scorer, cluster):
    if cluster is None:
        return score_with_progress(args.paths, catalog, scorer, args.batch_size)
    from selfie_desk.cluster import run as cluster_run

    def on_cluster(progress, cancel):
        return cluster_run.score(args.paths, catalog, scorer, cluster, workers=args.workers,
                                 path_map=args.path_map_pairs, progress=progress, cancel=cancel,
                                 batch_size=args.batch_size, device=args.device, model=args.model)

    return score_with_progress(args.paths, catalog, scorer, args.batch_size, label=f"Ray cluster {cluster.address}",
                               run=on_cluster)


def _collect(targets: list[tuple[Path, bool]], catalog, scorer, summary, then) -> Scored | int:
    """The catalog's photos of the targets (canonical, and whether each was a folder when the pass began) after
    the pass, and what `then` made of them. A target no longer where it was (a folder renamed or unplugged
    meanwhile) is told with how many of its photos were left unscored: never "0 photos" and success."""
    if summary.cancelled:
        print("selfie-desk: interrupted; everything scored so far is saved", file=sys.stderr)
        return ExitCode.INTERRUPTED
    photos: list[Any] = []
    vanished: list[str] = []
    for target, was_folder in targets:  # a pair's JPEG names the pair
        here = catalog.photos(scorer.model_name, **({"folder": str(target)} if was_folder
                                                     else {"paths": [str(target)]}))
        photos += here
        if not (target.is_dir() if was_folder else target.exists()):
            vanished.append(str(target))
            unscored = sum(p.score is None or p.error is not None for p in here)
            what = "folder" if was_folder else "photo"
            print(f"selfie-desk: error: the {what} {printable(target)} was moved, renamed or unplugged while it was "
                  f"scored: {unscored} of its {len(here)} photos not scored; nothing is lost (scores and decisions "
                  "follow the photos): run 'selfie-desk score' on its new place", file=sys.stderr)
    unique = {p.path: p for p in photos}
    after = then(catalog, scorer, unique) if then is not None else None
    return Scored(scorer, summary, unique, after, tuple(vanished))


def run(args: argparse.Namespace) -> int:
    """Score `args.paths` (also recover-catalog's second half); reads args.model, device, json, batch_size."""
    done = scan(args)
    if not isinstance(done, Scored):
        return done
    ranked = sorted(done.photos.values(), key=best_first)
    not_listed = tell_skipped(done.summary.index.skipped, done.photos) + tell_offline(done.summary.index)
    for path, message in done.summary.index.notes:  # told, not failed: the photo is scored
        print(f"selfie-desk: note: {printable(message)}: {printable(path)}", file=sys.stderr)
    if args.json:
        print_json_lines(photo.to_json() for photo in ranked)
    else:
        cluster = getattr(args, "cluster", None)
        print_table(ranked, done.summary, f"the Ray cluster ({cluster})" if cluster else done.scorer.label)
    failed = not_listed or done.vanished or any(p.error for p in ranked)
    return ExitCode.SOME_FAILED if failed else ExitCode.OK


def print_table(photos, summary, device: str) -> None:
    """The readable form: ranked photos on stdout, then those that could not be read; totals on stderr."""
    good = [p for p in photos if p.error is None]
    bad = [p for p in photos if p.error is not None]
    try:
        cwd = Path.cwd()
    except OSError:
        cwd = None

    def show(path: str) -> str:
        if cwd is not None:
            try:
                return printable(os.path.relpath(path, cwd) if path.startswith(str(cwd)) else path)
            except ValueError:
                pass
        return printable(path)

    print(f"{'rank':>4}  {'score':>5}  {'faces':>5}  {'size':>11}  photo")
    for rank, p in enumerate(good, 1):
        score = "  -  " if p.score is None else f"{p.score:.3f}"
        size = f"{p.width}x{p.height}" if p.width else "?"
        print(f"{rank:>4}  {score:>5}  {len(p.faces):>5}  {size:>11}  {show(p.path)}")
    if bad:
        print(f"\n{len(bad)} could not be read:")
        for p in bad:
            print(f"  {show(p.path)}: {printable(p.error)}")
    idx = summary.index
    print(
        f"\n{len(photos)} photos: {summary.scored} scored now, {idx.unchanged} unchanged, {idx.moved} moved, "
        f"{idx.removed} removed, {len(bad)} failed; {summary.elapsed:.1f} s on {device}",
        file=sys.stderr,
    )
