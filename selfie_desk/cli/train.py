"""`selfie-desk train`: a personal score model from your picks, stars or a likes table (issue 7)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selfie_desk.cli.common import UsageError, add_device_option, load_scorer, score_with_progress
from selfie_desk.core.exit_codes import ExitCode


def register(sub) -> None:
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
    add_device_option(training, help="where photos not yet scored are scored")
    training.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from selfie_desk.core import paths

    # Usage errors first, before torch loads (seconds).
    if not 0 <= args.holdout < 1:
        raise UsageError("--holdout must be at least 0 and below 1 (e.g. 0.2)")
    if args.group_size < 2:
        raise UsageError("--group-size must be at least 2")
    missing = [str(f) for f in args.folders if not f.is_dir()]
    if missing:
        raise UsageError(f"no such folder: {', '.join(missing)}")
    if args.likes is not None and not args.likes.is_file():
        raise UsageError(f"no such file: {args.likes}")
    if (paths.user_models_dir() / f"{args.name}.pt").exists() and not args.replace:
        raise UsageError(f"a model named {args.name!r} exists already; choose another name or add --replace")

    from selfie_desk.neural import taste  # torch

    try:
        taste.check_name(args.name)
    except taste.TasteError as exc:
        raise UsageError(str(exc)) from None
    posts: list[taste.Post] = []
    if args.likes is not None:
        try:
            posts = taste.read_likes_csv(args.likes)
        except taste.TasteError as exc:
            raise UsageError(str(exc)) from None

    from selfie_desk.core.formats.indexing import canonical, index
    from selfie_desk.core.model_cards import DEFAULT_MODEL
    from selfie_desk.core.storage.catalog_access import open_catalog
    from selfie_desk.neural import rescore

    def warn(text: str) -> None:
        print(f"selfie-desk: warning: {text}", file=sys.stderr)

    absent = [p for p in posts if not Path(p.path).is_file()]
    if absent:
        warn(f"{len(absent)} rows of {args.likes} name files that do not exist (first: {absent[0].path}); "
             "they are left out")
        posts = [p for p in posts if Path(p.path).is_file()]
    folders = [canonical(f) for f in args.folders]
    targets = folders + [Path(p.path) for p in posts]
    with open_catalog(paths.catalog_path()) as catalog:  # a damaged or newer catalog: one line, exit 3
        # Index, and score what is not yet in the catalog (labels need embeddings); an up-to-date catalog
        # needs no convnet at all.
        if targets and index(targets, catalog, DEFAULT_MODEL).todo:
            scorer = load_scorer(DEFAULT_MODEL, args.device, runtime=args.runtime)
            if scorer is None:
                return ExitCode.SOME_FAILED
            summary = score_with_progress(targets, catalog, scorer)
            if summary.cancelled:
                print("selfie-desk: interrupted; nothing was trained (what was scored is saved)", file=sys.stderr)
                return ExitCode.INTERRUPTED
            if summary.failed:
                warn(f"{summary.failed} photos could not be read; they are left out")
        sources = []
        if folders or not posts:
            labels, unscored = taste.labels_from_catalog(catalog, [str(f) for f in folders])
            if unscored:
                warn(f"{unscored} flagged or rated photos are not scored yet (open or score their folders): "
                     "left out")
            sources.append(labels)
        if posts:
            likes, without = taste.labels_from_likes(catalog, posts, args.group_size)
            if without:
                warn(f"{without} photos of the likes table could not be scored: left out")
            sources.append(likes)
        labels = taste.merge_labels(*sources)
        try:
            result = taste.train(catalog, labels, args.name, holdout=args.holdout, seed=args.seed, init=args.init)
        except taste.TasteError as exc:
            print(f"selfie-desk: error: {exc}", file=sys.stderr)
            return ExitCode.SOME_FAILED
        for text in result.warnings:
            warn(text)
        # how to make it again, on the same labels, when a newer Selfie Desk embeds photos differently
        result.card["retrain"] = {"folders": [str(f) for f in folders],
                                  "likes": None if args.likes is None else str(canonical(args.likes))}
        path = taste.save_model(result, replace=args.replace)
        catalog.forget_model(args.name)  # a replaced model's old scores are stale
        scored = rescore.rescore(catalog, args.name)

    card = result.card
    counts = card["labels"]
    print(f"Labels: {counts['total']} ({counts['good']} good, {counts['bad']} bad) from "
          + ", ".join(f"{n} {s}" for s, n in counts["sources"].items()))
    print(f"Trained in {card['training']['seconds']:.1f} s on {card['holdout']['train']} labels "
          f"(start: {'the default model' if args.init == 'default' else 'from scratch'}).")
    a = result.heldout
    if a is None:
        print("Held-out agreement: not measured (too few labels of each kind held out)")
    else:
        print(f"Held-out agreement on {a.n} photos ({a.good} good, {a.bad} bad):")
        print(f"  {'model':<16} {'accuracy':>9} {'pairwise':>9}")
        print(f"  {args.name[:16]:<16} {a.accuracy:>9.1%} {a.auc:>9.1%}")
        print(f"  {'default':<16} {a.default_accuracy:>9.1%} {a.default_auc:>9.1%}")
    print(f"Saved model {args.name!r} to {path}; {scored} photos in the catalog scored with it.")
    print(f"Use it: selfie-desk score FOLDER --model {args.name}")
    return ExitCode.OK
