"""The folder as a map (issue 20, the essay's closing picture): every photo placed in 2-D by its stored
embedding, so that similar photos sit together, then snapped to a grid so that no two thumbnails overlap.

Three steps, each a plain function on numpy arrays:

- `features`: the pooled last layer of each stored embedding (the part grouping also reads), L2-normalised
  and reduced to at most 50 dimensions by PCA, as t-SNE is usually fed.
- `project`: t-SNE (scikit-learn's Barnes-Hut, PCA-initialised, a fixed seed: the same folder gives the same
  map). It can start from a previous layout (`init`), which is how a grown folder is laid out again without
  its map being turned inside out.
- `snap_to_grid`: each point to a cell of a grid with a few spare cells, no two in one cell. Exact (a linear
  assignment minimising the squared moves) up to `EXACT_MAX` points; above, greedy: points in order of how
  crowded their own cell is, each to the nearest free cell (a k-d tree query), which is linear-ish and keeps
  the picture within a cell or two of the exact one (docs/benchmarks.md has both at 10,000).

`layout_for` puts them together with the catalog's cache (`catalog.map_layout`): a folder opened again reads
its map back (ids, points and cells of the last layout); photos added since are placed among their nearest
laid-out neighbours in embedding space and given the nearest free cells, without moving anyone else; when the
folder has grown by more than `RELAYOUT_GROWTH`, t-SNE runs again from the old points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from selfie_desk.core.measures.embedding import EMBEDDING_DIM

# The layout's recipe: a cached map made by another one is laid out again.
METHOD = "tsne-pca50-1"
PCA_DIM = 50
EXACT_MAX = 1000  # up to this many points the snap is a linear assignment (docs/benchmarks.md has its cost)
LANDMARKS = 1000  # t-SNE lays out at most this many photos; the others are placed among them
TSNE_ITERATIONS = 500
SPARE = 1.15  # cells per photo: a little room, so clusters keep some of their shape
RELAYOUT_GROWTH = 0.3  # new photos beyond this share of the laid-out ones: run t-SNE again from the old map
NEIGHBOURS = 5  # laid-out photos a new one is placed among

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True)
class MapLayout:
    """A folder's map: for each photo id, its point (t-SNE, scaled into [0, 1] x [0, 1]) and its grid cell."""

    ids: tuple[int, ...]
    points: Floats  # (n, 2)
    cells: Ints  # (n, 2): column, row
    cols: int
    rows: int
    embedding_id: str = ""
    method: str = METHOD

    def __len__(self) -> int:
        return len(self.ids)

    def cell_of(self) -> dict[int, tuple[int, int]]:
        return dict(zip(self.ids, map(tuple, self.cells.tolist()), strict=True))

    def restricted(self, keep: Sequence[int]) -> MapLayout:
        """The same map with only `keep`'s photos (the others' cells left empty: nobody moves)."""
        wanted = set(keep)
        index = [i for i, pid in enumerate(self.ids) if pid in wanted]
        return MapLayout(tuple(self.ids[i] for i in index), self.points[index], self.cells[index], self.cols,
                         self.rows, self.embedding_id, self.method)


@dataclass(frozen=True)
class LayoutReport:
    """How `layout_for` got its map, for the status bar and the benchmarks."""

    layout: MapLayout
    how: str  # "cache" | "added" (new photos placed among the old) | "tsne" | "relayout" (t-SNE from the old map)
    added: int = 0
    seconds: float = 0.0


# ---- the three steps ------------------------------------------------------------------------------------------
def features(vectors: npt.NDArray[Any], dim: int = PCA_DIM, seed: int = 0) -> Floats:
    """The pooled last layer, unit length, reduced to `dim` dimensions by a randomised PCA (Halko et al.: two
    power iterations; a full SVD of 10,000 x 1280 costs ten times as much here for the same map)."""
    x = np.asarray(vectors, dtype=np.float32)[:, :EMBEDDING_DIM]
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)
    x = x - x.mean(axis=0, keepdims=True)
    n, d = x.shape
    k = max(1, min(dim, n - 1, d))
    if n < 2:
        return np.zeros((n, k), dtype=np.float32)
    probe = np.random.default_rng(seed).standard_normal((d, min(k + 10, d))).astype(np.float32)
    q, _ = np.linalg.qr(x @ probe)
    for _ in range(2):
        q, _ = np.linalg.qr(x @ (x.T @ q))
    u, s, _vt = np.linalg.svd(q.T @ x, full_matrices=False)
    reduced: Floats = ((q @ u[:, :k]) * s[:k]).astype(np.float32)
    return reduced


def project(feats: Floats, seed: int = 0, init: Floats | None = None, landmarks: int = LANDMARKS) -> Floats:
    """2-D positions by t-SNE, scaled into the unit square. `init`: starting points (a previous map's).

    Above `landmarks` photos, t-SNE lays out that many chosen at random (seeded) and every other photo is
    placed among its nearest landmarks (`place_among`): 10,000 photos cost the t-SNE of 1,000 plus a matrix
    product, where scikit-learn's t-SNE of all 10,000 takes over a minute here. The grid has one cell per photo
    anyway, so what is lost is order finer than a cell."""
    n = feats.shape[0]
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n > landmarks:
        chosen = np.sort(np.random.default_rng(seed).choice(n, landmarks, replace=False))
        rest = np.setdiff1d(np.arange(n), chosen)
        out = np.zeros((n, 2), dtype=np.float32)
        out[chosen] = project(feats[chosen], seed, None if init is None else init[chosen], landmarks)
        out[rest] = place_among(feats[chosen], out[chosen], feats[rest])
        return _unit(out)
    if n < 4:  # t-SNE needs a few neighbours: a short row is the map of two or three photos
        return _unit(np.stack([np.arange(n, dtype=np.float32), np.zeros(n, dtype=np.float32)], axis=1))
    from sklearn.manifold import TSNE  # scikit-learn loads only when a map is made

    perplexity = float(min(30.0, max(2.0, n / 6)))
    start: Floats | str = "pca"
    if init is not None:  # the previous map, spread as t-SNE's PCA start is (std 1e-4): it behaves the same
        centred = np.asarray(init, dtype=np.float32) - np.asarray(init, dtype=np.float32).mean(axis=0)
        start = (centred / max(float(centred[:, 0].std()), 1e-9) * 1e-4).astype(np.float32)
    # n_jobs=1 and one OpenMP thread (layout_for): on two busy cores a second thread mostly spins
    tsne = TSNE(n_components=2, perplexity=perplexity, init=start, learning_rate="auto", max_iter=TSNE_ITERATIONS,
                random_state=seed, n_jobs=1, method="barnes_hut", angle=0.6)
    placed: Floats = np.asarray(tsne.fit_transform(feats), dtype=np.float32)
    return _unit(placed)


def _unit(points: Floats) -> Floats:
    """Scaled into [0, 1] x [0, 1] keeping the aspect (centred on the shorter side)."""
    if points.shape[0] == 0:
        return points.astype(np.float32)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = float(max((hi - lo).max(), 1e-9))
    out: Floats = ((points - lo) / span + (1 - (hi - lo) / span) / 2).astype(np.float32)
    return out


def grid_shape(n: int, aspect: float = 1.0, spare: float = SPARE) -> tuple[int, int]:
    """Columns and rows for `n` photos on a grid of about `aspect` (width / height), with `spare` room."""
    if n <= 0:
        return 1, 1
    cells = n * spare
    cols = max(1, round(math.sqrt(cells * aspect)))
    rows = max(1, math.ceil(cells / cols))
    while cols * rows < n:
        rows += 1
    return cols, rows


def snap_to_grid(points: Floats, cols: int, rows: int, taken: Ints | None = None) -> Ints:
    """A distinct cell (column, row) for each point of the unit square, near where the point lies.

    Up to EXACT_MAX points: the linear assignment that minimises the sum of squared moves. Above: a balanced
    recursive split (each region's points cut at the median of its longer side, in proportion to the cells on
    each side), O(n log^2 n) and 0.1 s at 10,000. `taken`: cells already occupied (an incremental add keeps the
    old photos where they are): then each point, least crowded first, goes to the nearest free cell."""
    n = points.shape[0]
    if n == 0:
        return np.zeros((0, 2), dtype=np.int32)
    occupied = np.zeros((rows, cols), dtype=bool)
    if taken is not None and len(taken):
        occupied[taken[:, 1], taken[:, 0]] = True
    if n > int((~occupied).sum()):
        raise ValueError(f"{n} points do not fit in the {int((~occupied).sum())} free cells")
    target = np.stack([points[:, 0] * cols - 0.5, points[:, 1] * rows - 0.5], axis=1).astype(np.float64)
    if taken is not None and len(taken):
        return greedy_snap(target, occupied)
    if n <= EXACT_MAX:
        from scipy.optimize import linear_sum_assignment

        free = np.argwhere(~occupied)[:, ::-1].astype(np.float64)  # (column, row) of each cell
        cost = ((target[:, None, :] - free[None, :, :]) ** 2).sum(axis=2)
        picked, cells = linear_sum_assignment(cost)
        out = np.zeros((n, 2), dtype=np.int32)
        out[picked] = free[cells].astype(np.int32)
        return out
    out = np.zeros((n, 2), dtype=np.int32)
    _split(target, np.arange(n), 0, 0, cols, rows, out)
    return out


def _split(target: npt.NDArray[np.float64], index: npt.NDArray[np.int64], c0: int, r0: int, cols: int, rows: int,
           out: Ints) -> None:
    """Points `index` into the cols x rows cells at (c0, r0): cut the longer side in two, the points by their
    coordinate along it, each half as many as its share of the cells (spare cells spread evenly)."""
    k = index.shape[0]
    if k == 0:
        return
    if cols * rows == 1 or k == 1:
        if cols * rows == 1:
            out[index[0]] = (c0, r0)
            return
        # one point in a larger region: its nearest cell of the region
        c = int(np.clip(round(target[index[0], 0]), c0, c0 + cols - 1))
        r = int(np.clip(round(target[index[0], 1]), r0, r0 + rows - 1))
        out[index[0]] = (c, r)
        return
    axis = 0 if cols >= rows else 1
    length = cols if axis == 0 else rows
    first = length // 2
    cap_a = first * (rows if axis == 0 else cols)
    cap_b = (length - first) * (rows if axis == 0 else cols)
    take = int(round(k * cap_a / (cap_a + cap_b)))
    take = min(max(take, k - cap_b), cap_a)
    order = index[np.argsort(target[index, axis], kind="stable")]
    a, b = order[:take], order[take:]
    if axis == 0:
        _split(target, a, c0, r0, first, rows, out)
        _split(target, b, c0 + first, r0, cols - first, rows, out)
    else:
        _split(target, a, c0, r0, cols, first, out)
        _split(target, b, c0, r0 + first, cols, rows - first, out)


def greedy_snap(target: npt.NDArray[np.float64], occupied: npt.NDArray[np.bool_]) -> Ints:
    """Each point to the nearest free cell, the least crowded first (a point alone near its cell gets it; a crowd
    spreads outwards)."""
    from scipy.spatial import cKDTree

    n = target.shape[0]
    rows, cols = occupied.shape
    free = np.argwhere(~occupied)[:, ::-1].astype(np.float64)
    ideal = np.clip(np.rint(target), 0, [cols - 1, rows - 1]).astype(np.int64)
    flat = ideal[:, 1] * cols + ideal[:, 0]
    crowd = np.bincount(flat, minlength=rows * cols)[flat]
    order = np.lexsort((((target - ideal) ** 2).sum(axis=1), crowd))
    tree = cKDTree(free)
    used = np.zeros(free.shape[0], dtype=bool)
    out = np.zeros((n, 2), dtype=np.int32)
    for i in order:
        kk = min(8, free.shape[0])
        while True:
            _, near = tree.query(target[i], k=kk)
            options = [int(j) for j in np.atleast_1d(near) if not used[int(j)]]
            if options or kk >= free.shape[0]:
                break
            kk = min(kk * 4, free.shape[0])
        j = options[0]
        used[j] = True
        out[i] = free[j].astype(np.int32)
    return out


def outline(cells: dict[int, tuple[int, int]], groups: Sequence[Sequence[int]]
            ) -> list[tuple[int, int, int, int]]:
    """The outline of each group on the grid: the edges (x0, y0, x1, y1, in cells) of its members' cells that
    do not touch another member's."""
    lines = []
    for members in groups:
        mine = {cells[pid] for pid in members if pid in cells}
        if len(mine) < 2:
            continue
        for c, r in mine:
            if (c, r - 1) not in mine:
                lines.append((c, r, c + 1, r))
            if (c, r + 1) not in mine:
                lines.append((c, r + 1, c + 1, r + 1))
            if (c - 1, r) not in mine:
                lines.append((c, r, c, r + 1))
            if (c + 1, r) not in mine:
                lines.append((c + 1, r, c + 1, r + 1))
    return lines


def place_among(old_feats: Floats, old_points: Floats, new_feats: Floats, k: int = NEIGHBOURS) -> Floats:
    """Points for new photos: the mean of their `k` nearest laid-out photos' points (cosine in feature space),
    weighted by similarity, so a new photo of a known scene lands in that scene."""
    if new_feats.shape[0] == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if old_feats.shape[0] == 0:
        return np.full((new_feats.shape[0], 2), 0.5, dtype=np.float32)
    a = old_feats / np.maximum(np.linalg.norm(old_feats, axis=1, keepdims=True), 1e-6)
    b = new_feats / np.maximum(np.linalg.norm(new_feats, axis=1, keepdims=True), 1e-6)
    sim = b @ a.T
    k = min(k, a.shape[0])
    nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    weights = np.maximum(np.take_along_axis(sim, nearest, axis=1), 0) + 1e-3
    pts: Floats = ((old_points[nearest] * weights[..., None]).sum(axis=1)
                   / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    return pts


# ---- with the catalog -----------------------------------------------------------------------------------------
def layout_points(ids: Sequence[int], vectors: npt.NDArray[Any], seed: int = 0,
                  init: Floats | None = None) -> MapLayout:
    """A fresh map of `ids` (their stored embeddings in `vectors`, one row each)."""
    feats = features(vectors)
    points = project(feats, seed=seed, init=init)
    cols, rows = grid_shape(len(ids))
    cells = snap_to_grid(points, cols, rows)
    return MapLayout(tuple(int(i) for i in ids), points, cells, cols, rows)


def layout_for(catalog: Any, folder: str, photo_ids: Sequence[int], clock: Callable[[], float] | None = None,
               seed: int = 0) -> LayoutReport:
    """The map of `photo_ids` (a folder's photos), from the catalog's cache when it holds one for this folder,
    embedding layout and method; photos added since are placed in it, gone ones left out, and the result is
    stored back. Photos without an embedding (not scored yet, unreadable) are not on the map."""
    import time

    import sklearn.manifold  # noqa: F401  loaded before the limit: threadpoolctl limits only what is loaded
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    tick = clock or time.perf_counter
    t0 = tick()
    # One BLAS/OpenMP thread: on two cores shared with the window and a scan, a second one mostly spins (t-SNE's
    # gradient, whose threads scikit-learn sets from OpenMP and not n_jobs, ran ten times slower; benchmarks.md).
    with threadpool_limits(limits=1):
        how, layout, added, embedding_id = _layout(catalog, folder, photo_ids, seed)
    if how != "cache" and len(layout) and not getattr(catalog, "readonly", False):
        catalog.save_map_layout(folder, layout)
    return LayoutReport(layout, how, added, tick() - t0)


def _layout(catalog: Any, folder: str, photo_ids: Sequence[int], seed: int) -> tuple[str, MapLayout, int, str]:
    layouts = catalog.embedding_layouts(list(photo_ids))
    by_layout: dict[str, list[int]] = {}
    for pid in photo_ids:
        if pid in layouts:
            by_layout.setdefault(str(layouts[pid]), []).append(pid)
    if not by_layout:
        return "tsne", MapLayout((), np.zeros((0, 2), np.float32), np.zeros((0, 2), np.int32), 1, 1), 0, ""
    # one map per embedding layout: the most common one (photos of an older layout join after a rescan)
    embedding_id = max(by_layout, key=lambda e: len(by_layout[e]))
    ids = by_layout[embedding_id]
    cached = catalog.map_layout(folder, embedding_id)
    if cached is not None and cached.method == METHOD:
        present = set(ids)
        old = cached.restricted([pid for pid in cached.ids if pid in present])
        known = set(old.ids)
        new_ids = [pid for pid in ids if pid not in known]
        if not new_ids:
            how, layout, added = "cache", old, 0
        else:
            vectors = _vectors(catalog, list(old.ids) + new_ids)
            if len(new_ids) <= RELAYOUT_GROWTH * len(old) and len(old) >= 4:
                how, layout, added = "added", _add(old, new_ids, vectors), len(new_ids)
            else:  # grown a lot: t-SNE again, from the old map (the new photos among their neighbours in it)
                feats = features(vectors)
                init = np.concatenate([old.points, place_among(feats[: len(old)], old.points, feats[len(old):])])
                layout = layout_points(list(old.ids) + new_ids, vectors, seed=seed, init=init)
                how, added = "relayout", len(new_ids)
    else:
        how, layout, added = "tsne", layout_points(ids, _vectors(catalog, ids), seed=seed), len(ids)
    layout = MapLayout(layout.ids, layout.points, layout.cells, layout.cols, layout.rows, embedding_id, METHOD)
    return how, layout, added, embedding_id


def _vectors(catalog: Any, ids: Sequence[int]) -> npt.NDArray[np.float32]:
    stored = catalog.embeddings(list(ids))
    return np.stack([stored[pid][0][:EMBEDDING_DIM] for pid in ids])


def _add(old: MapLayout, new_ids: list[int], vectors: npt.NDArray[np.float32]) -> MapLayout:
    """`old` with `new_ids` placed among their nearest neighbours and given the nearest free cells; the old photos
    stay where they are. The grid grows (rows at the bottom) when it has no room."""
    feats = features(vectors)
    points = place_among(feats[: len(old)], old.points, feats[len(old):])
    n = len(old) + len(new_ids)
    cols, rows = old.cols, old.rows
    while cols * rows < n:
        rows += 1
    scaled = points.copy()  # in the old grid's unit square: its cells keep their places on a taller grid
    scaled[:, 1] *= old.rows / rows
    cells = snap_to_grid(scaled, cols, rows, taken=old.cells)
    return MapLayout(old.ids + tuple(new_ids), np.concatenate([old.points, points]),
                     np.concatenate([old.cells, cells]).astype(np.int32), cols, rows)
