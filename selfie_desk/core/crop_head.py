"""The crop head: what the convnet would say of a crop seen on its own, predicted from the shared features.

Pooling a box out of the whole photo's feature map is fast but only approximates the per-crop score:
the crop's own frame edges and its zoom (a small crop is enlarged to 224 px when scored alone) are
missing. The crop head is distilled from the exact per-crop scores of the default score head
(tools/train_crop_head.py): the plain pooled logit plus a linear correction, fitted by ridge regression,
from the box's geometry (position and size in the photo, how it frames the faces it keeps). A richer
correction (an MLP on the roi_align grid too) overfitted the few dozen photos there was time to collect.

Not used by default: fitted on 28 training portraits it raised the cross-validated agreement on them
(0.46 -> 0.60) but lowered it on held-out photos (0.31 -> 0.13); docs/cropping.md has the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from selfie_desk.core.model import ScoreHead, pool_boxes

STRIDE = 32
GEOMETRY = 14  # features per box from geometry alone (see `geometry`)

Box = tuple[float, float, float, float]


def geometry(boxes: np.ndarray, width: int, height: int, faces: Sequence[Box]) -> np.ndarray:
    """Per box (N x GEOMETRY): where it is and how big, its shape, and how it frames the faces it keeps."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(b)
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    out = np.zeros((n, GEOMETRY), np.float32)
    out[:, 0], out[:, 1] = b[:, 0] / width, b[:, 1] / height
    out[:, 2], out[:, 3] = b[:, 2] / width, b[:, 3] / height
    out[:, 4] = np.log(bw * bh / (width * height))
    out[:, 5] = np.log(bw / bh)
    out[:, 6] = math.log(width / height)
    if faces:
        f = np.asarray(faces, np.float64).reshape(-1, 4)
        inside = ((b[:, None, 0] <= f[:, 0]) & (b[:, None, 1] <= f[:, 1]) & (b[:, None, 2] >= f[:, 2])
                  & (b[:, None, 3] >= f[:, 3]))  # N x F
        areas = (f[:, 2] - f[:, 0]) * (f[:, 3] - f[:, 1])
        out[:, 7] = inside.sum(axis=1) / len(f)
        biggest = np.where(inside, areas[None], -1).argmax(axis=1)
        has = inside.any(axis=1)
        fb = f[biggest]
        out[:, 8] = has
        out[:, 9] = np.where(has, ((fb[:, 0] + fb[:, 2]) / 2 - b[:, 0]) / bw, 0)
        out[:, 10] = np.where(has, ((fb[:, 1] + fb[:, 3]) / 2 - b[:, 1]) / bh, 0)
        out[:, 11] = np.where(has, np.log((fb[:, 3] - fb[:, 1]) / bh), 0)
        out[:, 12] = np.where(has, (fb[:, 2] - fb[:, 0]) * (fb[:, 3] - fb[:, 1]) / (bw * bh), 0)
        out[:, 13] = math.log(areas.max() / (width * height))
    return out


def crop_features(fmap: torch.Tensor, boxes: np.ndarray, image_size: tuple[int, int], width: int, height: int,
                  faces: Sequence[Box]) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean-pooled box features N x 1280, geometry N x GEOMETRY) for boxes in full-resolution pixels."""
    pooled = pool_boxes(fmap, to_cells(boxes, image_size, width, height))
    geo = torch.from_numpy(geometry(boxes, width, height, faces)).to(fmap.device)
    return pooled, geo


def to_cells(boxes: np.ndarray, image_size: tuple[int, int], width: int, height: int) -> torch.Tensor:
    """Boxes in full-resolution pixels -> boxes in cells of the feature map of the reduced photo
    (`image_size`): cell j covers reduced pixels [STRIDE * j, STRIDE * (j + 1))."""
    sx, sy = image_size[0] / width / STRIDE, image_size[1] / height / STRIDE
    return torch.as_tensor(np.asarray(boxes, np.float64), dtype=torch.float32) * torch.tensor([sx, sy, sx, sy])


def design(base: torch.Tensor, geo: torch.Tensor) -> torch.Tensor:
    """The correction's inputs: the pooled logit, the geometry, and a few squares (size and face framing)."""
    area = geo[:, 4:5]
    return torch.cat([base[:, None], geo, area**2, geo[:, 11:12] ** 2, (geo[:, 9:11] - 0.5) ** 2], dim=1)


DESIGN = 1 + GEOMETRY + 4


class CropHead(nn.Module):
    """The score head's logit of the mean-pooled box plus a linear correction; outputs a logit."""

    def __init__(self, base: ScoreHead | None = None) -> None:
        super().__init__()
        self.base = base if base is not None else ScoreHead()
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.correction = nn.Linear(DESIGN, 1)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def forward(self, pooled: torch.Tensor, geo: torch.Tensor) -> torch.Tensor:
        base = self.base(pooled)
        return base + self.correction(design(base, geo)).squeeze(-1)

    def probability(self, pooled: torch.Tensor, geo: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid((self(pooled, geo) - self.base.center) / self.base.spread)


def save_crop_head(head: CropHead, path: Path, card: dict) -> None:
    """Write the crop head (without the score head it corrects) and its card, atomically."""
    state = {k: v for k, v in head.state_dict().items() if not k.startswith("base.")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": 1, "state_dict": state, "card": card}, tmp)
    tmp.replace(path)


def load_crop_head(path: Path, base: ScoreHead) -> CropHead:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    head = CropHead(base=base)
    missing, unexpected = head.load_state_dict(blob["state_dict"], strict=False)
    if unexpected or any(not k.startswith("base.") for k in missing):
        raise ValueError(f"{path} is not a crop head for this version")
    return head.eval()
