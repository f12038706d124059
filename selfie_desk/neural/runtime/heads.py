"""The score head and the aspect heads in numpy, from the same state_dict files torch writes (`statefile`): what
the CPU build scores with, and what rescoring and personal models use in either build.

`ArrayHead` mirrors `selfie_desk.neural.model.ScoreHead` layer for layer (LayerNorm without affine, Linear,
exact GELU, Linear; the quality part on standardised looks clipped to STANDARD_CLIP with the face checks masked
out, plus the closed-eyes penalty; the quantile-map calibration with rational tails, or sigmoid) and reads
its sizes from the weights, so a retrained head of the same layers drops in; a state_dict with other layers
is refused by name (tests/test_runtime.py checks both heads against torch's on the bundled photos).
`HeadTrainer` fits one with class-balanced logistic loss and AdamW, as torch's optimiser does, for personal
models: a few thousand labels train in seconds on one core, with no torch at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf, expit

from selfie_desk.core import weights
from selfie_desk.core.measures.embedding import (
    CHECK_AT,
    CHECK_NAMES,
    EMBEDDING_DIM,
    EMBEDDING_ID,
    FOCUS_AT,
    HEAD_FORMAT,
)
from selfie_desk.core.measures.focus import FOCUS_NAMES
from selfie_desk.core.measures.reasons import BAD, FACE_SOFT
from selfie_desk.core.model_cards import (
    DEFAULT_HEAD_FILE,
    DEFAULT_MODEL,
    StaleModelError,
    UnknownModelError,
    available_models,
    head_backbone,
    retrain_command,
)
from selfie_desk.neural.runtime import statefile

ASPECT_NAMES = ("sharpness", "noise", "dark", "bright", "compression", "framing")  # model.ASPECT_KINDS' order
_LN_EPS = 1e-5  # torch.nn.LayerNorm's default
# model.STANDARD_CLIP (torch's module, which this one must not import): standardised looks are clipped to this
# many standard deviations (tests/test_runtime.py checks the two are equal)
STANDARD_CLIP = 8.0
CLOSED_PENALTY = -2.0  # model.ScoreHead's default closed_penalty (a new head's; the shipped one has its own)
_CLOSED = CHECK_AT - EMBEDDING_DIM + CHECK_NAMES.index("eyes_closed")  # the look index of a subject's closed eyes
_HEAD_KEYS = {"look_mean", "look_std", "quantile_map", "calib_x", "calib_y", "center", "spread", "content.2.weight",
              "content.2.bias", "content.4.weight", "content.4.bias", "quality.1.weight", "quality.1.bias",
              "quality.3.weight", "quality.3.bias", "check_mask", "closed_penalty"}
F32 = np.float32


@dataclass(frozen=True)
class HeadInfo:
    name: str
    path: Path
    card: dict
    id: str = ""  # name and a digest of the head's file: which version of the head made a score


@cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController  # scikit-learn's dependency, as SciPy is

    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """numpy's BLAS on one thread for a head's small products: OpenBLAS's default two threads spin-wait for each
    other, and a batch of 16 through the score and aspect heads cost 21-37 ms of CPU with them, 4 ms without
    (this VM, loaded). 10 us to enter (threadpool_limits: 350 us)."""
    return _blas().limit(limits=1, user_api="blas")


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + erf(x * F32(1 / math.sqrt(2))))).astype(F32, copy=False)


def _gelu_grad(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)).astype(F32)


def _layer_norm(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + _LN_EPS)).astype(F32, copy=False)


class ArrayHead:
    """Features (FEATURE_DIM) -> one logit, and its calibration to [0, 1]: `ScoreHead` in numpy (see there)."""

    def __init__(self, state: dict[str, np.ndarray], dropout: float = 0.2) -> None:
        unknown = set(state) - _HEAD_KEYS
        missing = _HEAD_KEYS - set(state)
        if unknown or missing:
            raise ValueError("the score head's layers are not the ones selfie_desk/neural/runtime/heads.py knows "
                             f"(unknown {sorted(unknown)}, missing {sorted(missing)}): update ArrayHead with ScoreHead")
        self.p = {k: np.array(v, dtype=F32) for k, v in state.items()}
        self.dropout = dropout

    @property
    def hidden(self) -> int:
        return int(self.p["content.2.weight"].shape[0])

    @property
    def qhidden(self) -> int:
        return int(self.p["quality.1.weight"].shape[0])

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        return OrderedDict((k, self.p[k]) for k in sorted(self.p))

    def copy(self) -> ArrayHead:
        return ArrayHead({k: v.copy() for k, v in self.p.items()}, self.dropout)

    # ---- parts ------------------------------------------------------------------------------------------
    def content_logit(self, features: np.ndarray) -> np.ndarray:
        x = _layer_norm(np.asarray(features, F32)[..., :EMBEDDING_DIM])
        with one_blas_thread():
            h = _gelu(x @ self.p["content.2.weight"].T + self.p["content.2.bias"])
            return (h @ self.p["content.4.weight"].T + self.p["content.4.bias"])[..., 0]

    def standardised(self, features: np.ndarray) -> np.ndarray:
        """The looks as the quality part reads them: standardised, clipped to STANDARD_CLIP, the face checks
        masked out (`ScoreHead.quality_logit`)."""
        raw = np.asarray(features, F32)[..., EMBEDDING_DIM:]
        look = np.clip((raw - self.p["look_mean"]) / self.p["look_std"], -STANDARD_CLIP, STANDARD_CLIP)
        return (look * self.p["check_mask"]).astype(F32, copy=False)

    def quality_logit(self, features: np.ndarray) -> np.ndarray:
        look = self.standardised(features)
        closed = np.asarray(features, F32)[..., EMBEDDING_DIM + _CLOSED]
        with one_blas_thread():
            h = _gelu(look @ self.p["quality.1.weight"].T + self.p["quality.1.bias"])
            out = (h @ self.p["quality.3.weight"].T + self.p["quality.3.bias"])[..., 0]
        return (out + self.p["closed_penalty"] * closed).astype(F32, copy=False)

    def logit(self, features: np.ndarray) -> np.ndarray:
        return self.content_logit(features) + self.quality_logit(features)

    __call__ = logit

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, F32)
        if float(self.p["quantile_map"]) < 0.5:
            return expit((logits - self.p["center"]) / self.p["spread"]).astype(F32)
        x, y = self.p["calib_x"], self.p["calib_y"]
        idx = np.clip(np.searchsorted(x, logits, side="left"), 1, len(x) - 1)  # torch.searchsorted's side
        x0, x1, y0, y1 = x[idx - 1], x[idx], y[idx - 1], y[idx]
        inner = y0 + np.clip((logits - x0) / np.maximum(x1 - x0, F32(1e-9)), 0, 1) * (y1 - y0)
        # the tails: rational, over the logit span of the map's last tenth at each end (`ScoreHead.calibrate`)
        low_s = max(x[10] - x[0], F32(1e-3))
        high_s = max(x[-1] - x[-11], F32(1e-3))
        low = y[0] / (1 + np.maximum((x[0] - logits) / low_s, F32(0)))
        high = 1 - (1 - y[-1]) / (1 + np.maximum((logits - x[-1]) / high_s, F32(0)))
        return np.where(logits < x[0], low, np.where(logits > x[-1], high, inner)).astype(F32)

    def probability(self, features: np.ndarray) -> np.ndarray:
        return self.calibrate(self.logit(features))

    def probability_of_boxes(self, pooled: np.ndarray, quality: float | np.ndarray) -> np.ndarray:
        """Scores of boxes from their pooled features (N x 1280) and the photo's quality logit."""
        return self.calibrate(self.content_logit(pooled) + quality)

    def content_gradient(self, pooled: np.ndarray) -> np.ndarray:
        """d content_logit / d pooled features (one 1280-vector): the attention map's Grad x Input."""
        x = np.asarray(pooled, np.float64)[:EMBEDDING_DIM]
        mean, var = x.mean(), x.var()
        inv = 1 / math.sqrt(var + _LN_EPS)
        xn = (x - mean) * inv
        w1, b1 = self.p["content.2.weight"].astype(np.float64), self.p["content.2.bias"].astype(np.float64)
        a = w1 @ xn + b1
        g_xn = w1.T @ (self.p["content.4.weight"][0].astype(np.float64) * _gelu_grad(a))
        # through LayerNorm (no affine): inv * (g - mean(g) - xn * mean(g * xn))
        return (inv * (g_xn - g_xn.mean() - xn * (g_xn * xn).mean())).astype(F32)

    # ---- calibration (personal models) ------------------------------------------------------------------
    def use_sigmoid(self, center: float, spread: float) -> None:
        self.p["center"] = np.array(center, F32)
        self.p["spread"] = np.array(spread, F32)
        self.p["quantile_map"] = np.array(0.0, F32)

    @classmethod
    def fresh(cls, look_mean: np.ndarray, look_std: np.ndarray, rng: np.random.Generator, hidden: int = 256,
              qhidden: int = 128, dropout: float = 0.2) -> ArrayHead:
        """A new head with torch.nn.Linear's initialisation (uniform in +-1/sqrt(fan_in)), sigmoid-calibrated, and
        `ScoreHead`'s defaults: a look that did not vary (std under 1e-4) standardised by 1, the face checks
        masked out of the quality part, the default closed-eyes penalty."""
        look_dim = len(look_mean)
        look_std = np.where(np.asarray(look_std) < 1e-4, 1.0, look_std)
        mask = np.ones(look_dim, F32)
        mask[CHECK_AT - EMBEDDING_DIM : CHECK_AT - EMBEDDING_DIM + len(CHECK_NAMES)] = 0

        def linear(fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
            bound = 1 / math.sqrt(fan_in)
            return (rng.uniform(-bound, bound, (fan_out, fan_in)).astype(F32),
                    rng.uniform(-bound, bound, fan_out).astype(F32))

        state: dict[str, np.ndarray] = {}
        state["content.2.weight"], state["content.2.bias"] = linear(EMBEDDING_DIM, hidden)
        state["content.4.weight"], state["content.4.bias"] = linear(hidden, 1)
        state["quality.1.weight"], state["quality.1.bias"] = linear(look_dim, qhidden)
        state["quality.3.weight"], state["quality.3.bias"] = linear(qhidden, 1)
        state |= {"look_mean": np.asarray(look_mean, F32), "look_std": np.asarray(look_std, F32),
                  "quantile_map": np.array(0.0, F32), "calib_x": np.linspace(-1, 1, 101, dtype=F32),
                  "calib_y": np.linspace(0, 1, 101, dtype=F32), "center": np.array(0.0, F32),
                  "spread": np.array(1.0, F32), "check_mask": mask, "closed_penalty": np.array(CLOSED_PENALTY, F32)}
        return cls(state, dropout)


# The focus looks the reasons read to say how a soft photo is soft (core/measures/reasons.py soft_words)
FOCUS_IN_ASPECTS = ("focus_face", "focus_face_aniso", "focus_has_face", "focus_aniso", "focus_dir_agree")
FACE_FOCUS_SPREAD = 0.05  # focus_face units per unit of logit of the face's sharpness


def face_sharpness(focus_face: float) -> float:
    """A face's focus (at a common size) on the sharpness aspect's scale: reasons.BAD exactly at FACE_SOFT."""
    z = (focus_face - FACE_SOFT) / FACE_FOCUS_SPREAD + math.log(BAD / (1 - BAD))
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def with_focus(row: dict[str, float], features: np.ndarray) -> dict[str, float]:
    """An aspects row with the focus looks the reasons read, and the sharpness lowered to a soft face's (a soft
    face makes the photo soft, however sharp the rest): `model.AspectHeads.aspects`' last step, shared."""
    values = dict(zip(FOCUS_NAMES, np.asarray(features[FOCUS_AT : FOCUS_AT + len(FOCUS_NAMES)]).tolist(),
                      strict=True))
    row.update({k: values[k] for k in FOCUS_IN_ASPECTS})
    if row["focus_has_face"] > 0.5:
        row["sharpness"] = min(row["sharpness"], face_sharpness(row["focus_face"]))
    return row


class ArrayAspects:
    """`model.AspectHeads` in numpy: each aspect in [0, 1], exposure the worse of dark and bright, and the focus
    looks (`with_focus`)."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.mean, self.std = np.asarray(state["mean"], F32), np.asarray(state["std"], F32)
        self.centers, self.spreads = np.asarray(state["centers"], F32), np.asarray(state["spreads"], F32)
        masks = np.asarray(state["masks"], F32)
        # each aspect's weights with its feature mask folded in: one matrix product for all six
        self.w = np.stack([state[f"layers.{n}.weight"][0] * masks[k] for k, n in enumerate(ASPECT_NAMES)]).astype(F32)
        self.b = np.array([state[f"layers.{n}.bias"][0] for n in ASPECT_NAMES], F32)

    def aspects(self, features: np.ndarray) -> list[dict[str, float]]:
        features = np.asarray(features, F32)
        x = np.clip((features - self.mean) / self.std, -STANDARD_CLIP, STANDARD_CLIP)
        with one_blas_thread():
            raw = x @ self.w.T + self.b
        values = expit((raw - self.centers) / self.spreads)
        out = []
        for row, feats in zip(values, features, strict=True):
            d = {name: float(v) for name, v in zip(ASPECT_NAMES, row, strict=True)}
            d["exposure"] = min(d["dark"], d["bright"])
            out.append(with_focus(d, feats))
        return out


# ---- files ------------------------------------------------------------------------------------------------
def read_head_file(path: Path) -> dict:
    return load_blob(Path(path).read_bytes(), path)


def load_blob(data: bytes, path: Path) -> dict:
    """A head file's contents, read by `statefile` (no code in it ever runs: only plain values and tensors are
    admitted). A file that is something else (a pickle with code in it, junk) is a RuntimeError saying so, in
    `model._load_head_blob`'s words."""
    try:
        blob = statefile.load(data)
    except Exception as exc:  # zipfile.BadZipFile, pickle.UnpicklingError, ValueError...: not weights
        raise RuntimeError(f"{path} is not a model Selfie Desk can load safely (it holds something other than "
                           f"weights, {type(exc).__name__}; nothing in it was run): delete it, or train that "
                           "model again") from None
    if not isinstance(blob, dict):
        raise RuntimeError(f"{path} is not a model Selfie Desk can load (no model card and weights in it)")
    return blob


def _head_path(name: str) -> Path:
    models = available_models()
    if name not in models:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(models)}")
    return weights.bundled_file(DEFAULT_HEAD_FILE) if name == DEFAULT_MODEL else models[name]


def load_head(name: str = DEFAULT_MODEL) -> tuple[ArrayHead, HeadInfo]:
    """The head called `name` (`model.load_head` without torch, the same checks and the same id)."""
    path = _head_path(name)
    data = path.read_bytes()
    blob = load_blob(data, path)
    card = blob.get("card", {})
    if blob.get("format", 1) != HEAD_FORMAT or head_backbone(card) != EMBEDDING_ID:
        raise StaleModelError(f"model {name!r} was trained on an older embedding of the photos than this "
                              f"version of Selfie Desk makes; retrain it: {retrain_command(name, card)}")
    head = ArrayHead(blob["state_dict"])
    return head, HeadInfo(name=name, path=path, card=card, id=f"{name}:{hashlib.sha256(data).hexdigest()[:16]}")


def load_aspects() -> ArrayAspects:
    return ArrayAspects(statefile.load(weights.bundled_file(DEFAULT_HEAD_FILE))["aspects"])


def save_head(head: ArrayHead, path: Path, card: dict) -> None:
    """Write a head with its model card, atomically, in torch.save's format (`model.save_head`'s layout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    statefile.save({"format": HEAD_FORMAT, "state_dict": head.state_dict(), "card": card,
                    "sizes": [head.hidden, head.qhidden]}, path)


class HeadOnly:
    """A scorer's head without its networks, for a process that scores nothing itself: a cluster's driver,
    whose workers hold the networks. It names the model and its version and scores stored embeddings (what
    `pipeline.plan` reads of a scorer), and loads neither torch nor a runtime."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.head, self.info = load_head(model)
        self.model_name = self.info.name
        self.label = "no networks here (a cluster's driver)"
        self.runtime = "none"


# ---- training (personal models) --------------------------------------------------------------------------
class Cancelled(Exception):
    """Training was cancelled; nothing was saved."""


class HeadTrainer:
    """Fits an ArrayHead's four linear layers (the buffers stay: standardisation, calibration) by minibatch
    AdamW on the class-weighted logistic loss of (logit - center) / spread: torch's recipe in taste.fit_head
    before, written out. Dropout on the inputs of both parts, as in training the ScoreHead."""

    PARAMS = ("content.2.weight", "content.2.bias", "content.4.weight", "content.4.bias", "quality.1.weight",
              "quality.1.bias", "quality.3.weight", "quality.3.bias")

    def __init__(self, head: ArrayHead, lr: float = 1e-3, weight_decay: float = 1e-2,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.head, self.lr, self.wd, self.betas, self.eps = head, lr, weight_decay, betas, eps
        self.m = {k: np.zeros_like(head.p[k]) for k in self.PARAMS}
        self.v = {k: np.zeros_like(head.p[k]) for k in self.PARAMS}
        self.t = 0

    def gradients(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, rng: np.random.Generator
                  ) -> tuple[float, dict[str, np.ndarray]]:
        p, keep = self.head.p, 1.0 - self.head.dropout
        n = len(x)

        def drop(a: np.ndarray) -> np.ndarray:
            if keep >= 1.0:
                return a
            return (a * (rng.random(a.shape, dtype=F32) < keep) / F32(keep)).astype(F32)

        xc = drop(_layer_norm(x[:, :EMBEDDING_DIM]))
        ac = xc @ p["content.2.weight"].T + p["content.2.bias"]
        hc = _gelu(ac)
        xq = drop(self.head.standardised(x))
        aq = xq @ p["quality.1.weight"].T + p["quality.1.bias"]
        hq = _gelu(aq)
        logit = (hc @ p["content.4.weight"].T + p["content.4.bias"] + hq @ p["quality.3.weight"].T
                 + p["quality.3.bias"])[:, 0] + p["closed_penalty"] * x[:, EMBEDDING_DIM + _CLOSED]
        z = (logit - p["center"]) / p["spread"]
        loss = float(np.mean(w * (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))))
        g = (w * (expit(z) - y) / n / p["spread"]).astype(F32)[:, None]  # d loss / d logit
        grads = {"content.4.weight": g.T @ hc, "content.4.bias": g.sum(0), "quality.3.weight": g.T @ hq,
                 "quality.3.bias": g.sum(0)}
        gc = (g @ p["content.4.weight"]) * _gelu_grad(ac)
        gq = (g @ p["quality.3.weight"]) * _gelu_grad(aq)
        grads |= {"content.2.weight": gc.T @ xc, "content.2.bias": gc.sum(0), "quality.1.weight": gq.T @ xq,
                  "quality.1.bias": gq.sum(0)}
        return loss, grads

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One AdamW step (torch.optim.AdamW: decoupled weight decay, bias-corrected moments), in place: the
        element-wise work over the head's ~2 million weights is most of a step's time."""
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for k in self.PARAMS:
            param, g, m, v = self.head.p[k], grads[k].astype(F32, copy=False), self.m[k], self.v[k]
            param *= F32(1 - self.lr * self.wd)
            m *= F32(b1)
            m += F32(1 - b1) * g
            v *= F32(b2)
            v += F32(1 - b2) * g * g
            denom = np.sqrt(v)
            denom *= F32(1 / math.sqrt(c2))
            denom += F32(self.eps)
            np.divide(m, denom, out=denom)
            denom *= F32(self.lr / c1)
            param -= denom

    def fit(self, x: np.ndarray, good: np.ndarray, epochs: int, batch: int, seed: int,
            cancel: threading.Event | None = None, progress: Callable[[float], None] | None = None) -> ArrayHead:
        with one_blas_thread():  # on 2 loaded cores, 3x faster than two spinning ones
            return self._fit(x, good, epochs, batch, seed, cancel, progress)

    def _fit(self, x: np.ndarray, good: np.ndarray, epochs: int, batch: int, seed: int,
             cancel: threading.Event | None, progress: Callable[[float], None] | None) -> ArrayHead:
        rng = np.random.default_rng(seed)
        x = np.asarray(x, F32)
        y = good.astype(F32)
        n_good = max(1, int(good.sum()))
        n_bad = max(1, len(good) - int(good.sum()))
        w = np.where(y > 0.5, len(good) / (2 * n_good), len(good) / (2 * n_bad)).astype(F32)
        for epoch in range(epochs):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            order = rng.permutation(len(y))
            for k in range(0, len(order), batch):
                idx = order[k : k + batch]
                _, grads = self.gradients(x[idx], y[idx], w[idx], rng)
                self.step(grads)
            if progress is not None:
                progress((epoch + 1) / epochs)
        return self.head
