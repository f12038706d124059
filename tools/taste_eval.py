"""Measure personal-model training on a taste the default model does not have (black and white preferred
to colour, tests/taste_data.py): held-out agreement vs the default model, starting from the default's
weights vs from scratch, over several seeds; and the likes recipe against raw likes on a table where the
audience is confounded with colour. The figures in docs/personal-models.md come from here.

    .venv/bin/python tools/taste_eval.py [--per-source 10] [--seeds 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.demo import make_taste_folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-source", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="taste-eval-"))
    os.environ["SELFIE_DESK_HOME"] = str(tmp / "home")

    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline, taste
    from selfie_desk.neural.model import Scorer

    folder = tmp / "photos"
    truth = make_taste_folder(folder, per_source=args.per_source)
    catalog = Catalog(tmp / "catalog.sqlite3")
    t0 = time.perf_counter()
    pipeline.score([folder], catalog, Scorer(device="cpu"))
    print(f"{len(truth)} photos scored in {time.perf_counter() - t0:.1f} s")
    photos = catalog.photos("default", folder=str(folder))
    for p in photos:
        CullingSession(catalog).adopt([(p.id, "decision", "keep" if truth[Path(p.path).name] else "reject")])
    labels, _ = taste.labels_from_catalog(catalog)

    print("\nPicks (B&W) vs rejects (colour), held out 20 % stratified:")
    print(f"{'init':<8} {'seed':>4} {'acc':>6} {'auc':>6} {'def acc':>7} {'def auc':>7} {'secs':>5}")
    summary: dict[str, list] = {"default": [], "fresh": []}
    for init in ("default", "fresh"):
        for seed in range(args.seeds):
            r = taste.train(catalog, labels, "eval", holdout=0.2, seed=seed, init=init)
            a = r.heldout
            summary[init].append((a.accuracy, a.auc, a.default_accuracy, a.default_auc))
            print(f"{init:<8} {seed:>4} {a.accuracy:6.3f} {a.auc:6.3f} {a.default_accuracy:7.3f} "
                  f"{a.default_auc:7.3f} {r.card['training']['seconds']:5.2f}")
    for init, rows in summary.items():
        m = np.mean(rows, axis=0)
        print(f"mean {init:<8} acc {m[0]:.3f} auc {m[1]:.3f} | default acc {m[2]:.3f} auc {m[3]:.3f}")

    # Few labels: 10 picks + 10 rejects, measured on all the other photos.
    print("\nFew labels (10 good + 10 bad), measured on the other photos:")
    for init in ("default", "fresh"):
        accs, aucs = [], []
        for seed in range(args.seeds):
            rng = np.random.default_rng(100 + seed)
            good_l = [lab for lab in labels if lab.good]
            bad_l = [lab for lab in labels if not lab.good]
            pick = [good_l[i] for i in rng.choice(len(good_l), 10, replace=False)] + [
                bad_l[i] for i in rng.choice(len(bad_l), 10, replace=False)]
            chosen = {lab.photo_id for lab in pick}
            test = [lab for lab in labels if lab.photo_id not in chosen]
            r = taste.train(catalog, pick, "eval", holdout=0.0, seed=seed, init=init)
            emb = catalog.embeddings([lab.photo_id for lab in test])
            x = np.stack([emb[lab.photo_id][0] for lab in test])
            good = np.array([lab.good for lab in test])
            s = taste.head_scores(r.head, x)
            accs.append(np.mean((s > 0.5) == good))
            aucs.append(taste.pairwise_auc(s, good))
        print(f"{init:<8} acc {np.mean(accs):.3f} (min {np.min(accs):.3f})  auc {np.mean(aucs):.3f} "
              f"(min {np.min(aucs):.3f})")

    # Unseen pictures: train on five demo sources, test on the sixth (no variant of it seen in training).
    print("\nLeave one source picture out (train on the others' variants, test on all of its variants):")
    sources = sorted({Path(p.path).name.split("-")[0] for p in photos})
    for init in ("default", "fresh"):
        accs, aucs, daucs = [], [], []
        for held in sources:
            train_labels = [lab for lab in labels if not Path(lab.path).name.startswith(held + "-")]
            test = [lab for lab in labels if Path(lab.path).name.startswith(held + "-")]
            r = taste.train(catalog, train_labels, "eval", holdout=0.0, seed=0, init=init)
            emb = catalog.embeddings([lab.photo_id for lab in test])
            x = np.stack([emb[lab.photo_id][0] for lab in test])
            good = np.array([lab.good for lab in test])
            s = taste.head_scores(r.head, x)
            from selfie_desk.neural.model import load_head

            d = taste.head_scores(load_head("default")[0], x)
            accs.append(np.mean((s > 0.5) == good))
            aucs.append(taste.pairwise_auc(s, good))
            daucs.append(taste.pairwise_auc(d, good))
        print(f"{init:<8} acc {np.mean(accs):.3f} (min {np.min(accs):.3f})  auc {np.mean(aucs):.3f}  "
              f"default auc {np.mean(daucs):.3f}")

    # Likes, confounded: colour photos are posted by accounts with ~3x the followers, B&W get 2x the likes
    # of colour at the same audience. Raw likes say colour; the grouped recipe says B&W.
    rng = np.random.default_rng(1)
    posts = []
    for p in photos:
        bw = truth[Path(p.path).name]
        followers = float(np.exp(rng.normal(7.0, 1.2)) * (1.0 if bw else 3.0))
        likes = followers * 0.05 * (2.0 if bw else 1.0) * float(np.exp(rng.normal(0, 0.2)))
        posts.append(taste.Post(p.path, round(likes), round(followers)))
    print("\nLikes table with audience confounded with colour (B&W share of 'good' labels):")
    for group in (10, 20, len(posts)):
        labelled = taste.likes_labels(posts, group)
        good_bw = np.mean([truth[Path(po.path).name] for po, g in labelled if g])
        lab = [taste.Label(catalog.photo_ids_by_path([po.path])[po.path], po.path, g, "likes") for po, g in labelled]
        r = taste.train(catalog, lab, "eval", holdout=0.2, seed=0)
        # agreement with the real taste (B&W good) on all photos
        emb = catalog.embeddings([p.id for p in photos])
        x = np.stack([emb[p.id][0] for p in photos])
        truth_v = np.array([truth[Path(p.path).name] for p in photos])
        s = taste.head_scores(r.head, x)
        print(f"group {group:>4}: {len(labelled)} labels, {good_bw:.0%} of 'good' are B&W; model's pairwise "
              f"agreement with the B&W taste on all photos {taste.pairwise_auc(s, truth_v):.3f}")
    catalog.close()


if __name__ == "__main__":
    main()
