"""`selfie-desk groups`: score what is not scored yet (as `score` does), group the photos of one moment, and
print one group per line, members best first (a table, or JSON lines)."""

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
    score_with_progress,
)
from selfie_desk.cli.guard import catalog_file, scan_lock_told, tell_skipped
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    groups = sub.add_parser(
        "groups",
        help="group photos of one moment (bursts, brackets) and pick the best of each",
        description=(
            "Index and score photos (folders recursively) as 'score' does, then group the photos of one moment "
            "from their capture times and content, and rank each group: eyes open on every face, faces in focus, "
            "then the score. Groups you edited in the window are kept as they are. Without --json: a table. With "
            '--json: one JSON object per group per line: {"group": int, "kind": "burst"|"similar"|"bracket"|'
            '"panorama"|"single", "members": [{"path", "score": float|null, "best": bool, "reasons": [str]}]}, '
            "members best first; every photo in exactly one group. Exit 0 when every file scored, 1 when some "
            "failed, 2 for a usage error."
        ),
    )
    groups.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="photo files or folders")
    groups.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a table")
    add_device_option(groups)
    add_model_option(groups)
    groups.add_argument("--batch-size", type=int, default=16, help=argparse.SUPPRESS)
    groups.set_defaults(handler=run)


def group_row(group) -> dict:
    """One group as `selfie-desk groups --json` prints it."""
    return {
        "group": int(group.id),
        "kind": group.kind,
        "members": [
            {
                "path": m.photo.path,
                "score": None if m.photo.score is None else round(float(m.photo.score), 6),
                "best": m.best,
                "reasons": list(m.reasons),
            }
            for m in group.members
        ],
    }


def run(args: argparse.Namespace) -> int:
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")

    from selfie_desk.core.catalog_access import open_catalog
    from selfie_desk.core.groups import ranked_groups, regroup
    from selfie_desk.core.indexing import canonical

    path = catalog_file()
    open_catalog(path).close()  # a damaged, newer or unwritable catalog is told before the model loads
    scorer = load_scorer(args.model, args.device)
    if scorer is None:
        return ExitCode.SOME_FAILED
    with open_catalog(path) as catalog, scan_lock_told(path) as go:
        if not go:
            return ExitCode.INTERRUPTED
        summary = score_with_progress(args.paths, catalog, scorer, args.batch_size)
        if summary.cancelled:
            print("selfie-desk: interrupted; everything scored so far is saved", file=sys.stderr)
            return ExitCode.INTERRUPTED
        photos = []
        for target in map(canonical, args.paths):
            if target.is_dir():
                photos += catalog.photos(scorer.model_name, folder=str(target))
            else:
                photos += catalog.photos(scorer.model_name, paths=[str(target)])
        unique = {p.path: p for p in photos}
        regroup(catalog, [p.id for p in unique.values()])
        fresh = catalog.photos(scorer.model_name, paths=list(unique))  # with their group ids
        groups = ranked_groups(catalog, fresh)
    not_listed = tell_skipped(summary.index.skipped, unique)
    if args.json:
        print_json_lines(group_row(g) for g in groups)
    else:
        print_table(groups)
    failed = not_listed or any(p.error for p in unique.values())
    return ExitCode.SOME_FAILED if failed else ExitCode.OK


def print_table(groups) -> None:
    """The readable form: each group, its members best first (* marks the best), then a count on stderr."""
    print(f"{'group':>5}  {'kind':<8}  {'best':<4}  {'score':>5}  photo  (reasons)")
    for g in groups:
        for i, m in enumerate(g.members):
            score = "  -  " if m.photo.score is None else f"{m.photo.score:.3f}"
            head = f"{g.id:>5}  {g.kind:<8}" if i == 0 else f"{'':>5}  {'':<8}"
            why = f"  ({'; '.join(m.reasons)})" if m.reasons else ""
            print(f"{head}  {'*' if m.best else '':<4}  {score:>5}  {m.photo.path}{why}")
    n = sum(len(g.members) for g in groups)
    print(f"\n{n} photos in {len(groups)} groups", file=sys.stderr)
