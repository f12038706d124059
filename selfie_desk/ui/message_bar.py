"""Messages for the user (an unreadable photo, a vanished folder, no GPU) in a bar above the photos:
never a modal box that stops the keyboard, never a traceback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

from selfie_desk.ui import theme

MAX_LINES = 6


class MessageBar(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.lines: list[str] = []
        self.level = "info"
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        if text in self.lines:
            return
        self.lines = (self.lines + [text])[-MAX_LINES:]
        if level == "error" or self.level != "error":
            self.level = level
        self.label.setText("\n".join(self.lines))
        self.restyle()
        self.show()

    def announce(self, text: str, level: str = "info") -> None:
        """What was said before cleared, then `text` (what B did and its undo; one line for many unreadable photos)."""
        self.clear()
        self.show_message(text, level)

    def restyle(self) -> None:
        """Colours from the theme (which may have changed) for the current level."""
        if self.lines:
            t = theme.current()
            self.setStyleSheet(f"MessageBar {{ background: {t.message.get(self.level, t.message['info'])}; }}"
                               f"QLabel {{ color: {t.message_text}; }} QToolButton {{ color: {t.message_text}; }}")

    def text(self) -> str:
        return "\n".join(self.lines)

    def clear(self) -> None:
        self.lines = []
        self.level = "info"
        self.label.clear()
        self.hide()
