"""A photo's signature (a tiny grey thumbnail kept in the catalog) and the registration of two signatures: how far
one frame is shifted from the other and how well they agree where they overlap. Grouping reads it to tell a
panorama's frames (a large, mostly one-way shift, the overlap agreeing) from a burst's (no shift to speak of), and
to check frames whose embeddings are borderline alike (the same scene, people moved).

The scoring pass makes the signature from the view it already holds (no extra decode): SIGNATURE_EDGE pixels on the
long side, uint8, ~3 KB. Registration works on the signatures' gradients (a brightness ramp or a smooth sky agrees
with anything): first each frame's column (row) profile is correlated with the other's at every shift by FFT, all
pairs at once, then the strongest shift of each pair is checked in 2-D on the overlap. The finer check compares two
frames unshifted on their half-size gradients: one dot product per pair. Both linear in the number of pairs given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

SIGNATURE_EDGE = 64
MIN_OVERLAP = 0.15  # of the frame along the shift: less than this is too little to tell a pan by
PERPENDICULAR = 3  # pixels of drift across the pan searched in 2-D (a hand-held pan wanders)
# A 1-D peak is a pan's candidate when its correlation is this many standard errors above chance (Fisher's z times
# the square root of the overlap): a short overlap correlates highly by chance (0.87 over 11 columns of a burst
# frame against itself), so the raw correlation alone would send most unrelated pairs to the 2-D check.
MIN_Z = 3.0
# The exposure step's pixels (half-size signatures, 2 x 2 sums of 0-255): clipped white or black in both frames tells
# nothing of the step; a change of at most MOVED (two grey levels a pixel) is noise and JPEG, not a step.
CLIPPED_HIGH = 4 * 250
CLIPPED_LOW = 4 * 5
MOVED = 8.0
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
    exposure: float = 0.0  # log2 of b's mean luma over a's on the overlap: 0 at one exposure, +-1 an EV apart

    @property
    def along(self) -> float:
        """The shift along the pan's direction (the larger one)."""
        return max(abs(self.dx), abs(self.dy))

    @property
    def across(self) -> float:
        return min(abs(self.dx), abs(self.dy))


NO_SHIFT = Shift(0.0, 0.0, -1.0)


def _smooth(g: Float) -> Float:
    """A [1 4 6 4 1] / 16 binomial blur along the last two axes (about a 1 px Gaussian), edges repeated: gradients of
    a frame shaken by a fraction of a signature pixel then still agree (0.96 against 0.70 unblurred on a demo photo
    shaken 3 px). One image (h x w) or a stack of them (n x h x w)."""
    for axis in (-2, -1):
        g = np.moveaxis(g, axis, 0)
        e = np.concatenate([g[:1], g[:1], g, g[-1:], g[-1:]])
        g = (e[:-4] + 4 * e[1:-3] + 6 * e[2:-2] + 4 * e[3:-1] + e[4:]) * (1 / 16)
        g = np.moveaxis(g, 0, axis)
    return np.ascontiguousarray(g, np.float32)


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


def _z(ncc: Float, shifts: npt.NDArray[np.int64], n: int) -> Float:
    """How many standard errors above chance each correlation is: Fisher's z times sqrt(overlap - 3)."""
    length = np.maximum(n - np.abs(shifts) - 3, 1).astype(np.float32)
    z: Float = np.arctanh(np.clip(ncc, -0.999, 0.999)) * np.sqrt(length)
    return z


def _exposure(la: Float, lb: Float, dx: int, dy: int) -> float:
    """log2 of b's mean luma over a's where they overlap (as `_agreement` aligns them)."""
    h, w = la.shape
    hh, ww = h - abs(dy), w - abs(dx)
    ma = float(la[max(0, dy):max(0, dy) + hh, max(0, dx):max(0, dx) + ww].mean())
    mb = float(lb[max(0, -dy):max(0, -dy) + hh, max(0, -dx):max(0, -dx) + ww].mean())
    return float(np.log2(max(mb, 1.0) / max(ma, 1.0)))


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


def _drifts(pa: Float, pb: Float, reach: int) -> npt.NDArray[np.int64]:
    """For each row of two stacks of 1-D profiles of one overlap, the shift (within +-reach) at which they agree
    best (normalised cross-correlation)."""
    n = pa.shape[1]
    reach = min(reach, n - 3)
    if reach < 1:
        return np.zeros(len(pa), np.int64)
    scores = []
    for d in range(-reach, reach + 1):
        x, y = pa[:, max(0, d):n + min(0, d)], pb[:, max(0, -d):n + min(0, -d)]
        x = x - x.mean(axis=1, keepdims=True)
        y = y - y.mean(axis=1, keepdims=True)
        den = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
        scores.append(np.where(den > 0, (x * y).sum(axis=1) / np.maximum(den, 1e-12), -1.0))
    best: npt.NDArray[np.int64] = np.argmax(np.stack(scores, axis=1), axis=1) - reach
    return best


class Signatures:
    """The signatures of a set of photos, with what registration needs of each made once."""

    def __init__(self, sigs: Sequence[npt.NDArray[np.uint8] | None]) -> None:
        self.sigs = list(sigs)
        self.shape = [None if s is None else s.shape for s in self.sigs]
        self._grad: dict[int, tuple[Float, Float]] = {}
        self._smooth: dict[int, Float] = {}
        self._still: dict[int, Float] = {}
        self._half: dict[int, Float] = {}
        self._profiles: dict[tuple[int, int], Float] = {}

    def __len__(self) -> int:
        return len(self.sigs)

    def forget(self) -> None:
        """Drop what was made from the signatures (smoothed copies, gradients, profiles: ~50 KB a photo): grouping
        registers its pairs a slice at a time and calls this between slices, so that 50,000 photos in bursts do
        not hold 2.5 GB of them at once (issue 31)."""
        self._grad.clear()
        self._smooth.clear()
        self._still.clear()
        self._profiles.clear()

    def has(self, i: int) -> bool:
        return self.sigs[i] is not None

    def smooth(self, i: int) -> Float:
        g = self._smooth.get(i)
        if g is None:
            self._smooth_all([i])
            g = self._smooth[i]
        return g

    def _smooth_all(self, ids: Sequence[int]) -> None:
        """Smooth the signatures of `ids` (one shape) together: one call instead of one per photo."""
        todo = [i for i in dict.fromkeys(ids) if i not in self._smooth]
        if todo:
            made = _smooth(np.stack([self.sigs[i] for i in todo]).astype(np.float32))  # type: ignore[misc]
            for i, g in zip(todo, made, strict=True):
                self._smooth[i] = g

    def grad(self, i: int) -> tuple[Float, Float]:
        g = self._grad.get(i)
        if g is None:
            s = self.smooth(i)
            g = self._grad[i] = (np.diff(s, axis=1), np.diff(s, axis=0))
        return g

    def _across(self, ia: Sequence[int], ib: Sequence[int], shifts: Sequence[int], axis: int) -> list[tuple[int, int]]:
        """(dx, dy) for pans of `shifts` pixels along `axis` (0: x, 1: y), all of one signature shape, the drift
        across each found by correlating its overlap's profiles across (means of the smoothed signatures over the
        overlap, from running sums: all pairs at once)."""
        if not ia:
            return []
        self._smooth_all([*ia, *ib])
        la = np.stack([self._smooth[i] for i in ia])
        lb = np.stack([self._smooth[i] for i in ib])
        if axis == 1:  # a pan along y: the same as along x on the transposed signatures
            la, lb = la.transpose(0, 2, 1), lb.transpose(0, 2, 1)
        t, _h, w = la.shape
        s = np.asarray(shifts)
        ca = np.concatenate([np.zeros((t, la.shape[1], 1), np.float32), np.cumsum(la, axis=2)], axis=2)
        cb = np.concatenate([np.zeros((t, lb.shape[1], 1), np.float32), np.cumsum(lb, axis=2)], axis=2)
        rows = np.arange(t)
        a0, a1 = np.maximum(0, s), w + np.minimum(0, s)
        b0, b1 = np.maximum(0, -s), w + np.minimum(0, -s)
        pa = (ca[rows, :, a1] - ca[rows, :, a0]) / np.maximum(a1 - a0, 1)[:, None]
        pb = (cb[rows, :, b1] - cb[rows, :, b0]) / np.maximum(b1 - b0, 1)[:, None]
        drift = _drifts(np.diff(pa, axis=1), np.diff(pb, axis=1), PERPENDICULAR)
        if axis == 0:
            return [(int(x), int(d)) for x, d in zip(s, drift, strict=True)]
        return [(int(d), int(y)) for y, d in zip(s, drift, strict=True)]

    def _profiles_of(self, ids: Sequence[int], axis: int) -> Float:
        """What the 1-D search correlates, for `ids` (one signature shape), made together and kept: the derivative
        of the column means (axis 0: shifts along x) or of the row means (axis 1: along y)."""
        todo = [i for i in dict.fromkeys(ids) if (i, axis) not in self._profiles]
        if todo:  # both axes at once: the stack is the costly part
            stack = np.stack([self.sigs[i] for i in todo])  # type: ignore[misc]
            for ax in (0, 1):
                made = np.diff(stack.mean(axis=1 + ax, dtype=np.float32), axis=1).astype(np.float32)
                for i, row in zip(todo, made, strict=True):
                    self._profiles[(i, ax)] = row
        return np.stack([self._profiles[(i, axis)] for i in ids])

    def _still_vectors(self, ids: Sequence[int]) -> None:
        """For `ids` (one shape), made together and kept: the signature at half its size (2 x 2 sums), its gradients
        with zero mean and unit norm. Two frames' dot product is their agreement unshifted (a shake of a pixel of the
        signature is half a pixel here); a quarter of the pixels keeps it cheap."""
        todo = [i for i in dict.fromkeys(ids) if i not in self._still]
        if not todo:
            return
        g = np.stack([self.sigs[i] for i in todo]).astype(np.int16)  # type: ignore[misc]
        g = g[:, : g.shape[1] // 2 * 2, : g.shape[2] // 2 * 2]
        half = (g[:, 0::2, 0::2] + g[:, 1::2, 0::2] + g[:, 0::2, 1::2] + g[:, 1::2, 1::2]).astype(np.float32)
        v = np.concatenate([np.diff(half, axis=2).reshape(len(todo), -1), np.diff(half, axis=1).reshape(len(todo), -1)],
                           axis=1)
        v -= v.mean(axis=1, keepdims=True)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
        for i, row in zip(todo, v.astype(np.float32), strict=True):
            self._still[i] = row

    def still_agreement(self, a: Sequence[int], b: Sequence[int]) -> Float:
        """How well each pair agrees unshifted (normalised cross-correlation of the half-size gradients, -1 to 1): the
        finer check of frames a burst or similar link would join. -1 for a pair of different shapes or without a
        signature."""
        out = np.full(len(a), -1.0, np.float32)
        by_shape: dict[Any, list[int]] = {}
        for k, (i, j) in enumerate(zip(a, b, strict=True)):
            if self.shape[i] is not None and self.shape[i] == self.shape[j]:
                by_shape.setdefault(self.shape[i], []).append(k)
        for ks in by_shape.values():
            self._still_vectors([a[k] for k in ks] + [b[k] for k in ks])
            va = np.stack([self._still[a[k]] for k in ks])
            vb = np.stack([self._still[b[k]] for k in ks])
            out[ks] = np.einsum("ij,ij->i", va, vb)
        return out

    def _half_vectors(self, ids: Sequence[int]) -> None:
        """For `ids` (one shape), made together and kept: the signature at half its size (2 x 2 sums, 0-1020),
        flattened: what the exposure step compares pixel by pixel (a shake of a signature pixel is half one here)."""
        todo = [i for i in dict.fromkeys(ids) if i not in self._half]
        if not todo:
            return
        g = np.stack([self.sigs[i] for i in todo]).astype(np.int16)  # type: ignore[misc]
        g = g[:, : g.shape[1] // 2 * 2, : g.shape[2] // 2 * 2]
        half = (g[:, 0::2, 0::2] + g[:, 1::2, 0::2] + g[:, 0::2, 1::2] + g[:, 1::2, 1::2]).astype(np.float32)
        for i, row in zip(todo, half.reshape(len(todo), -1), strict=True):
            self._half[i] = row

    def exposure_steps(self, a: Sequence[int], b: Sequence[int]) -> tuple[Float, Float]:
        """Each pair's exposure step on the content itself: (log2 of b's mean luma over a's, and how consistently
        the pixels move that way: the share of the pixels that changed, clipped in neither frame, which changed
        in the step's direction). One scene at two exposures brightens or darkens everywhere (tripod brackets:
        0.95-1.0); two different pictures, or one scene with people moved, change both ways (about half).
        (0, 0) for a pair of different shapes or without a signature."""
        step = np.zeros(len(a), np.float32)
        agree = np.zeros(len(a), np.float32)
        by_shape: dict[Any, list[int]] = {}
        for k, (i, j) in enumerate(zip(a, b, strict=True)):
            if self.shape[i] is not None and self.shape[i] == self.shape[j]:
                by_shape.setdefault(self.shape[i], []).append(k)
        for ks in by_shape.values():
            self._half_vectors([a[k] for k in ks] + [b[k] for k in ks])
            va = np.stack([self._half[a[k]] for k in ks])
            vb = np.stack([self._half[b[k]] for k in ks])
            s = np.log2(np.maximum(vb.mean(axis=1), 4.0) / np.maximum(va.mean(axis=1), 4.0))
            d = vb - va
            unclipped = ~(((va >= CLIPPED_HIGH) & (vb >= CLIPPED_HIGH)) | ((va <= CLIPPED_LOW) & (vb <= CLIPPED_LOW)))
            moved = unclipped & (np.abs(d) > MOVED)
            same_way = moved & (np.sign(d) == np.sign(s)[:, None])
            n = moved.sum(axis=1)
            step[ks] = s
            agree[ks] = np.where(n >= 16, same_way.sum(axis=1) / np.maximum(n, 1), 0.0)
        return step, agree

    def register(self, a: Sequence[int], b: Sequence[int], lo: float, hi: float,
                 min_z: float = MIN_Z) -> list[Shift]:
        """Where each b[k] sits against a[k], a pan: searched among shifts from `lo` (> 0) to `hi` of the frame along
        either axis (the overlap kept >= MIN_OVERLAP). The strongest 1-D peak of either axis, if its profiles
        correlate `min_z` standard errors above chance and better than at any shift below `lo` on that axis (so a
        burst's frames are not checked), is checked in 2-D with the drift across found on the overlap. NO_SHIFT for a
        pair of different shapes, without a signature, or with no candidate."""
        out: list[Shift] = [NO_SHIFT] * len(a)
        by_shape: dict[Any, list[int]] = {}
        for k, (i, j) in enumerate(zip(a, b, strict=True)):
            if self.shape[i] is not None and self.shape[i] == self.shape[j]:
                by_shape.setdefault(self.shape[i], []).append(k)
        for shape, ks in by_shape.items():
            h, w = shape
            ia, ib = [a[k] for k in ks], [b[k] for k in ks]
            tries: list[list[tuple[int, int]]] = [[] for _ in ks]
            best_z = np.full(len(ks), -np.inf)  # a pan: the strongest 1-D peak of either axis, checked in 2-D
            best_at: dict[int, tuple[int, int]] = {}
            for axis, n in ((0, w), (1, h)):  # 0: along x (the column profiles), 1: along y
                n1 = n - 1  # profiles are derivatives
                reach = min(n1 - max(2, int(np.ceil(MIN_OVERLAP * n1))), int(np.floor(hi * n1)))
                if reach < 1:
                    continue
                ncc, shifts = _ncc_all_shifts(self._profiles_of(ia, axis), self._profiles_of(ib, axis), n1 - reach)
                z = _z(ncc, shifts, n1)
                near = np.abs(shifts) < lo * n1
                still = z[:, near].max(axis=1) if near.any() else np.full(len(ks), -np.inf, np.float32)
                z[:, near] = -np.inf
                pick = np.argmax(z, axis=1)
                peak = z[np.arange(len(ks)), pick]
                for r in np.flatnonzero(peak >= np.maximum(min_z, still)):
                    row = int(r)
                    if peak[row] > best_z[row]:
                        best_z[row], best_at[row] = peak[row], (int(shifts[pick[row]]), axis)
            for axis in (0, 1):
                rows = [row for row, (_s, ax) in best_at.items() if ax == axis]
                found = self._across([ia[r] for r in rows], [ib[r] for r in rows], [best_at[r][0] for r in rows], axis)
                for row, at in zip(rows, found, strict=True):
                    tries[row].append(at)
            self._smooth_all([i for row, i in enumerate(ia) if tries[row]]
                             + [i for row, i in enumerate(ib) if tries[row]])
            for row, found in enumerate(tries):
                if not found:
                    continue
                ga, gb = self.grad(ia[row]), self.grad(ib[row])
                best, at = NO_SHIFT, (0, 0)
                for dx, dy in dict.fromkeys(found):
                    agree = _agreement(ga, gb, dx, dy)
                    if agree > best.agreement:
                        best, at = Shift(dx / w, dy / h, agree), (dx, dy)
                if best is not NO_SHIFT:
                    best = replace(best, exposure=_exposure(self.smooth(ia[row]), self.smooth(ib[row]), *at))
                out[ks[row]] = best
        return out
