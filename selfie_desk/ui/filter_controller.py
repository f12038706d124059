"""Sort and filter in the window: the filter bar (ui/filter_bar.py) and View > Sort By applied to the culling
session's rows, the sort kept for the next start, and Review Uncertain (the personal models' "decide these next").

A change of the sort or a filter rebuilds the rows keeping the photos looked at and selected where they went (the
grid's selection), and the window is told (`applied`) so that the map shows the same rows. A review sorts by
uncertainty for this folder only: the next folder opened comes back to the sort and filter the user had.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.settings import Settings
from selfie_desk.ui.filter_bar import FilterBar
from selfie_desk.ui.grid_selection import GridSelection

REVIEW_SORT = "uncertain"  # Review Uncertain's order: for now, never kept as the sort of the next start


class FilterController(QObject):
    applied = Signal()  # the rows follow a new sort or filter (the map shows them too; the keys go to the view)
    settings_changed = Signal()  # the sort chosen changed (Settings.sort): save the settings

    def __init__(self, session: CullingSession, selection: GridSelection, settings: Settings, filters: FilterBar,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.selection, self.settings, self.filters = session, selection, settings, filters
        self.before_review: tuple[str, object] | None = None  # sort and filter to go back to after a review
        self.sort_actions = QActionGroup(self)  # View > Sort By: the filter bar's sorts, as a menu
        filters.changed.connect(self.apply)

    def fill_sort_menu(self, menu: QMenu) -> QActionGroup:
        """Sort By: one checkable item per sort of the filter bar, checked as the bar's sort is."""
        box = self.filters.sort_box
        for i in range(box.count()):
            a = QAction(box.itemText(i), self, checkable=True)
            a.setData(box.itemData(i))
            a.setChecked(a.data() == self.session.view.sort)
            key = a.data()
            a.triggered.connect(lambda checked=False, key=key: self.filters.set_sort(key))
            self.sort_actions.addAction(a)
            menu.addAction(a)
        return self.sort_actions

    def apply(self) -> None:
        """The filter bar changed: the rows in its sort and filter, the cursor and selection kept."""
        sort = self.filters.sort
        self.selection.keeping(lambda: self.session.view.set_view(sort, self.filters.photo_filter()))
        for a in self.sort_actions.actions():
            a.setChecked(a.data() == sort)
        if sort != self.settings.sort and sort != REVIEW_SORT:  # a review is for now, not the next start
            self.settings.sort = sort
            self.settings_changed.emit()
        if sort != REVIEW_SORT:
            self.before_review = None
        self.applied.emit()

    def set_people(self, people: object) -> None:
        """The shoot's people as the groups now have them: the People filter's choices, and the chosen person's
        photos as they are now."""
        self.filters.people_box.set_people(people)
        if self.filters.people_box.person:
            self.apply()

    # ---- Review Uncertain (issue 7) ----------------------------------------------------------------
    def review_uncertain(self) -> None:
        """The unflagged photos the active model is least sure about (score nearest its boundary) first, for this
        folder: `end_review` goes back to the sort and filter the user had."""
        if self.before_review is None:
            self.before_review = (self.filters.sort, self.filters.photo_filter())
        self.filters.set_sort(REVIEW_SORT)
        self.filters.set_filter(dataclasses.replace(self.filters.photo_filter(), decision="unflagged"))

    def end_review(self) -> None:
        """Another folder opens: back to the sort and filter from before the review, if one is under way."""
        if self.filters.sort == REVIEW_SORT:
            sort, photo_filter = self.before_review or (self.settings.sort, self.filters.photo_filter())
            self.before_review = None
            self.filters.set_sort(sort if sort != REVIEW_SORT else "score")  # announced: the grid follows
            self.filters.set_filter(photo_filter)
