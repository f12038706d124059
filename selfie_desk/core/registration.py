"""A photo's signature (a tiny grey thumbnail kept in the catalog) and the registration of two signatures: how far
one frame is shifted from the other and how well they agree where they overlap. Grouping reads it to tell a
panorama's frames (a large, mostly one-way shift, the overlap agreeing) from a burst's (no shift to speak of), and
to check frames whose embeddings are borderline alike (the same scene, people moved).

The scoring pass makes the signature from the view it already holds (no extra decode): SIGNATURE_EDGE pixels on the
long side, uint8, ~3 KB. Registration works on the signatures' gradients (a brightness ramp or a smooth sky agrees
with anything): first each frame's column (row) profile is correlated with the other's at every shift by FFT, all
pairs at once, then the best shifts are checked in 2-D on the overlap. Linear in the number of pairs given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

SIGNATURE_EDGE = 64
MIN_OVERLAP = 0.15  # of the frame along the shift: less than this is too little to tell a pan by
PEAKS = 2  # the best 1-D shifts checked in 2-D per direction
PERPENDICULAR = 3  # pixels of drift across the pan searched in 2-D (a hand-held pan wanders)
Float = npt.NDArray[np.float32]


def signature(view: Image.Image) -> npt.NDArray[np.uint8]:
    """The photo's signature: its luma reduced to SIGNATURE_EDGE on the long side (upright, as the view is)."""
    w, h = view.size
    scale = SIGNATURE_EDGE / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey = view.convert("L").resize(size, Image.Resampling.BOX)
    return np.asarray(grey, np.uint8).copy()


@dataclass(frozen=True)
class Shift:
    """Where frame b sits against frame a, in fractions of the frame (b's content at a's x + dx * width), and
    how well the two agree on their overlap (normalised cross-correlation of the gradients, -1 to 1)."""

    dx: float
    dy: float
    agreement: float

    @property
    def along(self) -> float:
        """The shift along the pan's direction (the larger one)."""
        return max(abs(self.dx), abs(self.dy))

    @property
    def across(self) -> float:
        return min(abs(self.dx), abs(self.dy))


NO_SHIFT = Shift(0.0, 0.0, -1.0)


def _smooth(g: Float) -> Float:
    """A [1 2 1] / 4 binomial blur along both axes, twice (about a 1 px Gaussian): gradients of a frame shaken by a
    fraction of a signature pixel then still agree (0.96 against 0.70 unblurred on a demo photo shaken 3 px)."""
    for _ in range(2):
        p = np.pad(g, 1, mode="edge")
        g = 0.25 * p[:-2, 1:-1] + 0.5 * p[1:-1, 1:-1] + 0.25 * p[2:, 1:-1]
        p = np.pad(g, 1, mode="edge")
        g = 0.25 * p[1:-1, :-2] + 0.5 * p[1:-1, 1:-1] + 0.25 * p[1:-1, 2:]
    return g.astype(np.float32)


def _ncc_all_shifts(x: Float, y: Float, min_len: int) -> tuple[Float, npt.NDArray[np.int64]]:
    """Normalised cross-correlation of rows of x and y (P x n) at every shift s (x[j + s] against y[j]) whose
    overlap is at least min_len: (P x S ncc, the S shifts)."""
    p, n = x.shape
    size = 1 << int(np.ceil(np.log2(2 * n)))
    cross = np.fft.irfft(np.fft.rfft(x, size, axis=1) * np.conj(np.fft.rfft(y, size, axis=1)), size, axis=1)
    shifts = np.arange(-(n - min_len), n - min_len + 1)
    c = cross[:, shifts % size].astype(np.float32)
    z = np.zeros((p, 1), np.float32)
    sx, sy = np.concatenate([z, np.cumsum(x, 1)], 1), np.concatenate([z, np.cumsum(y, 1)], 1)
    qx, qy = np.concatenate([z, np.cumsum(x * x, 1)], 1), np.concatenate([z, np.cumsum(y * y, 1)], 1)
    pos = shifts >= 0
    x_lo, x_hi = np.where(pos, shifts, 0), np.where(pos, n, n + shifts)
    y_lo, y_hi = np.where(pos, 0, -shifts), np.where(pos, n - shifts, n)
    length = (n - np.abs(shifts)).astype(np.float32)
    ax, ay = sx[:, x_hi] - sx[:, x_lo], sy[:, y_hi] - sy[:, y_lo]
    vx = qx[:, x_hi] - qx[:, x_lo] - ax * ax / length
    vy = qy[:, y_hi] - qy[:, y_lo] - ay * ay / length
    with np.errstate(invalid="ignore", divide="ignore"):
        ncc = (c - ax * ay / length) / np.sqrt(np.maximum(vx, 0) * np.maximum(vy, 0))
    return np.nan_to_num(ncc, nan=-1.0, posinf=-1.0, neginf=-1.0).astype(np.float32), shifts


def _agreement(ga: tuple[Float, Float], gb: tuple[Float, Float], dx: int, dy: int) -> float:
    """NCC of both gradient images of a and b where they overlap with b's content at a's (x + dx, y + dy)."""
    num = va = vb = 0.0
    for a, b in zip(ga, gb, strict=True):
        h, w = a.shape
        hh, ww = h - abs(dy), w - abs(dx)
        if hh < 2 or ww < 2:
            return -1.0
        pa = a[max(0, dy):max(0, dy) + hh, max(0, dx):max(0, dx) + ww]
        pb = b[max(0, -dy):max(0, -dy) + hh, max(0, -dx):max(0, -dx) + ww]
        n = pa.size
        sa, sb = float(pa.sum()), float(pb.sum())
        num += float(np.einsum("ij,ij->", pa, pb)) - sa * sb / n
        va += float(np.einsum("ij,ij->", pa, pa)) - sa * sa / n
        vb += float(np.einsum("ij,ij->", pb, pb)) - sb * sb / n
    if va <= 0 or vb <= 0:
        return -1.0
    return num / float(np.sqrt(va * vb))


def _drift(pa: Float, pb: Float, reach: int) -> int:
    """The shift (within +-reach) at which two 1-D profiles of one overlap agree best."""
    reach = min(reach, len(pa) - 3)
    if reach < 1:
        return 0
    ncc, shifts = _ncc_all_shifts(pa[None].astype(np.float32), pb[None].astype(np.float32), len(pa) - reach)
    return int(shifts[int(np.argmax(ncc[0]))])


class Signatures:
    """The signatures of a set of photos, with what registration needs of each made once."""

    def __init__(self, sigs: Sequence[npt.NDArray[np.uint8] | None]) -> None:
        self.sigs = list(sigs)
        self.shape = [None if s is None else s.shape for s in self.sigs]
        self._grad: dict[int, tuple[Float, Float]] = {}
        self._smooth: dict[int, Float] = {}
        self._profiles: dict[tuple[int, int], Float] = {}

    def __len__(self) -> int:
        return len(self.sigs)

    def has(self, i: int) -> bool:
        return self.sigs[i] is not None

    def smooth(self, i: int) -> Float:
        g = self._smooth.get(i)
        if g is None:
            sig = self.sigs[i]
            assert sig is not None
            g = self._smooth[i] = _smooth(sig.astype(np.float32))
        return g

    def grad(self, i: int) -> tuple[Float, Float]:
        g = self._grad.get(i)
        if g is None:
            s = self.smooth(i)
            g = self._grad[i] = (np.diff(s, axis=1), np.diff(s, axis=0))
        return g

    def profile(self, i: int, axis: int) -> Float:
        """The derivative of the column (axis 1) or row (axis 0) means: what the 1-D search correlates."""
        got = self._profiles.get((i, axis))
        if got is None:
            sig = self.sigs[i]
            assert sig is not None
            got = self._profiles[(i, axis)] = np.diff(sig.astype(np.float32).mean(axis=1 - axis)).astype(np.float32)
        return got

    def _across(self, i: int, j: int, s: int, axis: int) -> tuple[int, int]:
        """(dx, dy) for a pan of s pixels along `axis` (0: x, 1: y), the drift across it found by correlating the
        overlap's profiles across."""
        la, lb = self.smooth(i), self.smooth(j)
        if axis == 0:
            w = la.shape[1]
            pa = la[:, max(0, s):w + min(0, s)].mean(axis=1)
            pb = lb[:, max(0, -s):w + min(0, -s)].mean(axis=1)
            return s, _drift(np.diff(pa), np.diff(pb), PERPENDICULAR)
        h = la.shape[0]
        pa = la[max(0, s):h + min(0, s)].mean(axis=0)
        pb = lb[max(0, -s):h + min(0, -s)].mean(axis=0)
        return _drift(np.diff(pa), np.diff(pb), PERPENDICULAR), s

    def register(self, a: Sequence[int], b: Sequence[int], lo: float, hi: float,
                 min_profile: float = 0.3) -> list[Shift]:
        """Where each b[k] sits against a[k], searched among shifts from `lo` to `hi` of the frame along either
        axis (the overlap kept >= MIN_OVERLAP). With lo > 0 (a pan): the PEAKS best 1-D shifts per direction whose
        profiles correlate at least `min_profile` are checked in 2-D with a little drift across; with lo == 0 (a
        still frame, a little shake): the best 1-D shift of each axis together, and its neighbours, in 2-D. A pan's
        candidate must also beat every shift below `lo` on the profiles, so a burst's frames are never checked.
        NO_SHIFT for a pair of different shapes, without a signature, or with no candidate."""
        out: list[Shift] = [NO_SHIFT] * len(a)
        by_shape: dict[Any, list[int]] = {}
        for k, (i, j) in enumerate(zip(a, b, strict=True)):
            if self.shape[i] is not None and self.shape[i] == self.shape[j]:
                by_shape.setdefault(self.shape[i], []).append(k)
        for shape, ks in by_shape.items():
            h, w = shape
            per_axis: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]] = []
            still = np.full(len(ks), -1.0, np.float32)  # the profiles' best agreement at a shift below `lo`
            for axis, n in ((1, w), (0, h)):
                n1 = n - 1  # profiles are derivatives
                reach = min(n1 - max(2, int(np.ceil(MIN_OVERLAP * n1))), int(np.floor(hi * n1)))
                if reach < 1:
                    per_axis.append((np.full((len(ks), 1), -1.0, np.float32), np.zeros(1, np.int64)))
                    continue
                x = np.stack([self.profile(a[k], axis) for k in ks])
                y = np.stack([self.profile(b[k], axis) for k in ks])
                ncc, shifts = _ncc_all_shifts(x, y, n1 - reach)
                near = np.abs(shifts) < lo * n1
                if near.any():
                    still = np.maximum(still, ncc[:, near].max(axis=1))
                    ncc[:, near] = -1.0
                per_axis.append((ncc, shifts))
            for row, k in enumerate(ks):
                ga, gb = self.grad(a[k]), self.grad(b[k])
                tries: list[tuple[int, int]] = []
                if lo > 0:
                    for axis, (ncc, shifts) in enumerate(per_axis):
                        for pick in np.argsort(-ncc[row])[:PEAKS]:
                            if ncc[row, pick] < max(min_profile, still[row]):
                                break  # too weak, or the frames agree better unshifted: not a pan
                            s = int(shifts[pick])
                            tries.append(self._across(a[k], b[k], s, axis))
                else:
                    sx = int(per_axis[0][1][np.argmax(per_axis[0][0][row])])
                    sy = int(per_axis[1][1][np.argmax(per_axis[1][0][row])])
                    tries = [(sx + i, sy + j) for i in (-1, 0, 1) for j in (-1, 0, 1)]
                best = NO_SHIFT
                for dx, dy in dict.fromkeys(tries):
                    agree = _agreement(ga, gb, dx, dy)
                    if agree > best.agreement:
                        best = Shift(dx / w, dy / h, agree)
                out[k] = best
        return out
