"""The convnet: an ImageNet MobileNetV2 backbone, a small score head trained by this project, and the
face detector, all on one device.

The score is the head's output on the backbone's pooled features of the whole photo, squashed to
224 x 224 (all of the frame is seen, so framing counts). The head works on pooled features on purpose:
the crop search pools candidate boxes from one shared feature map and feeds the same head.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from selfie_desk.core import paths, weights
from selfie_desk.core.faces import Face, FaceDetector

INPUT_SIZE = 224
EMBEDDING_DIM = 1280
# MobileNetV2 stages whose outputs are summarised for the quality head (strides 4, 8, 16, 16, 32;
# channels 24, 32, 64, 96, 160): mean and standard deviation of each channel.
STAT_STAGES = (3, 6, 10, 13, 16)
STATS_DIM = 2 * (24 + 32 + 64 + 96 + 160)
BACKBONE_FILE = "mobilenet_v2-b0353104.pth"
FACES_FILE = "retinaface_mobilenet0.25.pth"
DEFAULT_HEAD_FILE = "score_head.pt"
DEFAULT_MODEL = "default"
# What made an embedding. Every head so far sits on this frozen backbone, so embeddings stored by any of them
# can be scored by any other without decoding the photo again (a head whose card names another backbone cannot).
BACKBONE_ID = BACKBONE_FILE

_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255


def model_input(im: Image.Image) -> np.ndarray:
    """The whole photo squashed to 224 x 224 (uint8 HWC): nothing cropped, so framing is visible to the net.

    Squashing matches how the crop search pools a candidate box to a fixed grid of features.
    """
    return np.asarray(im.convert("RGB").resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0))


class UnknownModelError(ValueError):
    """`--model NAME` names no model the app has."""


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

    def __init__(self) -> None:
        super().__init__()
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
    """Pooled features -> one logit: higher is a better photo. Calibrated to [0, 1] by `probability`."""

    def __init__(self, hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(EMBEDDING_DIM),
            nn.Dropout(dropout),
            nn.Linear(EMBEDDING_DIM, hidden),
            nn.GELU(),
            nn.Linear(hidden, 1),
        )
        # logit -> score: sigmoid((logit - center) / spread), fitted after training on its own photos
        self.register_buffer("center", torch.zeros(()))
        self.register_buffer("spread", torch.ones(()))

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.net(embeddings.float()).squeeze(-1)

    def probability(self, embeddings: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid((self(embeddings) - self.center) / self.spread)


@dataclass(frozen=True)
class HeadInfo:
    name: str
    path: Path
    card: dict


def save_head(head: ScoreHead, path: Path, card: dict) -> None:
    """Write a head with its model card, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": 1, "state_dict": head.state_dict(), "card": card}, tmp)
    tmp.replace(path)


def available_models() -> dict[str, Path]:
    """Model names the user can pass to --model: the bundled default plus personal models."""
    found = {DEFAULT_MODEL: paths.bundled_models_dir() / DEFAULT_HEAD_FILE}
    for file in sorted(paths.user_models_dir().glob("*.pt")):
        found.setdefault(file.stem, file)
    return found


def load_head(name: str = DEFAULT_MODEL) -> tuple[ScoreHead, HeadInfo]:
    models = available_models()
    if name not in models:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(models)}")
    path = weights.bundled_file(DEFAULT_HEAD_FILE) if name == DEFAULT_MODEL else models[name]
    blob = torch.load(path, map_location="cpu", weights_only=True)
    head = ScoreHead()
    head.load_state_dict(blob["state_dict"])
    head.eval()
    return head, HeadInfo(name=name, path=path, card=blob.get("card", {}))


def head_backbone(card: dict) -> str:
    """The backbone a head expects its embeddings from (heads without the field: the bundled one)."""
    return str(card.get("backbone_id", BACKBONE_ID))


def resolve_device(choice: str = "auto") -> torch.device:
    """auto: CUDA when there is a usable GPU, else CPU. Asking for cuda without one is an error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA GPU is available")
    if choice not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {choice!r}")
    return torch.device(choice)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return f"CPU ({torch.get_num_threads()} threads)"


@dataclass(frozen=True)
class Scored:
    score: float
    embedding: np.ndarray  # float32, EMBEDDING_DIM
    faces: list[Face]  # in the coordinates of the face-detector input given for this photo


class Scorer:
    """Scores batches of photos: one backbone pass for score and embedding, one detector pass for faces.

    Owns the device: create it on the thread that will use it and keep it there.
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.head, self.info = load_head(model)
        if head_backbone(self.info.card) != BACKBONE_ID:
            raise UnknownModelError(f"model {model!r} needs backbone {head_backbone(self.info.card)!r}, "
                                    "which this version of Selfie Desk does not have")
        self.model_name = self.info.name
        self.backbone = Backbone().eval()
        self.detector = FaceDetector.from_file(weights.bundled_file(FACES_FILE), device="cpu").eval()
        self.backbone.to(self.device)
        self.head.to(self.device)
        self.detector.to(self.device, memory_format=torch.channels_last)
        self.label = device_label(self.device)

    def with_model(self, model: str) -> Scorer:
        """The same backbone and face detector (already on the device) with another head: switching the
        active model costs loading a head, not the whole convnet."""
        head, info = load_head(model)
        if head_backbone(info.card) != BACKBONE_ID:
            raise UnknownModelError(f"model {model!r} needs backbone {head_backbone(info.card)!r}")
        other = copy.copy(self)
        other.head, other.info, other.model_name = head.to(self.device), info, info.name
        return other

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    @torch.inference_mode()
    def embed(self, model_inputs: torch.Tensor) -> torch.Tensor:
        """uint8 N x 3 x 224 x 224 -> float32 N x 1280 pooled features."""
        with self._autocast():
            fmap = self.backbone(model_inputs.to(self.device, non_blocking=True))
        return Backbone.pool(fmap)

    @torch.inference_mode()
    def score_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.head.probability(embeddings.to(self.device)).float()

    @torch.inference_mode()
    def score_batch(
        self, model_inputs: torch.Tensor, face_inputs: torch.Tensor, face_sizes: list[tuple[int, int]]
    ) -> list[Scored]:
        embeddings = self.embed(model_inputs)
        scores = self.score_embeddings(embeddings).cpu().numpy()
        faces = self.detector.detect(face_inputs.to(self.device, non_blocking=True), face_sizes)
        emb = embeddings.cpu().numpy()
        return [Scored(float(s), e, f) for s, e, f in zip(scores, emb, faces, strict=True)]
