"""Every place the app writes to, in one module.

platformdirs gives the per-user locations; the environment variable SELFIE_DESK_HOME moves all of them
under one folder (tests point it at a temporary directory, so they never touch a real user's data).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "selfie-desk"
HOME_ENV = "SELFIE_DESK_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The catalog and user-trained models live here."""
    home = _home()
    return _ensure(home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


def cache_dir() -> Path:
    """Rebuildable files: the thumbnail cache."""
    home = _home()
    return _ensure(home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)))


def config_dir() -> Path:
    """Settings."""
    home = _home()
    return _ensure(home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)))


def catalog_path() -> Path:
    return data_dir() / "catalog.sqlite3"


def thumbnail_dir() -> Path:
    return _ensure(cache_dir() / "thumbnails")


def user_models_dir() -> Path:
    return _ensure(data_dir() / "models")


def frozen_root() -> Path | None:
    """The frozen app's folder of bundled files (PyInstaller's sys._MEIPASS: `_internal/` next to the
    executable, `Contents/Frameworks` in a macOS .app), or None when running from a source checkout."""
    if not getattr(sys, "frozen", False):
        return None
    return Path(getattr(sys, "_MEIPASS", Path(sys.executable).resolve().parent))


def bundled_models_dir() -> Path:
    """Read-only model files shipped with the app (the repository's models/ folder, or the frozen bundle's)."""
    override = os.environ.get("SELFIE_DESK_MODELS")
    if override:
        return Path(override)
    root = frozen_root()
    if root is not None:
        return root / "models"
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "models", here.parents[1] / "models"):
        if candidate.is_dir():
            return candidate
    return here.parents[2] / "models"


def demo_photos_dir() -> Path:
    root = frozen_root()
    if root is not None:
        return root / "resources" / "demo"
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "resources" / "demo", here.parents[1] / "resources" / "demo"):
        if candidate.is_dir():
            return candidate
    return here.parents[2] / "resources" / "demo"


def resources_dir() -> Path:
    """Read-only files shipped with the app: demo photos and icons (the repository's resources/, or the bundle's)."""
    return demo_photos_dir().parent


def icon_path() -> Path:
    """The app icon (256 px PNG; tools/make_icon.py draws it)."""
    return resources_dir() / "icons" / "selfie-desk.png"
