"""Face detection in the CPU runtime: RetinaFace's network as an ONNX graph, and `faces.FaceDetector`'s pre- and
post-processing (BGR mean subtraction, anchors, softmax, box and landmark decoding, non-maximum suppression) in
numpy, step for step, so that the same faces come out (tests/test_runtime.py: IoU >= 0.95 on the bundled
photos, the same confidences to 1e-3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from selfie_desk.core.measures.face import Face, check_batch_sizes

# as selfie_desk/neural/faces.py (torch): the network's anchors and box coding
_MEAN_BGR = np.array([104.0, 117.0, 127.0], np.float32)
_STRIDES = (8, 16, 32)
_ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCE_CENTRE = 0.1
_VARIANCE_SIZE = 0.2
_PRE_NMS_TOP_K = 5000

Run = Callable[[np.ndarray], Sequence[np.ndarray]]  # network input -> (loc, logits, landmarks)


def anchors(height: int, width: int) -> np.ndarray:
    """Anchors (A, 4) as centre x, centre y, width, height in pixels, for an input of this size."""
    levels = []
    for stride, sizes in zip(_STRIDES, _ANCHOR_SIZES, strict=True):
        ny, nx = math.ceil(height / stride), math.ceil(width / stride)
        ys, xs = np.meshgrid(np.arange(ny, dtype=np.float32), np.arange(nx, dtype=np.float32), indexing="ij")
        centres = (np.stack([xs, ys], axis=-1).reshape(-1, 1, 2) + 0.5) * stride
        wh = np.array(sizes, np.float32).reshape(1, -1, 1)
        level = np.concatenate([np.broadcast_to(centres, (ny * nx, len(sizes), 2)),
                                np.broadcast_to(wh, (ny * nx, len(sizes), 2))], axis=-1)
        levels.append(level.reshape(-1, 4))
    return np.concatenate(levels).astype(np.float32)


def preprocess(batch: np.ndarray, sizes: Sequence[tuple[int, int]]) -> np.ndarray:
    """uint8 RGB N x H x W x 3 -> mean-subtracted BGR float N x 3 x H x W with every padded pixel 0 (what the
    convolutions' own zero padding sees at a real border: `FaceDetector._preprocess`)."""
    n, h, w, _ = batch.shape
    x = np.zeros((n, 3, h, w), np.float32)
    for i, (wi, hi) in enumerate(sizes):  # straight into place, channel by channel: one pass (4x fewer than numpy's
        for c in range(3):                # flip, cast, subtract, transpose)
            np.subtract(batch[i, :hi, :wi, 2 - c], _MEAN_BGR[c], out=x[i, c, :hi, :wi])
    return x


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """torchvision.ops.nms: indices kept, by descending score; a box is dropped when its IoU with a kept,
    higher-scoring one exceeds `iou`."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter) <= iou]
    return np.array(keep, dtype=np.int64)


class ArrayFaceDetector:
    """RetinaFace through `run` (the ONNX graph), the rest in numpy: `FaceDetector.detect`'s contract."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._anchors: dict[tuple[int, int], np.ndarray] = {}

    def detect(self, batch: np.ndarray, sizes: list[tuple[int, int]], threshold: float = 0.8,
               nms_iou: float = 0.4) -> list[list[Face]]:
        """Faces in each image of a uint8 RGB batch (N x H x W x 3), zero-padded at right and bottom; `sizes`
        each image's real (width, height). Sorted by confidence, highest first."""
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] != 3:
            raise ValueError(f"expected a uint8 array N x H x W x 3, got {batch.dtype} {batch.shape}")
        n, h, w, _ = batch.shape
        check_batch_sizes(sizes, n, w, h)
        if n == 0:
            return []
        loc, logits, landm = self.run(preprocess(batch, sizes))
        return self.postprocess(loc, logits, landm, (h, w), sizes, threshold, nms_iou)

    def postprocess(self, loc: np.ndarray, logits: np.ndarray, landm: np.ndarray, hw: tuple[int, int],
                    sizes: Sequence[tuple[int, int]], threshold: float, nms_iou: float) -> list[list[Face]]:
        key = hw
        a_all = self._anchors.get(key)
        if a_all is None:
            a_all = self._anchors.setdefault(key, anchors(*hw))
        if a_all.shape[0] != loc.shape[1]:
            raise RuntimeError(f"{loc.shape[1]} predictions for {a_all.shape[0]} anchors")
        # softmax's class-1 probability, as torch computes it (max-shifted, float32)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        scores = e[..., 1] / e.sum(axis=-1)
        top_k = min(_PRE_NMS_TOP_K, scores.shape[1])
        out: list[list[Face]] = []
        for i, (wi, hi) in enumerate(sizes):
            s = scores[i]
            idx = np.flatnonzero(s > threshold)
            if len(idx) > top_k:  # the best top_k only (torch.topk), which matters for very low thresholds
                idx = idx[np.argsort(-s[idx], kind="stable")[:top_k]]
            conf = s[idx]
            a = a_all[idx]
            d = loc[i, idx]
            centre = a[:, :2] + d[:, :2] * np.float32(_VARIANCE_CENTRE) * a[:, 2:]
            size = a[:, 2:] * np.exp(d[:, 2:] * np.float32(_VARIANCE_SIZE))
            points = a[:, None, :2] + landm[i, idx].reshape(-1, 5, 2) * np.float32(_VARIANCE_CENTRE) * a[:, None, 2:]
            inside = (centre < np.array([wi, hi], np.float32)).all(axis=1)
            conf, centre, size, points = conf[inside], centre[inside], size[inside], points[inside]
            boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
            keep = nms(boxes, conf, nms_iou)
            kept = np.minimum(np.maximum(boxes[keep], 0.0), np.array([wi, hi, wi, hi], np.float32))
            out.append([
                Face(box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])), confidence=float(c),
                     landmarks=tuple((float(p[k, 0]), float(p[k, 1])) for k in range(5)))
                for b, c, p in zip(kept, conf[keep], points[keep], strict=True)
            ])
        return out
