"""The keyboard shortcuts overlay (?, F1, Ctrl+/): every key the window answers, read from the menus' own
actions, so it can never list a key the menus do not have or miss one they do; plus the few gestures that are
not menu items (arrows, the wheel, dragging).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QMenu, QMenuBar, QVBoxLayout, QWidget

Section = tuple[str, list[tuple[str, str]]]

# Gestures and keys that are not menu items (they belong to a view, not to a command).
GESTURES: list[Section] = [
    ("Moving around", [("← → ↑ ↓", "next / previous photo"), ("Shift+arrows", "select several (grid)"),
                       ("Ctrl+wheel", "thumbnail size (grid)"), ("wheel, drag", "zoom, pan (loupe, compare)"),
                       ("double-click", "loupe (grid); 100 % / fit (loupe)")]),
    ("While cropping", [("arrows (Shift: ×10)", "nudge the crop"), ("drag a handle", "resize the crop")]),
    ("On the map", [("wheel, right-drag", "zoom, pan"), ("drag", "select a region (then P / X)"),
                    ("click, Enter", "the loupe")]),
]


def clean(text: str) -> str:
    """A menu text as the user reads it: no & mnemonic, no tab-separated key."""
    return text.partition("\t")[0].replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def keys_of(action: QAction) -> str:
    seqs = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()]
    if not seqs:  # a key the menu shows but a view handles (the crop mode's Tab, Enter, Esc)
        shown = action.text().partition("\t")[2]
        seqs = [shown] if shown else []
    return " / ".join(seqs)


def _collect(menu: QMenu, rows: list[tuple[str, str]]) -> None:
    for action in menu.actions():
        if action.isSeparator():
            continue
        if action.menu() is not None:
            _collect(action.menu(), rows)
            continue
        keys = keys_of(action)
        if keys:
            rows.append((keys, action.property("shortcut_label") or clean(action.text())))


def shortcut_sections(menu_bar: QMenuBar) -> list[Section]:
    """(menu title, [(keys, what)]) for every menu of the bar with at least one key, then the gestures."""
    sections: list[Section] = []
    for top in menu_bar.actions():
        menu = top.menu()
        if menu is None:
            continue
        rows: list[tuple[str, str]] = []
        _collect(menu, rows)
        if rows:
            sections.append((clean(top.text()), rows))
    return sections + GESTURES


def section_html(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td style='padding:1px 10px 1px 0'><b>{html.escape(k)}</b></td>"
                   f"<td>{html.escape(w)}</td></tr>" for k, w in rows)
    return f"<div style='font-size:15px; margin-bottom:4px'><b>{html.escape(title)}</b></div><table>{body}</table>"


class ShortcutOverlay(QWidget):
    """Dims the window and lists the keys, in columns; any key or click closes it."""

    COLUMNS = 3

    def __init__(self, menu_bar: QMenuBar, parent: QWidget) -> None:
        super().__init__(parent)
        self.menu_bar = menu_bar
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(36)
        self.grid.setVerticalSpacing(18)
        title = QLabel("<span style='font-size:18px'><b>Keyboard shortcuts</b></span> &nbsp; "
                       "<span style='color:#aaa'>any key closes this</span>", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 30)
        layout.addWidget(title)
        layout.addSpacing(12)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        self.labels: list[QLabel] = []
        parent.installEventFilter(self)
        self.hide()

    def text(self) -> str:
        return "\n".join(label.text() for label in self.labels)

    def open(self) -> None:
        for label in self.labels:
            label.deleteLater()
        self.labels = []
        for i, (title, rows) in enumerate(shortcut_sections(self.menu_bar)):
            label = QLabel(section_html(title, rows), self)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            label.setStyleSheet("color: #eeeeee;")
            self.grid.addWidget(label, i // self.COLUMNS, i % self.COLUMNS, Qt.AlignmentFlag.AlignTop)
            self.labels.append(label)
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()
        self.setFocus()

    def close_overlay(self) -> None:
        self.hide()
        parent = self.parentWidget()
        if parent is not None:
            parent.setFocus()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(12, 12, 12, 225))  # dark in either theme: the list is the subject

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:  # every key is ours while open (Esc must not go back)
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() not in (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta):
            self.close_overlay()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.close_overlay()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False
