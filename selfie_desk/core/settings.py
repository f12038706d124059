"""The user's preferences and the app's memory between runs (recent folders), as versioned JSON.

The file carries a version; MIGRATIONS bring an older file up to date step by step, so what the user
chose survives upgrades. A file from a newer Selfie Desk is read as far as it is understood and never
written over, so going back to an older version does not destroy it.

Grouping's thresholds live here for the window and the command line alike (`selfie-desk groups` reads this file:
one set of thresholds, issue 28); only those the user chose are kept (None: the app's default), so a better default
reaches everyone who never changed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from selfie_desk.core import paths
from selfie_desk.core.crop.geometry import RATIOS as CROP_RATIOS
from selfie_desk.core.culling.groups import GroupingParams
from selfie_desk.core.files import clean_temp, write_atomic
from selfie_desk.core.vocabulary import Device

FILE_NAME = "settings.json"
DEVICES = tuple(d.value for d in Device)
SORTS = ("score", "date", "name", "crop", "uncertain")  # crop: best after crop (issue 4)
THEMES = ("dark", "light")  # as ui.theme.THEMES
THUMBNAIL_SIZES = (120, 320)  # smallest and largest edge of a grid thumbnail, pixels
MAX_RECENT = 10
GROUPING_LIMITS = {"burst_similarity": (0.5, 0.99), "burst_gap_s": (0.1, 60.0)}  # what the window lets one choose
_LEGACY_SETTINGS = re.compile(r"^\.settings-[A-Za-z0-9_]{8}\.tmp$")  # older versions' temporary name


def _v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 0 is a file without a version (written by hand): its keys already mean what version 1's do."""
    return {**raw, "version": 1}


_V1_GROUPING_DEFAULTS = {"burst_similarity": 0.85, "burst_gap_s": 2.0}  # what version 1 wrote when nobody chose


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 wrote grouping's thresholds whether or not the user chose them: a value equal to version 1's
    default was not chosen, so it goes (the app's default applies); another value stays, the user's choice."""
    out = {k: v for k, v in raw.items() if not (k in _V1_GROUPING_DEFAULTS and v == _V1_GROUPING_DEFAULTS[k])}
    return {**out, "version": 2}


# Each entry brings a settings dict from version i to i + 1. Never edit a released entry: append one.
MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_v0_to_v1, _v1_to_v2]
SETTINGS_VERSION = len(MIGRATIONS)


@dataclass
class Settings:
    device: str = "auto"  # where the convnet runs: auto (the GPU when there is one), cuda, cpu
    thumbnail_size: int = 200  # long edge of a grid thumbnail, pixels
    auto_advance: bool = False  # after a flag or a rating, move to the next photo
    sort: str = "score"
    model: str = "default"
    recent_folders: list[str] = field(default_factory=list)  # most recent first
    show_faces: bool = False
    crop_aspect: str = "original"  # the crop's aspect preset (issue 4): original, free, 1:1, 4:5, 3:2, 16:9, 9:16
    theme: str = "dark"  # dark (neutral grey, the default) | light
    show_names: bool = False  # file names under the grid's thumbnails
    stack_groups: bool = True  # the grid shows each group of one moment as one stack (its best on top)
    # grouping's thresholds (core/culling/groups.py) as the user chose them in Groups > Grouping Thresholds; None: the
    # default
    burst_similarity: float | None = None
    burst_gap_s: float | None = None
    path: Path | None = field(default=None, repr=False, compare=False)  # where it is saved; None: not saved
    read_only: bool = field(default=False, repr=False, compare=False)

    @property
    def last_folder(self) -> str | None:
        return self.recent_folders[0] if self.recent_folders else None

    def add_recent(self, folder: str) -> None:
        self.recent_folders = [folder] + [f for f in self.recent_folders if f != folder]
        del self.recent_folders[MAX_RECENT:]

    def grouping_params(self) -> GroupingParams:
        """The thresholds the window and `selfie-desk groups` group with: the defaults and the user's choices."""
        chosen = {key: getattr(self, key) for key in GROUPING_LIMITS if getattr(self, key) is not None}
        return replace(GroupingParams(), **chosen)

    def choose_grouping(self, params: GroupingParams) -> None:
        """Keep `params`' user-settable thresholds; one equal to the default is not kept (the default applies)."""
        defaults = GroupingParams()
        for key in GROUPING_LIMITS:
            value = getattr(params, key)
            setattr(self, key, None if value == getattr(defaults, key) else value)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("path", "read_only")}
        return {"version": SETTINGS_VERSION, **data}

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """The saved settings, or the defaults when there are none (or the file cannot be read)."""
        path = path or paths.config_dir() / FILE_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path=path)
        if not isinstance(raw, dict):
            return cls(path=path)
        version = raw.get("version", 0)
        if not isinstance(version, int) or version < 0:
            version = 0
        read_only = version > SETTINGS_VERSION
        for step in MIGRATIONS[version:]:
            raw = step(raw)
        settings = cls._from_dict(raw)
        settings.path, settings.read_only = path, read_only
        return settings

    @classmethod
    def _from_dict(cls, raw: dict[str, Any]) -> Settings:
        """Known keys with valid values; anything else falls back to the default."""
        s = cls()
        if raw.get("device") in DEVICES:
            s.device = raw["device"]
        size = raw.get("thumbnail_size")
        if isinstance(size, int) and not isinstance(size, bool):
            s.thumbnail_size = max(THUMBNAIL_SIZES[0], min(THUMBNAIL_SIZES[1], size))
        if isinstance(raw.get("auto_advance"), bool):
            s.auto_advance = raw["auto_advance"]
        if raw.get("sort") in SORTS and raw["sort"] != "uncertain":  # a review never outlives its session
            s.sort = raw["sort"]
        if isinstance(raw.get("model"), str) and raw["model"]:
            s.model = raw["model"]
        recent = raw.get("recent_folders")
        if isinstance(recent, list):
            s.recent_folders = [f for f in recent if isinstance(f, str)][:MAX_RECENT]
        if isinstance(raw.get("show_faces"), bool):
            s.show_faces = raw["show_faces"]
        if raw.get("crop_aspect") in CROP_RATIOS:
            s.crop_aspect = raw["crop_aspect"]
        if isinstance(raw.get("show_names"), bool):
            s.show_names = raw["show_names"]
        if raw.get("theme") in THEMES:
            s.theme = raw["theme"]
        if isinstance(raw.get("stack_groups"), bool):
            s.stack_groups = raw["stack_groups"]
        for key, (lo, hi) in GROUPING_LIMITS.items():
            value = raw.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi:
                setattr(s, key, float(value))
        return s

    def save(self) -> None:
        """Write atomically (a crash never leaves half a file); a newer version's file is left alone."""
        if self.path is None or self.read_only:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        clean_temp(self.path.parent, legacy=_LEGACY_SETTINGS)  # what a killed run left
        text = json.dumps(self.to_json(), indent=2)
        write_atomic(self.path, text.encode("utf-8"), suffix=".settings.tmp")

