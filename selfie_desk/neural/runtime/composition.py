"""The crop search's composition head without torch: `composition.CompositionHead.score` in numpy, on the reduced
map the `composition` graph makes (MobileNetV2 to block 17 and the head's two 1 x 1 convolutions, in ONNX Runtime).

RoIAlign (torchvision's, aligned=True, 2 x 2 samples a bin) is separable: each sample's bilinear weights are a
product of a row weight and a column weight, and a bin averages its samples, so one box's R x R grid is
Wy (R x h) . map (h x w) . Wx^T (w x R), all boxes as two batched matrix products. The RoD part, the layers and
the geometry are the torch head's, written out (its docstring says why the cut-away cells are added per box).
tests/test_runtime.py checks the scores against torch's head on the demo photos' real candidate boxes, and the
best crop of every demo photo against torch's crop search.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from selfie_desk.core import weights
from selfie_desk.core.measures.embedding import BACKBONE_FILE
from selfie_desk.neural.runtime import graphs, statefile
from selfie_desk.neural.runtime.graphs import Session
from selfie_desk.neural.runtime.heads import one_blas_thread

CROP_HEAD_FILE = "crop_head.pt"  # composition.CROP_HEAD_FILE
CROP_HEAD_FORMAT = 1  # composition.CROP_HEAD_FORMAT
F32 = np.float32


def align_weights(start: np.ndarray, extent: np.ndarray, bins: int, length: int) -> np.ndarray:
    """Per box (start and extent along one axis, in map cells, RoIAlign's half-pixel offset applied), the weight
    of each of the `length` map cells in each of its `bins` bins: N x bins x length, torchvision's bilinear
    sampling (2 samples a bin along the axis, a sample beyond [-1, length] counting as zero, clamped at the
    edges) averaged over the bin's samples."""
    n = len(start)
    size = (extent / F32(bins)).astype(F32)
    pos = np.arange(bins, dtype=F32)[None, :, None] * size[:, None, None]
    at = (start[:, None, None] + pos + (np.array([0.5, 1.5], F32) * size[:, None, None] / F32(2))).astype(F32)
    valid = (at >= -1.0) & (at <= length)
    c = np.maximum(at, F32(0))
    low = np.floor(c).astype(np.int64)
    edge = low >= length - 1
    low = np.where(edge, length - 1, low)
    high = np.where(edge, length - 1, low + 1)
    c = np.where(edge, low.astype(F32), c)
    frac = (c - low).astype(F32)
    out = np.zeros((n, bins, length), F32)
    rows = np.arange(n)[:, None, None]
    cols = np.arange(bins)[None, :, None]
    rows, cols = np.broadcast_arrays(rows, cols, low)[:2]
    np.add.at(out, (rows, cols, low), np.where(valid, 1 - frac, 0) / F32(2))
    np.add.at(out, (rows, cols, high), np.where(valid, frac, 0) / F32(2))
    return out


def roi_align(fmap: np.ndarray, boxes: np.ndarray, bins: int) -> np.ndarray:
    """torchvision.ops.roi_align(fmap, boxes in map cells, (bins, bins), spatial_scale=1, sampling_ratio=2,
    aligned=True) on one map (C x h x w): N x C x bins x bins."""
    c, h, w = fmap.shape
    b = np.asarray(boxes, F32)
    x0, y0 = b[:, 0] - F32(0.5), b[:, 1] - F32(0.5)
    wy = align_weights(y0, (b[:, 3] - F32(0.5)) - y0, bins, h)  # N x bins x h
    wx = align_weights(x0, (b[:, 2] - F32(0.5)) - x0, bins, w)  # N x bins x w
    n = len(b)
    rows = (wy.reshape(n * bins, h) @ fmap.transpose(1, 0, 2).reshape(h, c * w)).reshape(n, bins, c, w)
    grid = rows @ wx.transpose(0, 2, 1)[:, None]  # N x bins(y) x C x bins(x)
    return grid.transpose(0, 2, 1, 3)


def geometry(boxes: np.ndarray, aspect: float) -> np.ndarray:
    """`composition.geometry` for one photo's boxes (N x 4, shares) and its width/height: N x 11."""
    x0, y0, x1, y1 = (boxes[:, k] for k in range(4))
    w, h = np.maximum(x1 - x0, F32(1e-4)), np.maximum(y1 - y0, F32(1e-4))
    log_photo = np.full_like(w, np.log(F32(aspect)))
    return np.stack([x0, y0, 1 - x1, 1 - y1, (x0 + x1) / 2 - F32(0.5), (y0 + y1) / 2 - F32(0.5), w, h,
                     np.log(w * h), np.log(w / h) + log_photo, log_photo], axis=-1).astype(F32)


class ArrayComposition:
    """The bundled composition head for the CPU runtime: `maps` (the graph) and `scores` (numpy), what the crop
    search asks of `composition.CompositionModel`. A missing or damaged file raises weights.ModelMissingError
    naming it; one made for another backbone or format raises RuntimeError saying so."""

    def __init__(self, threads: int = 1, path: Path | None = None) -> None:
        path = weights.bundled_file(CROP_HEAD_FILE) if path is None else path
        data = path.read_bytes()
        blob = statefile.load(data)
        self.card = blob.get("card", {})
        if blob.get("format") != CROP_HEAD_FORMAT or self.card.get("backbone") != BACKBONE_FILE:
            raise RuntimeError(f"{path.name} was made for another backbone or format; rebuild it with "
                               "tools/train_crop.py")
        self.id = f"crop:{hashlib.sha256(data).hexdigest()[:16]}"
        sizes = blob["sizes"]
        self.channels, self.roi, self.rod = int(sizes["channels"]), int(sizes["roi"]), int(sizes["rod"])
        state = {k: np.asarray(v, F32) for k, v in blob["state_dict"].items()}
        n_roi, n_rod = self.channels * self.roi**2, self.channels * self.rod**2
        self.w_roi, self.w_rod, self.w_geo = np.split(state["fc.0.weight"], [n_roi, n_roi + n_rod], axis=1)
        self.b1 = state["fc.0.bias"]
        self.w2, self.b2 = state["fc.3.weight"][0], state["fc.3.bias"][0]
        self.session = Session(graphs.COMPOSITION, threads)

    def to(self, device: object) -> ArrayComposition:
        return self  # the CPU's (the crop search asks a given head to move to its scorer's device)

    def maps(self, square: np.ndarray) -> np.ndarray:
        """One photo squashed to a square (uint8 S x S x 3) -> the head's reduced map, 1 x channels x S/16 x S/16."""
        return self.session.run(np.ascontiguousarray(square)[None])[0]

    def scores(self, fmap: np.ndarray, boxes: np.ndarray, aspect: float) -> np.ndarray:
        """Scores of boxes (N x 4 float32, shares of the photo) on one photo's reduced map (1 x channels x h x w)
        of width/height `aspect` (`composition.CompositionHead.score` with one photo)."""
        m = np.asarray(fmap, F32)[0]
        c, h, w = m.shape
        boxes = np.asarray(boxes, F32)
        cells = boxes * np.array([w, h, w, h], F32)
        with one_blas_thread():
            inner = roi_align(m, cells, self.roi).reshape(len(boxes), -1)
            whole = roi_align(m, np.array([[0, 0, w, h]], F32), self.rod).reshape(c, self.rod**2)
            # each cell's contribution to the hidden layer when it is cut away: rod^2 x hidden
            cut_rows = np.einsum("hcr,cr->rh", self.w_rod.reshape(-1, c, self.rod**2), whole)
            centres = (np.arange(self.rod, dtype=F32) + F32(0.5)) / F32(self.rod)
            out_x = (centres[None, :] < boxes[:, 0:1]) | (centres[None, :] > boxes[:, 2:3])
            out_y = (centres[None, :] < boxes[:, 1:2]) | (centres[None, :] > boxes[:, 3:4])
            outside = (out_y[:, :, None] | out_x[:, None, :]).astype(F32).reshape(len(boxes), -1)
            hidden = inner @ self.w_roi.T + outside @ cut_rows + geometry(boxes, aspect) @ self.w_geo.T + self.b1
            return (np.maximum(hidden, 0) @ self.w2 + self.b2).astype(F32)
