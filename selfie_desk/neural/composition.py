"""The composition head: how people would frame a photo, learned from the crops people drew.

The photo score (content + quality) knows nothing of composition: ranked by it, the crop search proposed tight
close-ups of detail (mean IoU 0.24 with the crops people drew on FCDB's test split, where keeping the whole
photo scores 0.64; issue 26). This head scores every candidate box of one photo from the feature maps the crop
search's backbone pass already makes (GAIC's design, Zeng et al. 2019, on a frozen MobileNetV2): the photo
squashed to a 448-px square, the stride-16 map (block 13, 96 channels) and the stride-32 map (block 17, 320
channels) each reduced by a 1 x 1 convolution and summed into one small map; per box, RoIAlign of the map
inside the box (what is kept) and the whole map's grid with the box's cells zeroed (RoDAlign: what is cut
away), and the box's geometry; two linear layers give one number, higher for a frame people would choose.

It is a plain nn.Module with tensors in and out (torchvision's roi_align is an ONNX op), small enough to score
thousands of boxes per photo on one CPU core. What it was trained on and how well it does: models/README.md and
docs/cropping.md (`tools/train_crop.py` rebuilds it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from selfie_desk.core import weights
from selfie_desk.core.measures.embedding import BACKBONE_FILE
from selfie_desk.neural.model import Backbone

CROP_HEAD_FILE = "crop_head.pt"
CROP_HEAD_FORMAT = 1
SIDE = 448  # the crop search's first pyramid level: the photo squashed to this square
FINE_TAP, COARSE_TAP = 13, 17  # MobileNetV2 blocks whose outputs the head reads (stride 16 and 32)
FINE_CHANNELS, COARSE_CHANNELS = 96, 320
GEOMETRY = 11  # numbers describing a box's place and shape (`geometry`)


def geometry(boxes: torch.Tensor, aspect: torch.Tensor) -> torch.Tensor:
    """Per box (N x 4, x0 y0 x1 y1 as shares of the photo's width and height) and its photo's width/height:
    its edges, centre, size, log area, log aspect ratio and the photo's (N x GEOMETRY)."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    w, h = (x1 - x0).clamp(min=1e-4), (y1 - y0).clamp(min=1e-4)
    log_photo = torch.log(aspect).expand_as(w)  # one value for all boxes, or one per box
    return torch.stack([x0, y0, 1 - x1, 1 - y1, (x0 + x1) / 2 - 0.5, (y0 + y1) / 2 - 0.5, w, h,
                        torch.log(w * h), torch.log(w / h) + log_photo, log_photo], dim=-1)


class CompositionHead(nn.Module):
    """Feature maps of one photo (1 x 96 x h16 x w16, 1 x 320 x h32 x w32), its boxes (N x 4, shares of the
    photo) and its width/height ratio (a 1-element tensor) -> one composition score per box (N)."""

    def __init__(self, channels: int = 8, roi: int = 5, rod: int = 7, hidden: int = 128,
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.sizes = {"channels": channels, "roi": roi, "rod": rod, "hidden": hidden}
        self.roi, self.rod = roi, rod
        self.fine = nn.Conv2d(FINE_CHANNELS, channels, 1)
        self.coarse = nn.Conv2d(COARSE_CHANNELS, channels, 1)
        self.fc = nn.Sequential(  # the first layer is applied by `score` (its weights, in three parts)
            nn.Linear(channels * (roi * roi + rod * rod) + GEOMETRY, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def feature_map(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """The reduced map the boxes are aligned on (1 x channels x h16 x w16): once per photo."""
        up = F.interpolate(self.coarse(coarse.float()), size=fine.shape[-2:], mode="bilinear", align_corners=False)
        return F.relu(self.fine(fine.float()) + up)

    def score(self, fmap: torch.Tensor, boxes: torch.Tensor, aspect: torch.Tensor,
              index: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of boxes (N x 4, shares of the photo) on reduced maps (B x channels x h x w, B photos of
        width/height `aspect`, B values); `index` (N) says whose photo each box is (default: the first).

        The first layer reads the box's RoIAlign grid, the whole map's grid with the cells inside the box zeroed
        (RoDAlign) and the geometry. The RoD part is computed without building each box's masked grid: the
        layer's weights times the whole grid are one (rod^2 x hidden) matrix per photo, and each box only adds
        the rows of the cells it cuts away (exact; 5,000 boxes' masked grids cost more than the RoIAlign)."""
        from torchvision.ops import roi_align

        b, c, h, w = fmap.shape
        n = boxes.shape[0]
        boxes = boxes.to(fmap.dtype)
        if index is None:
            index = torch.zeros(n, dtype=torch.long, device=fmap.device)
        scale = torch.tensor([w, h, w, h], dtype=fmap.dtype, device=fmap.device)
        rois = torch.cat([index[:, None].to(fmap.dtype), boxes * scale], 1)
        inner = roi_align(fmap, rois, (self.roi, self.roi), spatial_scale=1.0, sampling_ratio=2, aligned=True)
        whole_rois = torch.tensor([[float(k), 0.0, 0.0, float(w), float(h)] for k in range(b)], dtype=fmap.dtype,
                                  device=fmap.device)
        whole = roi_align(fmap, whole_rois, (self.rod, self.rod), spatial_scale=1.0, sampling_ratio=2, aligned=True)
        centres = (torch.arange(self.rod, dtype=fmap.dtype, device=fmap.device) + 0.5) / self.rod
        out_x = (centres[None, :] < boxes[:, 0:1]) | (centres[None, :] > boxes[:, 2:3])  # N x rod
        out_y = (centres[None, :] < boxes[:, 1:2]) | (centres[None, :] > boxes[:, 3:4])
        outside = (out_y[:, :, None] | out_x[:, None, :]).to(fmap.dtype).flatten(1)  # N x rod^2: cut away
        first = self.fc[0]
        assert isinstance(first, nn.Linear)
        n_roi, n_rod = c * self.roi * self.roi, c * self.rod * self.rod
        w_roi, w_rod, w_geo = first.weight.split([n_roi, n_rod, GEOMETRY], dim=1)
        # per photo, each cell's contribution to the hidden layer when it is cut away: B x rod^2 x hidden
        cells = torch.einsum("hcr,bcr->brh", w_rod.reshape(-1, c, self.rod * self.rod),
                             whole.reshape(b, c, self.rod * self.rod))
        if b == 1:
            cut = outside @ cells[0]
        else:
            cut = torch.einsum("nr,nrh->nh", outside, cells[index])
        hidden = inner.flatten(1) @ w_roi.T + cut + geometry(boxes, aspect.reshape(-1)[index]) @ w_geo.T + first.bias
        return self.fc[1:](hidden).squeeze(-1)

    def forward(self, fine: torch.Tensor, coarse: torch.Tensor, boxes: torch.Tensor,
                aspect: torch.Tensor) -> torch.Tensor:
        return self.score(self.feature_map(fine, coarse), boxes, aspect)


def tapped_forward(backbone: Backbone, images: torch.Tensor, last: bool = True
                   ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """One pass of the crop search's backbone (`model.Backbone`: its `features`, `mean`, `std`) on uint8
    N x 3 x H x W: the last feature map (1280 channels, what the score head pools; None without `last`, which
    saves the final 1 x 1 convolution, ~15 % of the pass) and the two maps this head reads (FINE_TAP,
    COARSE_TAP), from the same pass."""
    x = ((images.float() - backbone.mean) / backbone.std).contiguous(memory_format=torch.channels_last)
    fine = coarse = x
    for i, layer in enumerate(backbone.features):
        if i > COARSE_TAP and not last:
            return None, fine, coarse
        x = layer(x)
        if i == FINE_TAP:
            fine = x
        elif i == COARSE_TAP:
            coarse = x
    return x, fine, coarse


@dataclass(frozen=True)
class CompositionModel:
    head: CompositionHead
    card: dict
    id: str  # a digest of the file: which version of the head made a proposal

    def to(self, device: torch.device) -> CompositionModel:
        self.head.to(device)
        return self

    @torch.inference_mode()
    def scores(self, fmap: torch.Tensor, boxes: np.ndarray, aspect: float) -> np.ndarray:
        """`CompositionHead.score` of boxes (N x 4 float32, shares of the photo) on one photo's reduced map,
        numpy in and out (what the crop search asks of either runtime's head)."""
        unit = torch.as_tensor(boxes, dtype=torch.float32, device=fmap.device)
        ratio = torch.tensor([aspect], dtype=torch.float32, device=fmap.device)
        return self.head.score(fmap, unit, ratio).float().cpu().numpy()


def save(head: CompositionHead, path: Path, card: dict) -> None:
    """Write the head with its model card, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CROP_HEAD_FORMAT, "sizes": head.sizes, "state_dict": head.state_dict(), "card": card}, tmp)
    tmp.replace(path)


def load(path: Path | None = None) -> CompositionModel:
    """The bundled composition head (or the one at `path`). A missing or damaged file raises
    weights.ModelMissingError naming it; one made for another backbone raises RuntimeError saying so."""
    path = weights.bundled_file(CROP_HEAD_FILE) if path is None else path
    data = path.read_bytes()
    import io

    blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    card = blob.get("card", {})
    if blob.get("format") != CROP_HEAD_FORMAT or card.get("backbone") != BACKBONE_FILE:
        raise RuntimeError(f"{path.name} was made for another backbone or format; rebuild it with tools/train_crop.py")
    head = CompositionHead(**blob["sizes"])
    head.load_state_dict(blob["state_dict"])
    return CompositionModel(head.eval(), card, f"crop:{hashlib.sha256(data).hexdigest()[:16]}")
