"""The convnet: an ImageNet MobileNetV2 backbone, a small score head trained by this project, and the
face detector, all on one device.

The score is the head's output on the backbone's pooled features of the whole photo, squashed to
224 x 224 (all of the frame is seen, so framing counts). The head works on pooled features on purpose:
the crop search pools candidate boxes from one shared feature map and feeds the same head.
"""

from __future__ import annotations

import copy
import hashlib
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from selfie_desk.core import weights
from selfie_desk.core.measures import look
from selfie_desk.core.measures.embedding import (
    BACKBONE_FILE,
    CHECK_AT,
    CHECK_NAMES,
    EMBEDDING_DIM,
    EMBEDDING_ID,
    FACES_FILE,
    FEATURE_DIM,
    HEAD_FORMAT,
    INPUT_SIZE,
    LOOK_DIM,
    STAT_STAGES,
    with_checks,
)
from selfie_desk.core.measures.face import Face
from selfie_desk.core.measures.face_check import FaceCheck
from selfie_desk.core.model_cards import (
    DEFAULT_HEAD_FILE,
    DEFAULT_MODEL,
    StaleModelError,
    UnknownModelError,
    available_models,
    head_backbone,
    retrain_command,
)
from selfie_desk.neural import scored
from selfie_desk.neural.eyes import EyeLandmarker
from selfie_desk.neural.faces import FaceDetector
from selfie_desk.neural.runtime.heads import HeadInfo as HeadInfo  # torch-free; read from here by the tools
from selfie_desk.neural.runtime.heads import HeadOnly as HeadOnly
from selfie_desk.neural.runtime.heads import with_focus
from selfie_desk.neural.scored import TOO_SMALL_EYE_PX as TOO_SMALL_EYE_PX
from selfie_desk.neural.scored import Scored as Scored

CALIB_POINTS = 101
# Standardised looks are clipped to this many standard deviations: a photo unlike every training photo in one
# statistic (a 200-px portrait has fewer focus blocks than any 500-px training photo: 800,000 standard deviations)
# must not swing its score; no training photo of BIQ2021 or LIVE-C reaches it in more than a handful of values.
STANDARD_CLIP = 8.0
# Aspects and the self-supervised pairs that teach each (degrade.py's kinds)
ASPECT_KINDS = {
    "sharpness": ("blur",),
    "noise": ("noise",),
    "dark": ("dark",),
    "bright": ("bright",),
    "compression": ("jpeg",),
    "framing": ("cut", "tiny", "close", "tiny_vs_framed"),
}

_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255


def fold_batch_norm(module: nn.Module) -> None:
    """Fold every BatchNorm that follows a convolution into that convolution's weights and bias (inference
    only; the backbone is frozen). Eager PyTorch runs BatchNorm as a separate pass over the activations: on
    2 CPU cores it was a third of MobileNetV2's time (29.2 -> 15.8 ms per 224-px image, features equal to 7e-6)."""
    for seq in module.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq._modules.items())
        for (conv_name, conv), (bn_name, bn) in zip(children, children[1:], strict=False):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                seq._modules[conv_name] = fuse_conv_bn_eval(conv.eval(), bn.eval())
                seq._modules[bn_name] = nn.Identity()


class Backbone(nn.Module):
    """MobileNetV2's convolutional trunk: uint8 RGB in, a 1280-channel feature map (stride 32) out."""

    mean: torch.Tensor  # buffers (register_buffer), typed for the checker
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        # torchvision is imported here, not with this module: its import loads torch._dynamo (~3 s of CPU here),
        # which a process holding only the head (a cluster's driver, `HeadOnly`) does without
        import torchvision

        net = torchvision.models.mobilenet_v2()
        net.load_state_dict(torch.load(weights.bundled_file(BACKBONE_FILE), map_location="cpu", weights_only=True))
        fold_batch_norm(net.features)
        # channels_last doubles MobileNetV2's CPU throughput (47 vs 22 img/s measured on 2 cores)
        self.features = net.features.to(memory_format=torch.channels_last)
        self.register_buffer("mean", _MEAN.clone(), persistent=False)
        self.register_buffer("std", _STD.clone(), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.float() - self.mean) / self.std
        return self.features(x.contiguous(memory_format=torch.channels_last))

    def forward_with_stats(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The feature map and, from the same pass, each tapped stage's per-channel mean and standard
        deviation over the picture (N x STATS_DIM): texture, sharpness and noise as the early layers see
        them, which the pooled last layer averages away."""
        x = ((images.float() - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        means, stds = [], []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in STAT_STAGES:
                f = x.float()
                means.append(f.mean(dim=(2, 3)))
                stds.append(f.std(dim=(2, 3)))
        return x, torch.cat(means + stds, dim=1)

    @staticmethod
    def pool(feature_map: torch.Tensor) -> torch.Tensor:
        return feature_map.float().mean(dim=(2, 3))


def pool_boxes(feature_map: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """The mean of a 1 x C x h x w feature map over each box (N x 4: x0, y0, x1, y1 in cells, the map being
    h x w cells, each holding its value uniformly): the pooled features of that part of the picture, as
    `Backbone.pool` gives them for the whole. Exact for fractional boxes: each box is a coverage weight per
    cell (separable in x and y), and all boxes are one matrix product, 26x faster on a CPU than roi_align with
    3 x 3 bins of 2 x 2 samples (3.3 vs 85 ms for 554 boxes) and as close to per-crop scores."""
    _, c, h, w = feature_map.shape
    b = boxes.to(feature_map.device, torch.float32)
    cols = torch.arange(w, device=b.device, dtype=b.dtype)
    rows = torch.arange(h, device=b.device, dtype=b.dtype)
    wx = (torch.minimum(b[:, 2:3], cols + 1) - torch.maximum(b[:, 0:1], cols)).clamp(0, 1)
    wy = (torch.minimum(b[:, 3:4], rows + 1) - torch.maximum(b[:, 1:2], rows)).clamp(0, 1)
    weights = (wy[:, :, None] * wx[:, None, :]).reshape(len(b), h * w)
    weights = weights / weights.sum(dim=1, keepdim=True).clamp(min=1e-6)
    return weights @ feature_map[0].float().reshape(c, h * w).T


class ScoreHead(nn.Module):
    """Features (FEATURE_DIM: the pooled last layer, then the looks) -> one logit: higher is a better photo.

    logit = content(pooled last layer) + quality(looks). The two parts are apart on purpose: a crop changes
    what is in the frame (content, framing) but not how sharp, noisy or well exposed the photo is, so the
    crop search scores each box as content(box) + quality(photo), on the same scale as the photo's own
    score. The logit is mapped to [0, 1] by the quantiles of people's opinions (the default model) or by a
    sigmoid (personal models, whose score is P(good)).
    """

    look_mean: torch.Tensor  # buffers (register_buffer), typed for the checker
    look_std: torch.Tensor
    quantile_map: torch.Tensor
    calib_x: torch.Tensor
    calib_y: torch.Tensor
    center: torch.Tensor
    spread: torch.Tensor
    check_mask: torch.Tensor
    closed_penalty: torch.Tensor

    def __init__(self, hidden: int = 256, qhidden: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        self.hidden, self.qhidden = hidden, qhidden
        self.content = nn.Sequential(
            nn.LayerNorm(EMBEDDING_DIM, elementwise_affine=False),
            nn.Dropout(dropout),
            nn.Linear(EMBEDDING_DIM, hidden),
            nn.GELU(),
            nn.Linear(hidden, 1),
        )
        self.quality = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(LOOK_DIM, qhidden),
            nn.GELU(),
            nn.Linear(qhidden, 1),
        )
        self.register_buffer("look_mean", torch.zeros(LOOK_DIM))
        self.register_buffer("look_std", torch.ones(LOOK_DIM))
        # calibration: the quantile map calib_x -> calib_y (piecewise linear, exponential tails) when
        # quantile_map is 1, else sigmoid((logit - center) / spread)
        self.register_buffer("quantile_map", torch.zeros(()))
        self.register_buffer("calib_x", torch.linspace(-1, 1, CALIB_POINTS))
        self.register_buffer("calib_y", torch.linspace(0, 1, CALIB_POINTS))
        self.register_buffer("center", torch.zeros(()))
        self.register_buffer("spread", torch.ones(()))
        # The face checks (CHECK_NAMES) are not read by the MLP: no opinion score was given with them. A subject's
        # closed eyes lower the logit by a fixed amount instead, so a blink ranks below its open-eyed twin in the
        # sort (set by tools/train_score.py so that a middling photo loses CLOSED_EYES_DROP of its score).
        mask = torch.ones(LOOK_DIM)
        at = CHECK_AT - EMBEDDING_DIM
        mask[at : at + len(CHECK_NAMES)] = 0
        self.register_buffer("check_mask", mask)
        self.register_buffer("closed_penalty", torch.tensor(-2.0))

    # ---- parts ------------------------------------------------------------------------------------------
    def content_logit(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.content(embeddings[..., :EMBEDDING_DIM].float()).squeeze(-1)

    def quality_logit(self, features: torch.Tensor) -> torch.Tensor:
        raw = features[..., EMBEDDING_DIM:].float()
        look = torch.clamp((raw - self.look_mean) / self.look_std, -STANDARD_CLIP, STANDARD_CLIP) * self.check_mask
        closed = raw[..., CHECK_AT - EMBEDDING_DIM + CHECK_NAMES.index("eyes_closed")]
        return self.quality(look).squeeze(-1) + self.closed_penalty * closed

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.content_logit(features) + self.quality_logit(features)

    def calibrate(self, logits: torch.Tensor) -> torch.Tensor:
        if float(self.quantile_map) < 0.5:
            return torch.sigmoid((logits - self.center) / self.spread)
        x, y = self.calib_x, self.calib_y
        inner = _interp(logits, x, y)
        # the tails' scale: the logit span of the map's last tenth at each end (a twentieth was so short that a
        # folder of good portraits, past the map's top, crowded into 0.99)
        low_s = torch.clamp(x[10] - x[0], min=1e-3)
        high_s = torch.clamp(x[-1] - x[-11], min=1e-3)
        # beyond the map's ends the score keeps moving towards 0 and 1 without reaching them (a rational tail:
        # an exponential one rounded the best photos of a folder to exactly 1.0, a tie at the top of the sort)
        low = y[0] / (1 + torch.clamp((x[0] - logits) / low_s, min=0.0))
        high = 1 - (1 - y[-1]) / (1 + torch.clamp((logits - x[-1]) / high_s, min=0.0))
        return torch.where(logits < x[0], low, torch.where(logits > x[-1], high, inner))

    def probability(self, features: torch.Tensor) -> torch.Tensor:
        return self.calibrate(self(features))

    def probability_of_boxes(self, pooled: torch.Tensor, quality: torch.Tensor | float) -> torch.Tensor:
        """Scores of boxes from their pooled features (N x 1280) and the photo's quality logit."""
        return self.calibrate(self.content_logit(pooled) + quality)

    # ---- training helpers -------------------------------------------------------------------------------
    def score_parameters(self) -> list[nn.Parameter]:
        return list(self.content.parameters()) + list(self.quality.parameters())

    def set_standardisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """The looks' mean and standard deviation on the training photos; a look that did not vary there (std
        under 1e-4: it taught nothing) gets 1, so that a photo where it does vary is not read as an outlier."""
        std = np.where(np.asarray(std) < 1e-4, 1.0, std)
        self.look_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.look_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def set_quantile_map(self, xs: np.ndarray, ys: np.ndarray) -> None:
        xs = np.maximum.accumulate(np.asarray(xs, np.float64)) + np.arange(len(xs)) * 1e-6  # increasing
        self.calib_x.copy_(torch.as_tensor(xs, dtype=torch.float32))
        self.calib_y.copy_(torch.as_tensor(np.maximum.accumulate(np.asarray(ys, np.float64)), dtype=torch.float32))
        self.quantile_map.fill_(1.0)

    def use_sigmoid(self, center: float, spread: float) -> None:
        self.center.fill_(center)
        self.spread.fill_(spread)
        self.quantile_map.fill_(0.0)

    @classmethod
    def ensemble(cls, heads: Sequence[ScoreHead]) -> ScoreHead:
        """One head whose logit is the mean of `heads`' (same standardisation): their hidden layers side
        by side, their output layers averaged. Exact, and as cheap to run as one wider head. A part that is the
        same in every head (version 3 keeps version 2's content part in all five) is kept once: side by side,
        its copies would give the same logit at five times the size (26 MB) and the cost."""
        shared = {part: all(_same(getattr(h, part), getattr(heads[0], part)) for h in heads[1:])
                  for part in ("content", "quality")}
        members = {part: heads[:1] if shared[part] else list(heads) for part in shared}
        out = cls(hidden=sum(h.hidden for h in members["content"]), qhidden=sum(h.qhidden for h in members["quality"]))
        with torch.no_grad():
            for part in ("content", "quality"):
                first = [getattr(h, part)[-3] for h in members[part]]
                last = [getattr(h, part)[-1] for h in members[part]]
                k = len(members[part])
                getattr(out, part)[-3].weight.copy_(torch.cat([m.weight for m in first]))
                getattr(out, part)[-3].bias.copy_(torch.cat([m.bias for m in first]))
                getattr(out, part)[-1].weight.copy_(torch.cat([m.weight for m in last], dim=1) / k)
                getattr(out, part)[-1].bias.copy_(sum(m.bias for m in last) / k)
            out.look_mean.copy_(heads[0].look_mean)
            out.look_std.copy_(heads[0].look_std)
            out.closed_penalty.copy_(heads[0].closed_penalty)
        return out.eval()


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    idx = torch.clamp(torch.searchsorted(xp, x.contiguous()), 1, len(xp) - 1)
    x0, x1 = xp[idx - 1], xp[idx]
    y0, y1 = fp[idx - 1], fp[idx]
    t = torch.clamp((x - x0) / torch.clamp(x1 - x0, min=1e-9), 0, 1)
    return y0 + t * (y1 - y0)


class AspectHeads(nn.Module):
    """What a score is made of, each in [0, 1] (higher is better): one linear ranker per aspect on the
    standardised features, trained on the self-supervised pairs of its kinds (ASPECT_KINDS) and calibrated
    so that the midpoint between originals and their degraded copies is 0.5. Exposure is the worse of
    "not too dark" and "not too bright". They belong to the default model: a personal model changes the
    score's taste, not how sharp a photo is."""

    mean: torch.Tensor  # buffers (register_buffer), typed for the checker
    std: torch.Tensor
    centers: torch.Tensor
    spreads: torch.Tensor
    masks: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleDict({name: nn.Linear(FEATURE_DIM, 1) for name in ASPECT_KINDS})
        self.register_buffer("mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("std", torch.ones(FEATURE_DIM))
        self.register_buffer("centers", torch.zeros(len(ASPECT_KINDS)))
        self.register_buffer("spreads", torch.ones(len(ASPECT_KINDS)))
        # which features each aspect reads: framing only the pooled last layer (what a crop changes), so that
        # a crop's framing is its own and blur or noise never read as bad framing
        masks = torch.ones(len(ASPECT_KINDS), FEATURE_DIM)
        masks[list(ASPECT_KINDS).index("framing"), EMBEDDING_DIM:] = 0
        self.register_buffer("masks", masks)

    def layer(self, name: str) -> nn.Linear:
        return cast(nn.Linear, self.layers[name])  # every entry is an nn.Linear (__init__)

    def set_standardisation(self, look_mean: np.ndarray, look_std: np.ndarray) -> None:
        # the pooled last layer is on one scale already; the looks are standardised (a look that did not vary: 1)
        self.mean[EMBEDDING_DIM:] = torch.as_tensor(look_mean, dtype=torch.float32)
        self.std[EMBEDDING_DIM:] = torch.as_tensor(np.where(np.asarray(look_std) < 1e-4, 1.0, look_std),
                                                   dtype=torch.float32)

    def set_calibration(self, name: str, center: float, spread: float) -> None:
        k = list(ASPECT_KINDS).index(name)
        self.centers[k] = center
        self.spreads[k] = spread

    def standardised(self, features: torch.Tensor) -> torch.Tensor:
        return torch.clamp((features.float() - self.mean) / self.std, -STANDARD_CLIP, STANDARD_CLIP)

    def raw(self, name: str, features: torch.Tensor) -> torch.Tensor:
        mask = self.masks[list(ASPECT_KINDS).index(name)]
        return self.layers[name](self.standardised(features) * mask).squeeze(-1)

    @torch.inference_mode()
    def aspects(self, features: torch.Tensor) -> list[dict[str, float]]:
        """Per row: every ASPECT_KINDS entry, and exposure (the worse of dark and bright)."""
        x = self.standardised(features)
        cols = {}
        for k, name in enumerate(ASPECT_KINDS):
            raw = self.layers[name](x * self.masks[k]).squeeze(-1)
            cols[name] = torch.sigmoid((raw - self.centers[k]) / self.spreads[k]).cpu()
        raw = features.float().cpu().numpy()
        out = []
        for i in range(len(x)):
            row = {name: float(v[i]) for name, v in cols.items()}
            row["exposure"] = min(row["dark"], row["bright"])
            out.append(with_focus(row, raw[i]))
        return out


def save_head(head: ScoreHead, path: Path, card: dict, aspects: AspectHeads | None = None) -> None:
    """Write a head (and, for the default model, its aspect heads) with its model card, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    blob = {"format": HEAD_FORMAT, "state_dict": head.state_dict(), "card": card,
            "sizes": [head.hidden, head.qhidden]}
    if aspects is not None:
        blob["aspects"] = aspects.state_dict()
    torch.save(blob, tmp)
    tmp.replace(path)


def read_head_file(path: Path) -> dict:
    return _load_head_blob(Path(path).read_bytes(), path)


def _load_head_blob(data: bytes, path: Path) -> dict:
    """A head file's contents, loaded weights-only (no code in it ever runs). A file that is something else (a
    pickle with code in it, junk) is a RuntimeError saying so, never torch's own message: that one advises
    loading the file again with the unsafe option, which would run whatever the file holds."""
    try:
        with warnings.catch_warnings():  # torch's warnings about a foreign pickle name the unsafe option too
            warnings.simplefilter("ignore")
            blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError, EOFError...: any file that is not weights
        raise RuntimeError(f"{path} is not a model Selfie Desk can load safely (it holds something other than "
                           f"weights, {type(exc).__name__}; nothing in it was run): delete it, or train that "
                           "model again") from None
    if not isinstance(blob, dict):
        raise RuntimeError(f"{path} is not a model Selfie Desk can load (no model card and weights in it)")
    return blob


def load_head(name: str = DEFAULT_MODEL) -> tuple[ScoreHead, HeadInfo]:
    """The head called `name`. A personal model made for an older embedding raises StaleModelError (its
    message says how to retrain it); its card stays readable through `model_card`."""
    models = available_models()
    if name not in models:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(models)}")
    path = weights.bundled_file(DEFAULT_HEAD_FILE) if name == DEFAULT_MODEL else models[name]
    data = path.read_bytes()
    blob = _load_head_blob(data, path)
    card = blob.get("card", {})
    if blob.get("format", 1) != HEAD_FORMAT or head_backbone(card) != EMBEDDING_ID:
        raise StaleModelError(f"model {name!r} was trained on an older embedding of the photos than this "
                              f"version of Selfie Desk makes; retrain it: {retrain_command(name, card)}")
    hidden, qhidden = blob.get("sizes", [256, 128])
    head = ScoreHead(hidden=hidden, qhidden=qhidden)
    head.load_state_dict(blob["state_dict"])
    head.eval()
    return head, HeadInfo(name=name, path=path, card=card, id=f"{name}:{hashlib.sha256(data).hexdigest()[:16]}")


def load_aspects() -> AspectHeads:
    """The default model's aspect heads."""
    blob = read_head_file(weights.bundled_file(DEFAULT_HEAD_FILE))
    heads = AspectHeads()
    heads.load_state_dict(blob["aspects"])
    return heads.eval()


def model_card(name: str) -> dict:
    """A model's card, even for a model that must be retrained."""
    models = available_models()
    if name not in models:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(models)}")
    path = weights.bundled_file(DEFAULT_HEAD_FILE) if name == DEFAULT_MODEL else models[name]
    return read_head_file(path).get("card", {})


def resolve_device(choice: str = "auto") -> torch.device:
    """auto: CUDA when there is a usable GPU, else CPU. Asking for cuda without one is an error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA GPU is available")
    if choice not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {choice!r}")
    return torch.device(choice)


def autocast(device: torch.device):
    """bf16 on a GPU (tests/test_gpu.py; never run here, no GPU was lent); full precision on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return f"CPU ({torch.get_num_threads()} threads)"


def _nchw(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A numpy uint8 N x H x W x 3 batch as torch's N x 3 x H x W (a view, or a copy of a read-only array); a
    tensor as it is."""
    if not isinstance(images, np.ndarray):
        return images
    return torch.from_numpy(images if images.flags.writeable else images.copy()).permute(0, 3, 1, 2)


class Scorer:
    """Scores batches of photos: one backbone pass for score, stage statistics and embedding, one detector
    pass for faces, one pass of the eye networks over the batch's faces, the looks (numpy) in between. Owns
    the device: create it on the thread that will use it and keep it there."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.head, self.info = load_head(model)
        self.aspect_heads = load_aspects()
        self.model_name = self.info.name
        self.backbone = Backbone().eval()
        self.detector = FaceDetector.from_file(weights.bundled_file(FACES_FILE), device="cpu").eval()
        self.backbone.to(self.device)
        self.head.to(self.device)
        self.aspect_heads.to(self.device)
        # Module.to takes a device with memory_format (torch._C._nn._parse_to); torch's overloads omit the pair
        self.detector.to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.eyes = EyeLandmarker.from_files(device=self.device)
        self.label = device_label(self.device)
        self.runtime = "torch"

    def with_model(self, model: str) -> Scorer:
        """The same backbone and face detector (already on the device) with another head: switching the
        active model costs loading a head, not the whole convnet."""
        head, info = load_head(model)
        other = copy.copy(self)
        other.head, other.info, other.model_name = head.to(self.device), info, info.name
        return other

    @torch.inference_mode()
    def embed(self, model_inputs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """uint8 N x 3 x 224 x 224 (or a numpy N x 224 x 224 x 3) -> float32 N x (1280 + STATS_DIM): the pooled
        last layer, then the stage statistics. The looks (`look.Look`) complete it to FEATURE_DIM (`features`)."""
        with autocast(self.device):
            fmap, stats = self.backbone.forward_with_stats(_nchw(model_inputs).to(self.device, non_blocking=True))
        return torch.cat([Backbone.pool(fmap), stats.float()], dim=1)

    @staticmethod
    def complete(network: torch.Tensor, looks: Sequence[np.ndarray]) -> torch.Tensor:
        """Network features (N x (1280 + STATS_DIM)) and each photo's look values (``look.Look.values``) ->
        features, the face checks zero until ``finish`` knows them."""
        extra = torch.from_numpy(np.stack([with_checks(v) for v in looks])).to(network.device)
        return torch.cat([network, extra], dim=1)

    @torch.inference_mode()
    def finish(self, batch: Sequence[Scored], checks: Sequence[Sequence[FaceCheck]]) -> list[Scored]:
        """Each photo with its faces' checks: written into its embedding (``embedding.CHECK_NAMES``) and its
        score made again from it, so that closed eyes count in the score (and in every sort by it)."""
        return scored.finish(batch, checks,
                             lambda embs: self.score_embeddings(torch.from_numpy(embs)).cpu().numpy())

    @torch.inference_mode()
    def score_embeddings(self, features: torch.Tensor) -> torch.Tensor:
        return self.head.probability(features.to(self.device)).float()

    @torch.inference_mode()
    def score_batch(
        self, model_inputs: torch.Tensor | np.ndarray, face_inputs: torch.Tensor | np.ndarray,
        face_sizes: list[tuple[int, int]], looks: Sequence[look.Look], checks: bool = True,
    ) -> list[Scored]:
        """Score, embed and find faces; with ``checks`` also each face's eyes and focus (``check_faces``; the
        pass runs those itself, on another thread). Inputs as torch NCHW tensors or numpy NHWC arrays (the
        pass's)."""
        network = self.embed(model_inputs)
        faces = self.detector.detect(_nchw(face_inputs).to(self.device, non_blocking=True), face_sizes)
        extras = [lk.values([f.box for f in found], size) for lk, found, size in zip(looks, faces, face_sizes,
                                                                                      strict=True)]
        features = self.complete(network, extras)
        scores = self.score_embeddings(features).cpu().numpy()
        aspects = self.aspect_heads.aspects(features)
        feats = features.cpu().numpy()
        out = [Scored(float(s), e, f, a) for s, e, f, a in zip(scores, feats, faces, aspects, strict=True)]
        return self.finish(out, self.check_faces(looks, faces, face_sizes)) if checks else out

    @torch.inference_mode()
    def check_faces(self, looks: Sequence[look.Look], faces: list[list[Face]],
                    face_sizes: list[tuple[int, int]]) -> list[list[FaceCheck]]:
        """Each face's eyes and sharpness (`scored.check_faces`), the eye networks in torch."""
        return scored.check_faces(self.eyes, looks, faces, face_sizes)

    def score_images(self, images: Sequence[Image.Image], face_edge: int = 384) -> list[Scored]:
        """Score photos already in memory, each at its own (detail) resolution, exactly as the pass would
        score them from a decode of that size (tests, the self-test, tools)."""
        looks, model_in, face_in, sizes = scored.inputs_of_images(images, face_edge)
        return self.score_batch(model_in, face_in, sizes, looks)

    # ---- what the crop search asks of a scorer (runtime.scorer.RuntimeScorer answers the same) -------------
    def inference(self) -> torch.autograd.grad_mode.inference_mode:
        return torch.inference_mode()

    @torch.inference_mode()
    def feature_maps(self, square: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """One photo squashed to a square (uint8 S x S x 3) -> its feature map (1 x 1280 x S/32 x S/32, float32)
        and its network features (1 x (1280 + STATS_DIM): the pooled map and the stage statistics)."""
        x = _nchw(np.ascontiguousarray(square)[None]).to(self.device)
        with autocast(self.device):
            fmap, stats = self.backbone.forward_with_stats(x)
        return fmap.float().contiguous(), torch.cat([Backbone.pool(fmap), stats.float()], dim=1)

    def find_faces(self, images: np.ndarray, sizes: list[tuple[int, int]]) -> list[list[Face]]:
        """Faces in uint8 N x H x W x 3 images, zero-padded at right and bottom to their real `sizes`."""
        return self.detector.detect(_nchw(images).to(self.device, non_blocking=True), sizes)

    @staticmethod
    def arrays(values: torch.Tensor) -> np.ndarray:
        return values.float().cpu().numpy()

    def tensor(self, values: np.ndarray) -> torch.Tensor:
        """numpy values as the head takes them (a tensor on the scorer's device)."""
        return torch.as_tensor(values, device=self.device)

    def load_composer(self):  # -> composition.CompositionModel (that module imports this one)
        """The bundled composition head (the crop search's), on this scorer's device."""
        from selfie_desk.neural import composition

        return composition.load().to(self.device)

    @torch.inference_mode()
    def composition_maps(self, composer, square: np.ndarray, last: bool) -> tuple[torch.Tensor | None, torch.Tensor]:
        """One photo squashed to composition.SIDE (uint8 S x S x 3) -> its last feature map (1 x 1280 x S/32 x
        S/32, float32; None without `last`, which saves the final 1 x 1 convolution) and the composition head's
        reduced map (`CompositionHead.feature_map` of the two tapped blocks), from one backbone pass."""
        from selfie_desk.neural.composition import tapped_forward

        x = _nchw(np.ascontiguousarray(square)[None]).to(self.device)
        with autocast(self.device):
            fmap, fine, coarse = tapped_forward(self.backbone, x, last=last)
            comp = composer.head.feature_map(fine.float(), coarse.float())
        return (None if fmap is None else fmap.float().contiguous()), comp

    def attention(self, view: Image.Image, side: int = 2 * INPUT_SIZE) -> np.ndarray:
        """What the convnet looked at: each cell's share of the score's content logit (Grad x Input on the
        last feature map of the photo squashed to `side` px; exact for a mean-pooled head: the gradient is the
        same for every cell), signed: > 0 raised the score, < 0 lowered it. Returns h x w, scaled so that
        the largest magnitude is 1 (a 14 x 14 map at 448 px)."""
        square = view.convert("RGB").resize((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        x = torch.from_numpy(np.array(square)).permute(2, 0, 1)[None].to(self.device)
        with torch.inference_mode():
            fmap = self.backbone(x).float()[0].clone()
        pooled = fmap.mean(dim=(1, 2)).clone().requires_grad_(True)
        with torch.enable_grad():
            self.head.content_logit(pooled[None]).sum().backward()
        grad = pooled.grad.detach()
        cells = torch.einsum("c,chw->hw", grad, fmap) / (fmap.shape[1] * fmap.shape[2])
        cells = cells - cells.mean()
        peak = float(cells.abs().max())
        return (cells / peak if peak > 0 else cells).cpu().numpy()
