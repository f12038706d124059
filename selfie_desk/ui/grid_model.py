"""The culling session's rows as a Qt list model: the grid's adapter over core/culling/view.py.

The rows (sorted, filtered, stacked) are the session's, in plain Python; this only answers Qt's questions about
them and turns the view's notices into Qt's (a rebuild into a model reset, a photo changed in place into
dataChanged), so the grid repaints whatever changed the rows: an edit, a scan, a sort.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from selfie_desk.core.culling.groups import GroupIndex
from selfie_desk.core.culling.view import FolderView, PhotoFilter, Stack
from selfie_desk.core.measures.describe import Form, describe, name_of
from selfie_desk.core.storage.catalog import Photo

PhotoRole = Qt.ItemDataRole.UserRole + 1


class PhotoGridModel(QAbstractListModel):
    def __init__(self, view: FolderView | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view if view is not None else FolderView()
        self.view.observers.append(self)

    # ---- Qt ----------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.view)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.view):
            return None
        p = self.view.photo(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return name_of(p)
        if role == PhotoRole:
            return p
        if role == Qt.ItemDataRole.ToolTipRole:
            return describe(p, Form.TOOLTIP)
        return None

    # ---- the view's notices (core/culling/view.py RowsObserver) ---------------------------------------
    def rows_about_to_change(self) -> None:
        self.beginResetModel()

    def rows_changed(self) -> None:
        self.endResetModel()

    def row_changed(self, row: int) -> None:
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)

    def all_rows_changed(self) -> None:
        if self.view:
            self.dataChanged.emit(self.index(0), self.index(len(self.view) - 1))

    # ---- the rows, as the view has them ------------------------------------------------------------
    @property
    def groups(self) -> GroupIndex:
        return self.view.groups

    @property
    def sort(self) -> str:
        return self.view.sort

    @property
    def filter(self) -> PhotoFilter:
        return self.view.filter

    @property
    def stacked(self) -> bool:
        return self.view.stacked

    @property
    def expanded(self) -> set[int]:
        return self.view.expanded

    def photo(self, row: int) -> Photo:
        return self.view.photo(row)

    def photos(self) -> list[Photo]:
        return self.view.photos()

    def filtered_photos(self) -> list[Photo]:
        return self.view.filtered_photos()

    def all_photos(self) -> list[Photo]:
        return self.view.all_photos()

    def get(self, photo_id: int) -> Photo | None:
        return self.view.get(photo_id)

    def row_of(self, photo_id: int) -> int | None:
        return self.view.row_of(photo_id)

    def rank(self, p: Photo) -> int | None:
        return self.view.rank(p)

    def scores(self) -> list[float]:
        return self.view.scores()

    def stack(self, photo_id: int) -> Stack:
        return self.view.stack(photo_id)

    def badges(self, photo_id: int) -> frozenset[str]:
        return self.view.badges(photo_id)

    def group_rows(self, group_id: int) -> list[int]:
        return self.view.group_rows(group_id)

    # ---- changing them (the view rebuilds, this model resets) ----------------------------------------
    def set_photos(self, photos: list[Photo]) -> None:
        self.view.set_photos(photos)

    def set_groups(self, groups: GroupIndex) -> None:
        self.view.set_groups(groups)

    def set_stacked(self, stacked: bool) -> None:
        self.view.set_stacked(stacked)

    def toggle_expanded(self, group_id: int) -> bool:
        return self.view.toggle_expanded(group_id)

    def set_view(self, sort: str | None = None, photo_filter: PhotoFilter | None = None) -> None:
        self.view.set_view(sort, photo_filter)

    def refresh(self) -> None:
        self.view.refresh()

    def merge(self, photos: list[Photo]) -> bool:
        return self.view.merge(photos)

    def update(self, photo_id: int, **changes: object) -> Photo | None:
        return self.view.update(photo_id, **changes)

    def update_many(self, photo_ids: list[int], **changes: object) -> list[Photo]:
        return self.view.update_many(photo_ids, **changes)

    def counts(self) -> tuple[int, int, int, int]:
        return self.view.counts()
