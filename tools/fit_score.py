"""The fitting half of tools/train_score.py: the score head on people's opinions from two sources (BIQ2021's
train split, 578 LIVE-C photos), chosen by cross-validation, and the sharpness aspect on real and synthetic blur.

    .venv/bin/python tools/fit_score.py --cache /work/cache/judge/features --biq BIQ --livec LIVEC --explore

Validation, never the test split:
- **LIVE-C**: 5 folds by a hash of the file name (``blake2b(name)[0] % 5``); each fold is scored by heads trained
  on BIQ2021's fit set and the other four folds. The other half of LIVE-C is held out by the team.
- **BIQ2021**: the train split's validation tenth (``blake2b(name)[0] % 10 == 0``), as in version 2.
- **Across sources**: trained on BIQ2021 alone, scored on all 578 LIVE-C photos.
BIQ2021's official test split is scored once, by the shipped head, at the end (``--write``).

The head's content part (the pooled last layer: what a crop changes) is version 2's, kept as it was: the crop
search scores boxes with it, and it carries what the self-supervised framing pairs taught. The quality part
(the looks) is trained again on both sources, against each photo's opinion put on BIQ2021's scale (LIVE-C's
z-scores mapped onto BIQ2021's train mean and spread).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import blur_labels
import numpy as np
import score_data as sd
import torch

from selfie_desk.core.measures import focus, look
from selfie_desk.core.measures.embedding import (
    CHECK_AT,
    DETAIL_AT,
    EMBEDDING_DIM,
    EMBEDDING_ID,
    FEATURE_DIM,
    FOCUS_AT,
    VIEW_AT,
    with_checks,
)
from selfie_desk.core.measures.reasons import BAD, DIRECTIONAL, FACE_SOFT
from selfie_desk.neural.model import (
    STANDARD_CLIP,
    AspectHeads,
    ScoreHead,
    read_head_file,
    save_head,
)

ROOT = Path(__file__).resolve().parents[1]

log = sd.log


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def is_val(name: str) -> bool:
    return sd.bucket(name, 10) == 0


def livec_fold(name: str) -> int:
    return sd.bucket(name, 5)


def full(x: np.ndarray) -> np.ndarray:
    """Cached features (pooled, stats, view+focus+detail) in the embedding's layout (the checks slot zero)."""
    n = VIEW_AT
    return np.concatenate([x[:, :n], np.stack([with_checks(v) for v in x[:, n:]])], axis=1).astype(np.float32)


class Data:
    """Every source's features, opinions and splits."""

    def __init__(self, cache: Path, biq: Path, livec: Path, test: bool = False) -> None:
        x, names = sd.features(cache, "biq_train")
        mos = sd.biq_mos(biq, "train")
        self.biq_x, self.biq_names = full(x), names
        self.biq_y = np.array([mos[n] for n in names], np.float32)
        self.biq_val = np.array([is_val(n) for n in names])
        x, names = sd.features(cache, "livec")
        mos = sd.livec_mos(livec)
        self.lc_x, self.lc_names = full(x), names
        self.lc_mos = np.array([mos[n] for n in names], np.float32)
        self.lc_fold = np.array([livec_fold(n) for n in names])
        # LIVE-C's opinions on BIQ2021's scale (z-scores mapped onto the fit set's mean and spread)
        fit_y = self.biq_y[~self.biq_val]
        self.lc_y = ((self.lc_mos - self.lc_mos.mean()) / self.lc_mos.std() * fit_y.std() + fit_y.mean()).astype(
            np.float32)
        x, names = sd.features(cache, "portraits")
        self.portraits_x, self.portraits_names = full(x), names
        if test:
            x, names = sd.features(cache, "biq_test")
            mos = sd.biq_mos(biq, "test")
            self.test_x, self.test_names = full(x), names
            self.test_y = np.array([mos[n] for n in names], np.float32)


# chosen by cross-validation (models/README.md lists the variants)
DEFAULTS = dict(epochs=40, qhidden=128, dropout=0.5, wd=0.05, livec_weight=4.0, lr=1e-3)


def content_of(old: dict) -> ScoreHead:
    """Version 2's head (its content part is kept)."""
    hidden, qhidden = old["sizes"]
    head = ScoreHead(hidden=hidden, qhidden=qhidden)
    state = {k: v for k, v in old["state_dict"].items() if k.startswith("content.")}
    head.load_state_dict(state, strict=False)
    return head.eval()


_CONTENT: dict[tuple[int, int], torch.Tensor] = {}


def frozen_content(base: ScoreHead, x: np.ndarray) -> torch.Tensor:
    """The kept content part's logits of ``x``'s rows (no dropout), computed once per array: 9,000 rows through
    its 1280 x 1280 layer cost seconds, and every fold and seed reuses them."""
    key = (id(base), hash(x[:, :8].tobytes()) ^ len(x))
    if key not in _CONTENT:
        base.eval()
        with torch.inference_mode():
            _CONTENT[key] = base.content_logit(torch.from_numpy(x))
    return _CONTENT[key]


def train_quality(base: ScoreHead, x: np.ndarray, y: np.ndarray, w: np.ndarray, *, seed: int, epochs: int,
                  qhidden: int, dropout: float, wd: float, lr: float, women=None, fairness: float = 0.0,
                  train_content: bool = False, **_: object) -> ScoreHead:
    """A head with ``base``'s content part (frozen, unless ``train_content``: then fine-tuned from it) and a
    quality part fitted to ``y`` (weighted MSE)."""
    torch.manual_seed(seed)
    head = ScoreHead(hidden=base.hidden, qhidden=qhidden, dropout=dropout)
    head.content.load_state_dict(base.content.state_dict())
    for p in head.content.parameters():
        p.requires_grad_(train_content)
    looks = x[:, EMBEDDING_DIM:]
    head.set_standardisation(looks.mean(0), looks.std(0))
    xt, yt, wt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w / w.mean())
    content = frozen_content(base, x)
    params = list(head.quality.parameters()) + (list(head.content.parameters()) if train_content else [])
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    steps = (len(xt) + 255) // 256
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    if women is not None:
        xw, is_w = women
        content_w = frozen_content(base, xw.numpy())
    for _ in range(epochs):
        head.train()
        if not train_content:
            head.content.eval()
        perm = torch.randperm(len(xt))
        for s in range(steps):
            idx = perm[s * 256 : (s + 1) * 256]
            pred = (head.content_logit(xt[idx]) if train_content else content[idx]) + head.quality_logit(xt[idx])
            loss = (wt[idx] * (pred - yt[idx]) ** 2).mean()
            if fairness > 0 and women is not None:  # every training portrait each step: a sampled gap's noise
                # would be penalised too, flattening the portraits' scores (tried: BIQ2021 validation 0.77 -> 0.38)
                lg = (head.content_logit(xw) if train_content else content_w) + head.quality_logit(xw)
                loss = loss + fairness * (lg[is_w].mean() - lg[~is_w].mean()) ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return head.eval()


@torch.inference_mode()
def logits_of(heads: list[ScoreHead], x: np.ndarray) -> np.ndarray:
    xt = torch.from_numpy(x)
    return np.mean([h(xt).numpy() for h in heads], axis=0)


def report(lg: np.ndarray, mos: np.ndarray, names: np.ndarray | None = None) -> dict:
    out = {"all": {"n": int(len(mos)), "srocc": round(spearman(lg, mos), 4), "plcc": round(pearson(lg, mos), 4)}}
    if names is not None:
        for sub in ("ss01", "ss02", "ss03"):
            m = np.char.startswith(names.astype(str), sub)
            if m.sum() > 2:
                out[sub] = {"n": int(m.sum()), "srocc": round(spearman(lg[m], mos[m]), 4),
                            "plcc": round(pearson(lg[m], mos[m]), 4)}
    return out


def group_gap(scores: np.ndarray, women: np.ndarray, seed: int = 0) -> dict:
    """Women's mean score minus men's on the held-out portraits, with a bootstrap 95 % interval and the AUC."""
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


def women_of(d: Data) -> tuple[torch.Tensor, torch.Tensor]:
    """The training half of the portraits (not the held-out fifth), for the women/men penalty."""
    keep = np.array([sd.bucket(n, 5) != 0 for n in d.portraits_names])
    return (torch.from_numpy(d.portraits_x[keep]),
            torch.from_numpy(np.char.startswith(d.portraits_names[keep].astype(str), "woman-")))


def cross_validate(d: Data, base: ScoreHead, cfg: dict, ensemble: int = 1, fairness: float = 1.0) -> dict:
    """LIVE-C 5-fold (each fold by heads that never saw it), BIQ2021 validation, and BIQ2021 alone -> LIVE-C."""
    fit = ~d.biq_val
    pred = np.zeros(len(d.lc_y))
    biq_val = []
    women = women_of(d)
    for k in range(5):
        tr = d.lc_fold != k
        x = np.concatenate([d.biq_x[fit], d.lc_x[tr]])
        y = np.concatenate([d.biq_y[fit], d.lc_y[tr]])
        w = np.concatenate([np.ones(fit.sum()), np.full(tr.sum(), cfg["livec_weight"])]).astype(np.float32)
        heads = [train_quality(base, x, y, w, seed=s, women=women, fairness=fairness, **cfg)
                 for s in range(ensemble)]
        pred[~tr] = logits_of(heads, d.lc_x[~tr])
        biq_val.append(logits_of(heads, d.biq_x[d.biq_val]))
    per_fold = [spearman(pred[d.lc_fold == k], d.lc_mos[d.lc_fold == k]) for k in range(5)]
    heads = [train_quality(base, d.biq_x[fit], d.biq_y[fit], np.ones(fit.sum(), np.float32), seed=s, women=women,
                           fairness=fairness, **cfg) for s in range(ensemble)]
    return {
        "livec_cv": {"pooled": report(pred, d.lc_mos)["all"], "per_fold_srocc": [round(v, 4) for v in per_fold],
                     "mean_fold_srocc": round(float(np.mean(per_fold)), 4)},
        "biq_validation": report(np.mean(biq_val, axis=0), d.biq_y[d.biq_val], d.biq_names[d.biq_val]),
        "biq_only_to_livec": report(logits_of(heads, d.lc_x), d.lc_mos)["all"],
    }


# ---- calibration ---------------------------------------------------------------------------------------------------
CALIB_TAIL = 0.005  # the map covers the 0.5th to 99.5th percentiles of the logits; beyond them, the rational tails


def calibrate(head: ScoreHead, lg: np.ndarray, targets: np.ndarray) -> None:
    """The logit's quantiles mapped onto people's opinions (``targets``, on [0, 1]): a score spreads over [0, 1]
    as their opinions do. Past the map's ends (the 0.5th and 99.5th percentiles) the head's rational tails keep
    every photo apart: no two photos share a score unless their logits are equal."""
    qs = np.linspace(CALIB_TAIL, 1 - CALIB_TAIL, 101)  # the extreme opinions are left to the tails
    ys = np.quantile(targets, qs)
    head.set_quantile_map(np.quantile(lg, qs), ys)


def closed_eyes_penalty(head: ScoreHead, lg: np.ndarray, drop: float) -> float:
    """The logit penalty that lowers a photo at the median logit by ``drop`` of score."""
    with torch.inference_mode():
        mid = torch.tensor([float(np.median(lg))])
        target = float(head.calibrate(mid)) - drop
        grid = torch.linspace(float(mid) - 10, float(mid), 4001)
        scores = head.calibrate(grid).numpy()
    i = int(np.searchsorted(scores, target))
    return float(grid[min(i, len(grid) - 1)] - mid)


CLOSED_EYES_DROP = 0.25  # a middling photo with a subject's eyes closed loses this much score (0.72 -> 0.47)


# ---- the sharpness aspect -------------------------------------------------------------------------------------------
def sharp_columns() -> np.ndarray:
    """What the sharpness aspect reads: the view, the focus and the detail (not the convnet, not the checks)."""
    return np.r_[np.arange(VIEW_AT, CHECK_AT), np.arange(DETAIL_AT, FEATURE_DIM)]


def real_blur(cache: Path, real: Path) -> dict[str, np.ndarray]:
    """The real labelled photos (blur_labels): full features, soft labels, tune/check split, source and name."""
    singles = blur_labels.singles_labels(str(real / "blur_real_singles"))
    xs, ys, split, src, names = [], [], [], [], []
    for source in ("triplets", "singles", "davis", "bursts"):
        x, nm = sd.features(cache, source)
        x = full(x)
        for i, n in enumerate(nm):
            soft, part = blur_labels.label(source, n, singles)
            if soft is None:
                continue
            xs.append(x[i])
            ys.append(soft)
            split.append(part)
            src.append(source)
            names.append(n)
    return {"x": np.stack(xs), "soft": np.array(ys), "split": np.array(split), "source": np.array(src),
            "name": np.array(names)}


def fit_sharpness(synth: dict, real: dict, *, real_weight: float = 1.0, c: float = 0.1, seed: int = 0
                  ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Logistic regression of "sharp" on the looks: synthetic blur (sharpness_set.py) and the real tuning photos
    (weighted ``real_weight`` each). Returns (weights on the standardised columns, bias, mean, std)."""
    from sklearn.linear_model import LogisticRegression

    cols = sharp_columns()
    xs = np.stack([with_checks(v) for v in synth["looks"]])  # looks in the layout's order (view, focus, 0, detail)
    x_syn = np.zeros((len(xs), FEATURE_DIM), np.float32)
    x_syn[:, EMBEDDING_DIM + (VIEW_AT - EMBEDDING_DIM):] = xs
    tune = real["split"] == "tune"
    x = np.concatenate([x_syn[:, cols], real["x"][tune][:, cols]])
    y = np.concatenate([1 - synth["soft"], 1 - real["soft"][tune]])
    w = np.concatenate([np.ones(len(x_syn)), np.full(tune.sum(), real_weight)])
    mu, sdv = x.mean(0), x.std(0)
    sdv = np.where(sdv < 1e-4, 1.0, sdv)  # as the head standardises (neural/model.py)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit(np.clip((x - mu) / sdv, -STANDARD_CLIP, STANDARD_CLIP), y, sample_weight=w)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0]), mu, sdv


def sharp_raw(weights, bias, mu, sdv, x: np.ndarray) -> np.ndarray:
    return np.clip((x[:, sharp_columns()] - mu) / sdv, -STANDARD_CLIP, STANDARD_CLIP) @ weights + bias


def blur_report(raw: np.ndarray, real: dict, threshold: float) -> dict:
    """Soft-focus recall and sharp photos badged, per split and source, at a raw threshold (soft below)."""
    out = {}
    for part in ("tune", "check"):
        m = real["split"] == part
        soft, sharp = m & (real["soft"] == 1), m & (real["soft"] == 0)
        row = {"soft": int(soft.sum()), "sharp": int(sharp.sum()),
               "recall": round(float((raw[soft] < threshold).mean()), 3) if soft.any() else None,
               "sharp_badged": round(float((raw[sharp] < threshold).mean()), 3) if sharp.any() else None}
        for source in sorted(set(real["source"][m])):
            ms = m & (real["source"] == source)
            s1, s0 = ms & (real["soft"] == 1), ms & (real["soft"] == 0)
            row[source] = {"soft caught": f"{int((raw[s1] < threshold).sum())}/{int(s1.sum())}",
                           "sharp badged": f"{int((raw[s0] < threshold).sum())}/{int(s0.sum())}"}
        out[part] = row
    return out


def choose_threshold(raw_sharp_real: np.ndarray, raw_synth_sharp: np.ndarray, real: dict,
                     max_false: float = 0.04) -> float:
    """The highest raw threshold (the most soft photos caught) at which at most ``max_false`` of the sharp
    photos are badged, on the real tuning photos and the synthetic sharp ones together."""
    tune = real["split"] == "tune"
    sharp = np.concatenate([raw_sharp_real[tune & (real["soft"] == 0)], raw_synth_sharp])
    return float(np.quantile(sharp, max_false))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_fit_args(parser)
    parser.add_argument("--explore", action="store_true", help="compare variants by cross-validation")
    args = parser.parse_args()
    return fit_and_write(args)


def add_fit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--biq", type=Path, required=True)
    parser.add_argument("--livec", type=Path, required=True)
    parser.add_argument("--real", type=Path, required=True, help="../shared/real (the labelled blur sets)")
    parser.add_argument("--base", type=Path, default=ROOT / "models" / "score_head.pt",
                        help="the head whose content part is kept (version 2's)")
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "score_head.pt")
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--fairness", type=float, default=1.0)
    parser.add_argument("--config", help="JSON overrides of the head's settings (chosen by cross-validation)")
    parser.add_argument("--cv-from", type=Path, help="an --explore log whose defaults' cross-validation to reuse")


def explore(d: Data, base: ScoreHead) -> None:
    variants = [
        ("defaults", {}),
        ("livec weight 1", dict(livec_weight=1.0)),
        ("livec weight 10", dict(livec_weight=10.0)),
    ]
    for label, over in variants:
        t0 = time.perf_counter()
        r = cross_validate(d, base, {**DEFAULTS, **over})
        log(f"{label}: {json.dumps(r)} ({time.perf_counter() - t0:.0f} s)")


def fit_and_write(args) -> int:
    old = read_head_file(args.base)
    base = content_of(old)
    d = Data(args.cache, args.biq, args.livec, test=not args.explore)
    if args.explore:
        explore(d, base)
        return 0
    cfg = {**DEFAULTS, **json.loads(args.config or "{}")}
    if args.cv_from:  # the cross-validation of these settings already run by --explore (its "defaults" line)
        line = next(ln for ln in args.cv_from.read_text().splitlines() if "] defaults: " in ln)
        cv = json.loads(line.split("] defaults: ", 1)[1].rsplit(" (", 1)[0])
        cv["from"] = f"tools/fit_score.py --explore, the defaults' line ({args.cv_from.name})"
    else:
        log(f"cross-validating {cfg}")
        cv = cross_validate(d, base, cfg, ensemble=1, fairness=args.fairness)
    log(f"cross-validation: {json.dumps(cv)}")
    fit = ~d.biq_val
    x = np.concatenate([d.biq_x[fit], d.lc_x])
    y = np.concatenate([d.biq_y[fit], d.lc_y])
    w = np.concatenate([np.ones(fit.sum()), np.full(len(d.lc_x), cfg["livec_weight"])]).astype(np.float32)
    heads = [train_quality(base, x, y, w, seed=s, women=women_of(d), fairness=args.fairness, **cfg)
             for s in range(args.ensemble)]
    head = ScoreHead.ensemble(heads)
    lg = logits_of([head], x)
    calibrate(head, lg, np.concatenate([d.biq_y[fit], d.lc_mos]))
    head.closed_penalty.fill_(closed_eyes_penalty(head, lg, CLOSED_EYES_DROP))
    test = report(logits_of([head], d.test_x), d.test_y, d.test_names)
    log(f"BIQ2021 TEST (reported once): {test}")
    aspects, sharp_card = fit_aspects(args, old, d)
    held = np.array([sd.bucket(n, 5) == 0 for n in d.portraits_names])
    with torch.inference_mode():
        held_scores = head.probability(torch.from_numpy(d.portraits_x[held])).numpy()
    gap = group_gap(held_scores, np.char.startswith(d.portraits_names[held].astype(str), "woman-"))
    log(f"held-out portraits, women and men: {gap}")
    card = make_card(args, cfg, cv, test, d, head, sharp_card)
    card["heldout_group_gap"] = gap
    card = plain(card)  # the head file is read with weights_only: plain Python values only
    save_head(head, args.out, card, aspects=aspects)
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({k: card[k] for k in ("validation", "test", "sharpness")}, indent=2))
    return 0


def remap_old_aspects(old: dict) -> AspectHeads:
    """Version 2's aspect heads in the new layout: each weight moved to its feature's new place (the focus and
    the checks, new, weigh nothing), so noise, exposure, compression and framing judge exactly as before."""
    prev = AspectHeads.__new__(AspectHeads)
    state = old["aspects"]
    new = AspectHeads()
    n_old = state["mean"].shape[0]
    # old layout: [pooled 1280][stats][view][detail]; new: [pooled][stats][view][focus][checks][detail]
    old_detail_at = n_old - look.N_DETAIL
    index = np.r_[np.arange(0, old_detail_at), np.arange(DETAIL_AT, FEATURE_DIM)]
    assert len(index) == n_old and old_detail_at == FOCUS_AT
    del prev
    with torch.no_grad():
        new.mean.zero_()
        new.std.fill_(1.0)
        new.mean[index] = state["mean"]
        new.std[index] = state["std"]
        new.centers.copy_(state["centers"])
        new.spreads.copy_(state["spreads"])
        new.masks.zero_()
        new.masks[:, index] = state["masks"]
        for name in new.layers:
            layer = new.layer(name)
            layer.weight.zero_()
            layer.weight[0, index] = state[f"layers.{name}.weight"][0]
            layer.bias.copy_(state[f"layers.{name}.bias"])
    return new


def fit_aspects(args, old: dict, d: Data) -> tuple[AspectHeads, dict]:
    """Version 2's aspects moved into the new layout, and a new sharpness aspect learned from real and synthetic
    blur, calibrated so that the soft-focus reason (aspect < reasons.BAD) fires below the chosen threshold."""
    import sharpness_set

    aspects = remap_old_aspects(old)
    synth = sharpness_set.build(args.cache, sharpness_set.default_sources(args.cache, args.livec))
    real = real_blur(args.cache, args.real)
    weights, bias, mu, sdv = fit_sharpness(synth, real)
    xs = np.zeros((len(synth["looks"]), FEATURE_DIM), np.float32)
    xs[:, VIEW_AT:] = np.stack([with_checks(v) for v in synth["looks"]])
    raw_syn = sharp_raw(weights, bias, mu, sdv, xs)
    raw_real = sharp_raw(weights, bias, mu, sdv, real["x"])
    threshold = choose_threshold(raw_real, raw_syn[synth["soft"] == 0], real)
    cols = sharp_columns()
    k = list(aspects.layers).index("sharpness")
    spread = float(np.std(raw_syn)) / 4
    with torch.no_grad():
        aspects.mean[cols] = torch.from_numpy(mu)
        aspects.std[cols] = torch.from_numpy(sdv)
        aspects.masks[k].zero_()
        aspects.masks[k, cols] = 1.0
        layer = aspects.layer("sharpness")
        layer.weight.zero_()
        layer.weight[0, cols] = torch.from_numpy(weights)
        layer.bias.fill_(bias)
        # sigmoid((raw - centre) / spread) == BAD exactly at the threshold
        aspects.centers[k] = threshold - spread * float(np.log(BAD / (1 - BAD)))
        aspects.spreads[k] = spread
    aspects.eval()
    words = soft_word_cuts(synth, real)
    log(f"soft words: {words} (core/measures/reasons.py holds FACE_SOFT={FACE_SOFT}, DIRECTIONAL={DIRECTIONAL})")
    card = {"threshold_raw": round(threshold, 4), "real": blur_report(raw_real, real, threshold),
            "soft_words": words,
            "synthetic_sharp_badged": round(float((raw_syn[synth["soft"] == 0] < threshold).mean()), 4),
            "synthetic_soft_caught": round(float((raw_syn[synth["soft"] == 1] < threshold).mean()), 4),
            "synthetic_images": int(len(raw_syn)),
            "reads": "view, focus and detail looks (core/measures/look.py, core/measures/focus.py)",
            "focus_names": list(focus.FOCUS_NAMES)}
    log(f"sharpness: {json.dumps(card)}")
    return aspects, card


def soft_word_cuts(synth: dict, real: dict) -> dict:
    """The reasons' cut-offs (core/measures/reasons.py), from the synthetic set and the real tuning photos: FACE_SOFT
    the
    1st percentile of sharp faces' focus (rounded down to 0.05); DIRECTIONAL the cut of the blocks' anisotropy
    that best tells motion and shake from a missed focus among the synthetic soft copies."""
    names = list(focus.FOCUS_NAMES)
    f = synth["looks"][:, look.N_VIEW : look.N_VIEW + look.N_FOCUS]
    kind = synth["kind"].astype(str)
    has = f[:, names.index("focus_has_face")] > 0.5
    soft = np.char.startswith(kind, "soft-")
    rf = real["x"][:, FOCUS_AT : FOCUS_AT + len(names)]
    tune_sharp = (real["split"] == "tune") & (real["soft"] == 0) & (rf[:, names.index("focus_has_face")] > 0.5)
    sharp_faces = np.concatenate([f[has & ~soft, names.index("focus_face")], rf[tune_sharp, names.index("focus_face")]])
    directional = np.isin(kind, ["soft-motion", "soft-shake"])
    aniso = f[:, names.index("focus_aniso")]
    cuts = np.arange(0.3, 0.95, 0.01)
    acc = [float(np.mean((aniso[soft] < t) == directional[soft])) for t in cuts]
    best = int(np.argmax(acc))
    first = float(np.floor(np.percentile(sharp_faces, 1) * 20) / 20)  # rounded down to 0.05
    return {"face_soft_1st_percentile_of_sharp_faces": round(first, 2),
            "sharp_faces": int(len(sharp_faces)),
            "directional_cut": round(float(cuts[best]), 2), "directional_accuracy": round(acc[best], 3)}


def plain(value):
    """``value`` with numpy's scalars and strings (as keys too) turned into Python's."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def make_card(args, cfg: dict, cv: dict, test: dict, d: Data, head: ScoreHead, sharp: dict) -> dict:
    return {
        "name": "default",
        "version": 3,
        "date": time.strftime("%Y-%m-%d"),
        "embedding_id": EMBEDDING_ID,
        "backbone_id": EMBEDDING_ID,
        "backbone": "torchvision MobileNetV2 IMAGENET1K_V1 (mobilenet_v2-b0353104.pth), frozen, BatchNorm folded",
        "head": (f"logit = content(pooled last layer, 1280; version 2's, kept) + quality(stage statistics, view, "
                 f"focus, detail; an ensemble of {args.ensemble}) + {float(head.closed_penalty):.3f} x a subject's "
                 f"eyes closed; score = the logit's quantile mapped onto people's opinions (BIQ2021 train fit + "
                 f"LIVE-C half) from their 0.5th to 99.5th percentiles, rational tails beyond"),
        "input": ("whole photo squashed to 224x224 (ImageNet mean/std); view, focus and detail looks from "
                  "core/measures/look.py"),
        "training": {
            "command": ("python tools/train_score.py --biq BIQ2021 --livec ../shared/real/livec_half "
                        "--portraits ../shared/photos/portraits --real ../shared/real"
                        + (f" --config '{args.config}'" if args.config else "")),
            "biq2021": {"fit": int((~d.biq_val).sum()), "validation": int(d.biq_val.sum()),
                        "validation_rule": "blake2b(file name)[0] % 10 == 0 within the train split"},
            "livec_half": {"photos": int(len(d.lc_x)), "folds": "blake2b(file name)[0] % 5",
                           "scale": "z-scores mapped onto BIQ2021 fit's mean and spread"},
            "config": cfg,
            "fairness_weight": args.fairness,
            "closed_eyes_drop": CLOSED_EYES_DROP,
        },
        "validation": cv,
        "test": {"biq2021": test},
        "pairs_heldout": {},
        "aspects_heldout": {"note": "noise, exposure, compression and framing as version 2 (moved, not refitted)"},
        "sharpness": sharp,
        "heldout_group_gap": {},
    }


if __name__ == "__main__":
    sys.exit(main())
