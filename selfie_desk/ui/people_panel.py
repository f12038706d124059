"""The shoot's people in the window (issue 28): who is in the current photo, key or in the background, with each
person's eyes and focus; the people who recur in the folder, each with their photos; and the People filter box that
narrows the grid to one person's photos. All read the folder's KeyPeople (core/culling/people.py), worked out on the
grouping thread with the groups (workers/grouping.py): nothing here touches the catalog or the pixels."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from selfie_desk.core.culling.people import KeyPeople
from selfie_desk.core.storage.catalog import Photo

SOFT = 0.35  # a face's sharpness below this reads "soft" in the panel (core/measures/face_check.py's scale, 0-1)


def person_name(number: int) -> str:
    return f"Person {number}" if number else "Someone (face too small to tell)"


def face_words(eyes: str | None, sharpness: float | None) -> str:
    eye = {"open": "eyes open", "closed": "eyes closed"}.get(eyes or "", "eyes unknown")
    focus = "focus unknown" if sharpness is None else ("soft" if sharpness < SOFT else "in focus")
    return f"{eye}, {focus}"


class PeoplePanel(QWidget):
    """Who is in the current photo, and the shoot's recurring people; a click on one asks for their photos."""

    person_chosen = Signal(int)  # a person's number (0: everyone again)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people: KeyPeople | None = None
        self.here = QLabel(self)
        self.here.setObjectName("people_here")
        self.here.setWordWrap(True)
        self.here.setTextFormat(Qt.TextFormat.PlainText)
        self.shoot = QListWidget(self)
        self.shoot.setObjectName("people_in_shoot")
        self.shoot.setToolTip("The people who appear in more than one photo of this folder; click one to show "
                              "only their photos (the People filter)")
        self.shoot.itemActivated.connect(self._chosen)
        self.shoot.itemClicked.connect(self._chosen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(QLabel("In this photo", self))
        layout.addWidget(self.here)
        layout.addWidget(QLabel("People of this shoot", self))
        layout.addWidget(self.shoot, 1)
        self.set_people(None)
        self.show_photo(None)

    def set_people(self, people: KeyPeople | None) -> None:
        self.people = people
        self.shoot.clear()
        everyone = QListWidgetItem("Everyone")
        everyone.setData(Qt.ItemDataRole.UserRole, 0)
        self.shoot.addItem(everyone)
        for person in (people.recurring() if people is not None else []):
            n = len(person.photo_ids)
            item = QListWidgetItem(f"{person_name(person.number)}: {n} photo{'s' if n != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, person.number)
            self.shoot.addItem(item)

    def show_photo(self, photo: Photo | None) -> None:
        self.here.setText(self.describe(photo))

    def describe(self, photo: Photo | None) -> str:
        """One line per face of `photo`, key people first: who, key or background, eyes and focus."""
        if photo is None:
            return "No photo"
        if not photo.faces:
            return "No faces"
        roles = self.people.role(photo.id) if self.people is not None else []
        if len(roles) != len(photo.faces):
            return "\n".join(f"Face {i + 1}: {face_words(f.eyes, f.sharpness)}" for i, f in enumerate(photo.faces))
        lines = []
        for r in sorted(roles, key=lambda r: (not r.key, -r.importance)):
            f = photo.faces[r.index]
            lines.append(f"{person_name(r.person)} ({'key' if r.key else 'background'}): "
                         f"{face_words(f.eyes, f.sharpness)}")
        return "\n".join(lines)

    def _chosen(self, item: QListWidgetItem) -> None:
        self.person_chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))


class PeopleBox(QComboBox):
    """The People filter: anyone, or one recurring person of the shoot (their photos only)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Only the photos of one person of this shoot (matched by face)")
        self._photos: dict[int, frozenset[int]] = {}
        self.set_people(None)

    def set_people(self, people: KeyPeople | None) -> None:
        """The shoot's recurring people; the chosen one stays chosen when it is still there."""
        chosen = self.person
        self.blockSignals(True)
        self.clear()
        self.addItem("anyone", 0)
        self._photos = {}
        for person in (people.recurring() if people is not None else []):
            self._photos[person.number] = frozenset(person.photo_ids)
            self.addItem(f"{person_name(person.number)} ({len(person.photo_ids)})", person.number)
        self.setCurrentIndex(max(0, self.findData(chosen)))
        self.blockSignals(False)

    @property
    def person(self) -> int:
        data = self.currentData()
        return int(data) if data else 0

    def photos_of(self, number: int) -> frozenset[int]:
        return self._photos.get(number, frozenset())

    def choose(self, number: int) -> None:
        self.setCurrentIndex(max(0, self.findData(number)))
