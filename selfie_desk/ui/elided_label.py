"""A one-line label that gives up width instead of taking it: its text is cut with "…" where the layout has
less room than the text needs, and the whole text shows as its tooltip then.

A plain QLabel asks for its whole text as its minimum width. In the status bar those minimums add up (the
counts, the scan's "Loading the model… (cull away meanwhile: …)", the crop proposals' line, the device), and a
top-level window is never narrower than its layout's minimum: the window widened itself past the screen
(1,440 to 1,572 px under Xvfb while a folder opened with crops still reported).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStyle, QToolTip, QWidget

ELLIPSIS = "…"


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, min_chars: int = 10) -> None:
        super().__init__(text, parent)
        self.min_chars = min_chars  # what stays readable at the narrowest: this many characters and "…"
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        text = self.text()
        if len(text) <= self.min_chars:
            return hint
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(text[: self.min_chars] + ELLIPSIS)
        return QSize(min(hint.width(), width + margins.left() + margins.right()), hint.height())

    def shown_text(self) -> str:
        """The text as drawn at the label's present width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        self.drawFrame(painter)
        alignment = QStyle.visualAlignment(self.layoutDirection(), self.alignment())
        self.style().drawItemText(painter, self.contentsRect(), int(alignment), self.palette(), self.isEnabled(),
                                  self.shown_text(), self.foregroundRole())

    def event(self, event) -> bool:
        # Cut short, the label tells the whole of it on hover (before its own tooltip, if it has one).
        if event.type() == event.Type.ToolTip and self.shown_text() != self.text():
            tip = self.text() + (f"\n{self.toolTip()}" if self.toolTip() else "")
            QToolTip.showText(event.globalPos(), tip, self)
            return True
        return super().event(event)
