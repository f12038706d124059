"""The app's closed vocabularies, one enum each: what a photo was decided, what kind a group is, which view
the window shows, where the convnet runs.

Each is a `StrEnum` (Picard's `MainAction(str, Enum)`): a member is the very string the catalog, the settings
file and the JSON contract store (`Decision.KEEP == "keep"`, `json.dumps` and SQLite write "keep"), so values read
back as plain strings compare equal and nothing stored changes. A typo in a name fails on import, not as a silent
mismatch (the bare strings were compared in 13 files).
"""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    """A photo's flag; `None` is unflagged."""

    KEEP = "keep"  # a pick (P)
    REJECT = "reject"  # X


class GroupKind(StrEnum):
    """What a group of one moment is (core/culling/groups.py says how each is told)."""

    BURST = "burst"
    SIMILAR = "similar"
    BRACKET = "bracket"
    PANORAMA = "panorama"
    SINGLE = "single"


class ViewMode(StrEnum):
    """What the window shows in its middle: the grid, one photo large, photos side by side, the map."""

    GRID = "grid"
    LOUPE = "loupe"
    COMPARE = "compare"
    MAP = "map"


class Device(StrEnum):
    """Where the convnet runs, in the order `--device` lists them: auto is the GPU when there is one."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


DECISIONS: tuple[Decision | None, ...] = (Decision.KEEP, Decision.REJECT, None)
