"""The geometry of a crop box edited by hand: moving it, dragging a corner or an edge, within the photo and
keeping the preset's ratio. Plain functions on (x0, y0, x1, y1) tuples in full-resolution pixels, so they
are tested without a window.

The presets, their ratios and whole-pixel rounding are the crop search's (selfie_desk.core.crop.geometry,
torch-free, so the window opens without torch).
"""

from __future__ import annotations

from selfie_desk.core.crop.geometry import Box

RATIO_LABELS = {"original": "Original ratio", "free": "Free", "1:1": "1:1 square", "4:5": "4:5 portrait",
                 "3:2": "3:2", "16:9": "16:9 wide", "9:16": "9:16 tall"}
MIN_EDGE = 16.0  # the smallest crop, full-resolution pixels (or the photo's edge, if smaller)

# Which box edges a handle moves: (left, top, right, bottom)
HANDLES: dict[str, tuple[bool, bool, bool, bool]] = {
    "tl": (True, True, False, False), "t": (False, True, False, False), "tr": (False, True, True, False),
    "r": (False, False, True, False), "br": (False, False, True, True), "b": (False, False, False, True),
    "bl": (True, False, False, True), "l": (True, False, False, False),
}


def clamp_move(box: Box, dx: float, dy: float, width: float, height: float) -> Box:
    """`box` moved by (dx, dy), stopped at the photo's edges (its size never changes)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    nx = max(0.0, min(width - w, x0 + dx))
    ny = max(0.0, min(height - h, y0 + dy))
    return (nx, ny, nx + w, ny + h)


def _min_edge(width: float, height: float) -> float:
    return min(MIN_EDGE, width, height)


def drag_handle(box: Box, handle: str, x: float, y: float, width: float, height: float,
                ratio: float | None) -> Box:
    """The box after the `handle` (tl, t, tr, r, br, b, bl, l) is dragged to the photo point (x, y).

    The opposite corner (or edge) stays put; with a `ratio`, the box keeps it, an edge handle growing the
    box about its middle on the other axis. The result always lies inside the photo."""
    if handle not in HANDLES:
        raise ValueError(f"unknown handle {handle!r}")
    left, top, right, bottom = HANDLES[handle]
    x0, y0, x1, y1 = box
    x = max(0.0, min(width, x))
    y = max(0.0, min(height, y))
    least = _min_edge(width, height)
    if ratio is None:
        if left:
            x0 = min(x, x1 - least)
        if right:
            x1 = max(x, x0 + least)
        if top:
            y0 = min(y, y1 - least)
        if bottom:
            y1 = max(y, y0 + least)
        return _inside((x0, y0, x1, y1), width, height)

    corner = (left or right) and (top or bottom)
    if corner:
        ax = x1 if left else x0  # the anchored corner
        ay = y1 if top else y0
        room_w = ax if left else width - ax
        room_h = ay if top else height - ay
        w = max(abs(x - ax), abs(y - ay) * ratio)  # follow whichever way the pointer pulls more
        w = min(w, room_w, room_h * ratio)
        w = max(w, least * max(1.0, ratio))
        w = min(w, room_w, room_h * ratio)  # a tiny photo: the room wins over the minimum
        h = w / ratio
        nx0, nx1 = (ax - w, ax) if left else (ax, ax + w)
        ny0, ny1 = (ay - h, ay) if top else (ay, ay + h)
        return (nx0, ny0, nx1, ny1)

    if left or right:  # a side edge: width from the pointer, height follows about the middle
        anchor = x1 if left else x0
        room = anchor if left else width - anchor
        w = min(abs(x - anchor), room, height * ratio)
        w = max(w, min(least * max(1.0, ratio), room, height * ratio))
        h = w / ratio
        cy = (y0 + y1) / 2
        ny0 = max(0.0, min(height - h, cy - h / 2))
        nx0, nx1 = (anchor - w, anchor) if left else (anchor, anchor + w)
        return (nx0, ny0, nx1, ny0 + h)
    anchor = y1 if top else y0  # a top or bottom edge
    room = anchor if top else height - anchor
    h = min(abs(y - anchor), room, width / ratio)
    h = max(h, min(least * max(1.0, 1 / ratio), room, width / ratio))
    w = h * ratio
    cx = (x0 + x1) / 2
    nx0 = max(0.0, min(width - w, cx - w / 2))
    ny0, ny1 = (anchor - h, anchor) if top else (anchor, anchor + h)
    return (nx0, ny0, nx0 + w, ny1)


def fit_ratio(box: Box, ratio: float | None, width: float, height: float) -> Box:
    """The largest box of `ratio` inside `box`, about its centre (a box from another preset, made to fit)."""
    box = _inside(box, width, height)
    if ratio is None:
        return box
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w / h > ratio:
        w = h * ratio
    else:
        h = w / ratio
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _inside(box: Box, width: float, height: float) -> Box:
    x0, y0, x1, y1 = box
    x0, x1 = max(0.0, min(x0, x1)), min(float(width), max(x0, x1))
    y0, y1 = max(0.0, min(y0, y1)), min(float(height), max(y0, y1))
    return (x0, y0, x1, y1)
