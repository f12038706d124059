"""The taste set (selfie_desk/demo.py: black-and-white preferred to colour) scored once, and catalog copies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from selfie_desk.demo import make_taste_folder


def scored_taste_set(root: Path, scorer, per_source: int = 8) -> tuple[Path, Path, dict[str, bool]]:
    """The taste folder scored by the real pipeline into its own catalog file: (folder, catalog file, truth)."""
    from selfie_desk.core.storage.catalog import Catalog
    from selfie_desk.neural import pipeline

    folder = root / "photos"
    truth = make_taste_folder(folder, per_source=per_source)
    db = root / "catalog.sqlite3"
    with Catalog(db) as catalog:
        summary = pipeline.score([folder], catalog, scorer)
        assert summary.scored == len(truth) and summary.failed == 0
    return folder, db, truth


def copy_catalog(source: Path, target: Path) -> None:
    """A consistent copy of a catalog (WAL included), through SQLite's backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
