"""The catalog connection of a worker thread.

SQLite connections belong to the thread that opened them, so a worker opens its catalog on first use, on
its own thread, and closes it there when it shuts down.
"""

from __future__ import annotations

from pathlib import Path

from selfie_desk.core.storage.catalog import Catalog
from selfie_desk.core.storage.catalog_access import open_catalog


class ThreadCatalog:
    """A Catalog opened lazily by the thread that first asks for it; `close` on that same thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._catalog: Catalog | None = None

    def get(self) -> Catalog:
        if self._catalog is None:
            self._catalog = open_catalog(self.path)  # a failure is a CatalogError: one line for the user
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
