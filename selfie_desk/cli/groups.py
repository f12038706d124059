"""`selfie-desk groups`: score what is not scored yet (as `score` does), group the photos of one moment, and
print one group per line, members best first (a table, or JSON lines)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli.common import add_device_option, add_model_option, print_json_lines, printable
from selfie_desk.cli.guard import tell_offline, tell_skipped
from selfie_desk.cli.score import Scored, scan
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
    groups = sub.add_parser(
        "groups",
        help="group photos of one moment (bursts, brackets) and pick the best of each",
        description=(
            "Index and score photos (folders recursively) as 'score' does, then group the photos of one moment "
            "from their capture times and content, and rank each group: eyes open on every face, faces in focus, "
            "then the score. The thresholds are the ones set in the window (Groups > Grouping Thresholds; the "
            "defaults until then). Groups you edited in the window are kept as they are. Without --json: a table. "
            'With --json: one JSON object per group per line: {"group": int, "kind": "burst"|"similar"|"bracket"|'
            '"panorama"|"single", "members": [{"path", "score": float|null, "best": bool, "reasons": [str], '
            '"pair": str|null}], "thresholds": {"burst_similarity": float, "burst_gap_s": float}}, '
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


def group_row(group, thresholds: dict[str, float] | None = None) -> dict:
    """One group as `selfie-desk groups --json` prints it; `thresholds`: what grouping was asked with (added in
    issue 28: the window's and the command line's one set)."""
    row = {
        "group": int(group.id),
        "kind": group.kind,
        "members": [
            {
                "path": m.photo.path,
                "score": None if m.photo.score is None else round(float(m.photo.score), 6),
                "best": m.best,
                "reasons": list(m.reasons),
                "pair": m.photo.pair,  # a RAW+JPEG pair's JPEG (`path` is the raw), as in score and list
            }
            for m in group.members
        ],
    }
    if thresholds is not None:
        row["thresholds"] = thresholds
    return row


def run(args: argparse.Namespace) -> int:
    from selfie_desk.core.culling.groups import ranked_groups, regroup, thresholds_of
    from selfie_desk.core.settings import Settings

    params = Settings.load().grouping_params()  # the window's thresholds: one set for both (issue 28)

    def group(catalog, scorer, photos):
        regroup(catalog, [p.id for p in photos.values()], params)
        fresh = catalog.photos(scorer.model_name, paths=list(photos))  # with their group ids
        return ranked_groups(catalog, fresh)

    done = scan(args, then=group)  # scored as `score` does, grouped under the same scan lock
    if not isinstance(done, Scored):
        return done
    not_listed = tell_skipped(done.summary.index.skipped, done.photos) + tell_offline(done.summary.index)
    if args.json:
        used = thresholds_of(params)
        print_json_lines(group_row(g, used) for g in done.then)
    else:
        print_table(done.then)
    failed = not_listed or done.vanished or any(p.error for p in done.photos.values())
    return ExitCode.SOME_FAILED if failed else ExitCode.OK


def print_table(groups) -> None:
    """The readable form: each group, its members best first (* marks the best), then a count on stderr."""
    print(f"{'group':>5}  {'kind':<8}  {'best':<4}  {'score':>5}  photo  (reasons)")
    for g in groups:
        for i, m in enumerate(g.members):
            score = "  -  " if m.photo.score is None else f"{m.photo.score:.3f}"
            head = f"{g.id:>5}  {g.kind:<8}" if i == 0 else f"{'':>5}  {'':<8}"
            why = f"  ({'; '.join(m.reasons)})" if m.reasons else ""
            print(f"{head}  {'*' if m.best else '':<4}  {score:>5}  {printable(m.photo.path)}{printable(why)}")
    n = sum(len(g.members) for g in groups)
    print(f"\n{n} photos in {len(groups)} groups", file=sys.stderr)
