"""Messages for the user (an unreadable photo, a vanished folder, no GPU) in a bar above the photos:
never a modal box that stops the keyboard, never a traceback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

COLORS = {"error": "#5c1f1f", "warning": "#5c4a1a", "info": "#1f3a5c"}
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
        self.setStyleSheet(f"MessageBar {{ background: {COLORS.get(self.level, COLORS['info'])}; }}"
                           "QLabel { color: #f0f0f0; } QToolButton { color: #f0f0f0; }")
        self.show()

    def text(self) -> str:
        return "\n".join(self.lines)

    def clear(self) -> None:
        self.lines = []
        self.level = "info"
        self.label.clear()
        self.hide()
