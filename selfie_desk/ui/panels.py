"""The panels docked on the window's right, each closable from the View menu: Scores (the folder's histogram, the
photo's details and its group: ui/side_panel.py), Models (the personal models' panel: ui/personal_models.py) and
People (who is in the photo, the shoot's people: ui/people_panel.py). What Scores and People show follows the
culling session's current photo: `show_current` after each move or change.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

from selfie_desk.core.culling.session import CullingSession
from selfie_desk.ui.people_panel import PeoplePanel
from selfie_desk.ui.side_panel import SidePanel


def dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    """`widget` docked on the window's right, movable and closable (not floating)."""
    d = QDockWidget(title, window)
    d.setObjectName(name)
    d.setWidget(widget)
    d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d)
    return d


class Panels(QObject):
    def __init__(self, window: QMainWindow, session: CullingSession, models_panel: QWidget) -> None:
        super().__init__(window)
        self.session = session
        self.side = SidePanel(window)
        side_scroll = QScrollArea(window)  # a long group list scrolls; it never squeezes the photo's details
        side_scroll.setWidget(self.side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_dock = dock(window, "Scores", "scores_dock", side_scroll)
        self.models_dock = dock(window, "Models", "models_dock", models_panel)  # choose, train, review (issue 7)
        self.people = PeoplePanel(window)  # who is in the photo, the shoot's people (issue 28)
        self.people_dock = dock(window, "People", "people_dock", self.people)

    def toggles(self) -> dict[str, QAction]:
        """The View menu's items that show or hide each panel, by the name the menus give them (ui/actions.py)."""
        return {"scores_dock": self.side_dock.toggleViewAction(), "models_dock": self.models_dock.toggleViewAction(),
                "people_dock": self.people_dock.toggleViewAction()}

    def show_current(self) -> None:
        """Scores and People on the photo the session says is looked at."""
        self.side.show_session(self.session)
        self.people.show_photo(self.session.current())

    def set_people(self, people: object) -> None:
        """The shoot's people as the groups now have them."""
        self.people.set_people(people)
