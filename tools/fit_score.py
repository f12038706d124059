"""The fitting half of tools/train_score.py: heads on the cached looks, chosen on a validation set carved
out of BIQ2021's train split, reported once on its official test split.

    .venv/bin/python tools/train_score.py --biq PATH --portraits PATH     # extracts (cached), then this
    .venv/bin/python tools/fit_score.py --cache .cache/train_score --explore   # the variants, validation only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from selfie_desk.core import look
from selfie_desk.core.embedding import EMBEDDING_DIM, EMBEDDING_ID
from selfie_desk.neural.model import ASPECT_KINDS, AspectHeads, ScoreHead, save_head

ROOT = Path(__file__).resolve().parents[1]



def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bucket(name: str, mod: int) -> int:
    return hashlib.blake2b(name.encode(), digest_size=4).digest()[0] % mod


def is_val(name: str) -> bool:
    """BIQ2021 train photos held out for validation (about 1 in 10), by a hash of the file name."""
    return bucket(name, 10) == 0


PAIR_MARGIN = 0.15  # in MOS units: a degraded copy scores at least this much below its original
ASPECT_INVARIANCE = 0.3  # weight of "the other kinds' pairs do not move this aspect"


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def features(d) -> np.ndarray:
    return np.concatenate([d["emb"], d["stats"], d["view"], d["detail"]], axis=1).astype(np.float32)


def load(cache: Path) -> dict:
    biq = dict(np.load(cache / "biq.npz"))
    sets = {"biq": biq}
    for name in ("portraits_train", "portraits_heldout", "biq_pairs"):
        sets[name] = dict(np.load(cache / f"{name}.npz"))
    return sets


def pair_arrays(sets: dict, names: tuple[str, ...]):
    """Stack pair sets: features, and (better, worse, kind) indices into them."""
    xs, better, worse, kinds = [], [], [], []
    offset = 0
    for n in names:
        d = sets[n]
        x = features(d)
        xs.append(x)
        better.append(d["pairs"][:, 0] + offset)
        worse.append(d["pairs"][:, 1] + offset)
        kinds.append(d["kinds"])
        offset += len(x)
    return np.concatenate(xs), np.concatenate(better), np.concatenate(worse), np.concatenate(kinds)


def train_head(x_mos, y_mos, x_pairs, better, worse, *, seed: int, epochs: int, pair_weight: float,
               hidden: int, qhidden: int, dropout: float, wd: float, women=None, fairness: float = 0.0,
               use_look: bool = True) -> ScoreHead:
    torch.manual_seed(seed)
    head = ScoreHead(hidden=hidden, qhidden=qhidden, dropout=dropout)
    look_part = x_mos[:, EMBEDDING_DIM:]
    head.set_standardisation(look_part.mean(0), look_part.std(0) + 1e-6)
    if not use_look:
        for p in head.quality.parameters():
            p.requires_grad_(False)
            p.data.zero_()
    params = [p for p in head.score_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=wd)
    xm, ym = torch.from_numpy(x_mos), torch.from_numpy(y_mos)
    xp = torch.from_numpy(x_pairs)
    b_t, w_t = torch.from_numpy(better), torch.from_numpy(worse)
    steps = (len(xm) + 255) // 256
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=epochs * steps)
    for _ in range(epochs):
        head.train()
        perm = torch.randperm(len(xm))
        pperm = torch.randperm(len(b_t))
        pb = max(1, len(pperm) // steps)
        for s in range(steps):
            idx = perm[s * 256 : (s + 1) * 256]
            loss = torch.nn.functional.mse_loss(head(xm[idx]), ym[idx])
            if pair_weight > 0 and len(b_t):
                pidx = pperm[s * pb : (s + 1) * pb]
                diff = head(xp[b_t[pidx]]) - head(xp[w_t[pidx]])
                loss = loss + pair_weight * (0.05 * torch.nn.functional.softplus((PAIR_MARGIN - diff) / 0.05)).mean()
            if fairness > 0 and women is not None:
                xo, wo = women
                logits = head(xo)
                loss = loss + fairness * (logits[wo].mean() - logits[~wo].mean()) ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    head.eval()
    return head


@torch.inference_mode()
def logits_of(heads: list[ScoreHead], x: np.ndarray) -> np.ndarray:
    xt = torch.from_numpy(x)
    return np.mean([h(xt).numpy() for h in heads], axis=0)


def pair_accuracy(lg: np.ndarray, better, worse, kinds) -> dict:
    out = {}
    for k in sorted(set(kinds.tolist())):
        m = kinds == k
        out[k] = round(float((lg[better[m]] > lg[worse[m]]).mean()), 4)
    out["all"] = round(float((lg[better] > lg[worse]).mean()), 4)
    return out


def mos_report(lg: np.ndarray, mos: np.ndarray, names: np.ndarray) -> dict:
    out = {"all": {"n": int(len(mos)), "srocc": round(spearman(lg, mos), 4), "plcc": round(pearson(lg, mos), 4)}}
    for sub in ("ss01", "ss02", "ss03"):
        m = np.char.startswith(names.astype(str), sub)
        if m.sum() > 2:
            out[sub] = {"n": int(m.sum()), "srocc": round(spearman(lg[m], mos[m]), 4),
                        "plcc": round(pearson(lg[m], mos[m]), 4)}
    return out


def split_biq(sets):
    b = sets["biq"]
    names = b["names"].astype(str)
    is_train = b["split"].astype(str) == "train"
    val = np.array([is_val(n) for n in names]) & is_train
    fit = is_train & ~val
    test = ~is_train
    return b, names, fit, val, test


def fit_aspects(x_pairs, better, worse, kinds, x_mos, seed: int) -> AspectHeads:
    """One linear ranker per aspect on the pairs of its kinds (exposure: one for too dark, one for too
    bright), each calibrated so that the midpoint between originals and degraded copies is 0.5."""
    torch.manual_seed(seed)
    heads = AspectHeads()
    look_part = x_mos[:, EMBEDDING_DIM:]
    heads.set_standardisation(look_part.mean(0), look_part.std(0) + 1e-6)
    xp = torch.from_numpy(x_pairs)
    gen = torch.Generator().manual_seed(seed)
    for name, ks in ASPECT_KINDS.items():
        m = np.isin(kinds, ks)
        b = torch.from_numpy(better[m])
        w = torch.from_numpy(worse[m])
        # the other kinds' pairs: this aspect should not move (blur is not compression, noise not framing)
        ob = torch.from_numpy(better[~m])
        ow = torch.from_numpy(worse[~m])
        layer = heads.layer(name)
        opt = torch.optim.AdamW(layer.parameters(), lr=3e-3, weight_decay=1e-2)
        for _ in range(300):
            diff = heads.raw(name, xp[b]) - heads.raw(name, xp[w])
            loss = torch.nn.functional.softplus(1.0 - diff).mean()
            if len(ob):
                pick = torch.randint(len(ob), (min(2048, len(ob)),), generator=gen)
                other = heads.raw(name, xp[ob[pick]]) - heads.raw(name, xp[ow[pick]])
                loss = loss + ASPECT_INVARIANCE * (other**2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.inference_mode():
            good = heads.raw(name, xp[torch.unique(b)]).mean()
            bad = heads.raw(name, xp[w]).mean()
            heads.set_calibration(name, float((good + bad) / 2), float(max(abs(good - bad) / 4, 1e-3)))
    heads.eval()
    return heads


@torch.inference_mode()
def aspect_accuracy(heads: AspectHeads, x_pairs, better, worse, kinds) -> dict:
    xp = torch.from_numpy(x_pairs)
    out = {}
    for name, ks in ASPECT_KINDS.items():
        for k in ks:
            m = kinds == k
            if not m.any():
                continue
            a = heads.raw(name, xp[better[m]]).numpy()
            z = heads.raw(name, xp[worse[m]]).numpy()
            out[f"{name}/{k}"] = round(float((a > z).mean()), 4)
    return out


def group_gap(scores: np.ndarray, women: np.ndarray, seed: int) -> dict:
    w, m = scores[women], scores[~women]
    rng = np.random.default_rng(seed)
    boots = [rng.choice(w, len(w)).mean() - rng.choice(m, len(m)).mean() for _ in range(2000)]
    auc = float((w[:, None] > m[None, :]).mean() + 0.5 * (w[:, None] == m[None, :]).mean())
    return {
        "women": {"n": int(len(w)), "mean_score": round(float(w.mean()), 4)},
        "men": {"n": int(len(m)), "mean_score": round(float(m.mean()), 4)},
        "gap_women_minus_men": round(float(w.mean() - m.mean()), 4),
        "gap_95ci": [round(float(np.percentile(boots, 2.5)), 4), round(float(np.percentile(boots, 97.5)), 4)],
        "auc_women_above_men": round(auc, 4),
    }


# chosen on the validation set (models/README.md lists the variants tried)
DEFAULTS = dict(epochs=40, pair_weight=0.3, hidden=256, qhidden=128, dropout=0.5, wd=0.05)


def explore(sets) -> None:
    """Variants compared on the validation set only (never on the test split)."""
    b, names, fit, val, _ = split_biq(sets)
    x = features(b)
    y = b["mos"]
    xp, pb, pw, pk = pair_arrays(sets, ("portraits_train", "biq_pairs"))
    xh, hb, hw, hk = pair_arrays(sets, ("portraits_heldout",))
    from numpy.linalg import solve

    def ridge(cols, lam):
        a = x[fit][:, cols]
        mu, sd = a.mean(0), a.std(0) + 1e-6
        a = (a - mu) / sd
        wts = solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (y[fit] - y[fit].mean()))
        return spearman(((x[val][:, cols] - mu) / sd) @ wts, y[val])

    emb_cols = np.arange(EMBEDDING_DIM)
    all_cols = np.arange(x.shape[1])
    for lam in (100, 1000, 3000):
        log(f"ridge emb lam={lam}: val srocc {ridge(emb_cols, lam):.4f}; all: {ridge(all_cols, lam):.4f}")
    variants = [
        ("emb only", dict(use_look=False)),
        ("emb+look", {}),
        ("emb+look no pairs", dict(pair_weight=0.0)),
        ("emb+look pairs 3", dict(pair_weight=3.0)),
        ("emb+look 80 epochs", dict(epochs=80)),
        ("emb+look dropout .4", dict(dropout=0.4)),
    ]
    for label, over in variants:
        cfg = {**DEFAULTS, **over}
        t0 = time.perf_counter()
        h = train_head(x[fit], y[fit], xp, pb, pw, seed=0, **cfg)
        lv = logits_of([h], x[val])
        lh = logits_of([h], xh)
        log(f"{label}: val srocc {spearman(lv, y[val]):.4f} plcc {pearson(lv, y[val]):.4f}; "
            f"held-out pairs {pair_accuracy(lh, hb, hw, hk)} ({time.perf_counter() - t0:.0f} s)")


def calibrate(heads: list[ScoreHead], x_fit: np.ndarray, y_fit: np.ndarray) -> None:
    """The logit's quantiles mapped onto people's: a score spreads over [0, 1] as their opinions do."""
    lg = logits_of(heads, x_fit)
    qs = np.linspace(0, 1, 101)
    for h in heads:
        h.set_quantile_map(np.quantile(lg, qs), np.quantile(y_fit, qs))


def refit_aspects(args, sets) -> int:
    """The aspect heads alone, on the cached pairs, into the existing head file (its score head untouched)."""
    from selfie_desk.neural.model import read_head_file

    b, names, fit, val, test = split_biq(sets)
    x = features(b)
    xp, pb, pw, pk = pair_arrays(sets, ("portraits_train", "biq_pairs"))
    xh, hb, hw, hk = pair_arrays(sets, ("portraits_heldout",))
    blob = read_head_file(args.out)
    hidden, qhidden = blob["sizes"]
    head = ScoreHead(hidden=hidden, qhidden=qhidden)
    head.load_state_dict(blob["state_dict"])
    aspects = fit_aspects(xp, pb, pw, pk, x[fit], args.seed)
    card = blob["card"]
    card["aspects_heldout"] = aspect_accuracy(aspects, xh, hb, hw, hk)
    card["aspects_training"] = {"invariance_weight": ASPECT_INVARIANCE, "framing_reads": "pooled last layer only"}
    save_head(head.eval(), args.out, card, aspects=aspects)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["aspects_heldout"], indent=2))
    return 0


def fit_and_write(args) -> int:
    sets = load(args.cache)
    if getattr(args, "explore", False):
        explore(sets)
        return 0
    if getattr(args, "aspects_only", False):
        return refit_aspects(args, sets)
    b, names, fit, val, test = split_biq(sets)
    x = features(b)
    y = b["mos"]
    xp, pb, pw, pk = pair_arrays(sets, ("portraits_train", "biq_pairs"))
    xh, hb, hw, hk = pair_arrays(sets, ("portraits_heldout",))
    cfg = {**DEFAULTS, **json.loads(args.config or "{}")}
    pt = sets["portraits_train"]
    orig = pt["originals"]
    women_train = np.char.startswith(pt["names"].astype(str), "woman-")
    fair = (torch.from_numpy(features(pt)[orig]), torch.from_numpy(women_train))
    log(f"fitting {args.ensemble} heads, {cfg}, on {fit.sum()} BIQ2021 train photos (validation {val.sum()})")
    heads = [train_head(x[fit], y[fit], xp, pb, pw, seed=args.seed + k, women=fair, fairness=args.fairness, **cfg)
             for k in range(args.ensemble)]
    val_report = mos_report(logits_of(heads, x[val]), y[val], names[val])
    log(f"validation: {val_report}")
    # the shipped head: one module whose weights are the ensemble's (content and quality averaged by
    # stacking the members as one wider layer)
    head = ScoreHead.ensemble(heads)
    calibrate([head], x[fit], y[fit])
    test_report = mos_report(logits_of([head], x[test]), y[test], names[test])
    log(f"TEST (reported once): {test_report}")
    lh = logits_of([head], xh)
    heldout_pairs = pair_accuracy(lh, hb, hw, hk)
    train_pairs = pair_accuracy(logits_of([head], xp), pb, pw, pk)
    aspects = fit_aspects(xp, pb, pw, pk, x[fit], args.seed)
    aspect_heldout = aspect_accuracy(aspects, xh, hb, hw, hk)
    ph = sets["portraits_heldout"]
    with torch.inference_mode():
        ho_scores = head.probability(torch.from_numpy(features(ph)[ph["originals"]])).numpy()
    women_ho = np.char.startswith(ph["names"].astype(str), "woman-")
    card = {
        "name": "default",
        "version": 2,
        "date": time.strftime("%Y-%m-%d"),
        "embedding_id": EMBEDDING_ID,
        "backbone_id": EMBEDDING_ID,
        "backbone": "torchvision MobileNetV2 IMAGENET1K_V1 (mobilenet_v2-b0353104.pth), frozen, BatchNorm folded",
        "head": (f"logit = content(pooled last layer, 1280) + quality(stage statistics {look_dims()}); "
                 f"an ensemble of {args.ensemble}; score = the logit's quantile mapped onto BIQ2021's train MOS"),
        "input": "whole photo squashed to 224x224 (ImageNet mean/std); view and detail looks from core/look.py",
        "training": {
            "command": ("python tools/train_score.py --biq BIQ2021 --portraits ../shared/photos/portraits "
                        f"--seed {args.seed} --ensemble {args.ensemble} --fairness {args.fairness}"
                        + (f" --config '{args.config}'" if args.config else "")),
            "biq2021": {"fit": int(fit.sum()), "validation": int(val.sum()),
                        "validation_rule": "blake2b(file name)[0] % 10 == 0 within the train split",
                        "test": int(test.sum())},
            "pairs": {"portraits_train": int(len(sets["portraits_train"]["pairs"])),
                      "biq2021_train_quality_pairs": int(len(sets["biq_pairs"]["pairs"]))},
            "config": cfg,
            "seed": args.seed,
            "fairness_weight": args.fairness,
        },
        "validation": val_report,
        "test": test_report,
        "pairs_heldout": heldout_pairs,
        "pairs_train": train_pairs,
        "aspects_heldout": aspect_heldout,
        "heldout_group_gap": group_gap(ho_scores, women_ho, args.seed),
    }
    save_head(head, args.out, card, aspects=aspects)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({k: card[k] for k in ("validation", "test", "pairs_heldout", "aspects_heldout",
                                            "heldout_group_gap")}, indent=2))
    return 0


def look_dims() -> str:
    from selfie_desk.core.embedding import STATS_DIM

    return f"{STATS_DIM} + view {look.N_VIEW} + detail {look.N_DETAIL}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_fit_args(parser)
    parser.add_argument("--explore", action="store_true", help="compare variants on the validation set")
    parser.add_argument("--aspects-only", action="store_true", help="refit the aspect heads into --out")
    args = parser.parse_args()
    return fit_and_write(args)


def add_fit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "train_score")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "score_head.pt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--fairness", type=float, default=1.0)
    parser.add_argument("--config", help="JSON overrides of the head's settings (chosen on validation)")


if __name__ == "__main__":
    sys.exit(main())
