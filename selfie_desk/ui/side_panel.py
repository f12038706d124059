"""The side panel: the folder's score histogram and where the current photo sits in it."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from selfie_desk.core.catalog import Photo
from selfie_desk.ui.histogram import ScoreHistogram

WIDTH = 260  # the panel's width, whatever the photo: the grid beside it never shifts
ASPECT_LABELS = {"sharpness": "Sharpness", "noise": "Noise", "exposure": "Exposure", "framing": "Framing"}


def aspect_lines(p: Photo) -> list[str]:
    """What the score is made of: each aspect as a bar (higher is better) and the reasons, in words."""
    aspects = p.aspects
    if not aspects:
        return []
    out = []
    for key, label in ASPECT_LABELS.items():
        v = aspects.get(key)
        if v is None:
            continue
        filled = round(v * 10)
        colour = "#2ea043" if v >= 0.6 else "#d29922" if v >= 0.35 else "#e5534b"
        out.append(f"<span style='font-family:monospace'>{label.ljust(9).replace(' ', '&nbsp;')}</span> "
                   f"<span style='color:{colour}'>{'█' * filled}</span>"
                   f"<span style='color:#555'>{'█' * (10 - filled)}</span> {v:.2f}")
    if p.reasons:
        out.append("Why: " + html.escape(", ".join(p.reasons)))
    else:
        out.append("Why: nothing wrong that the score can see")
    return out


class SidePanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.histogram = ScoreHistogram(self)
        self.summary = QLabel(self)
        self.details = QLabel(self)
        for label in (self.summary, self.details):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            # the text never widens the panel: its width stays put from photo to photo
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.histogram)
        layout.addWidget(self.summary)
        layout.addSpacing(8)
        layout.addWidget(self.details)
        layout.addStretch(1)
        self.setMinimumWidth(220)

    def sizeHint(self) -> QSize:
        return QSize(WIDTH, super().sizeHint().height())

    def set_scores(self, scores: list[float], total: int, unreadable: int = 0) -> None:
        """`total`: the photos that can be scored; `unreadable` ones are counted apart (never "so far")."""
        self.histogram.set_scores(scores)
        if not total and not unreadable:
            self.summary.setText("No photos")
            return
        if len(scores) < total:
            text = f"The folder's scores, 0 to 1: {len(scores)} of {total} photos scored so far"
        else:
            text = f"The folder's scores, 0 to 1: {total} photo{'s' if total != 1 else ''}"
        if unreadable:
            text += f"; {unreadable} could not be read"
        self.summary.setText(text)

    def set_photo(self, p: Photo | None, rank: int | None, scored: int) -> None:
        self.histogram.set_current(None if p is None else p.score)
        if p is None:
            self.details.setText("")
            return
        lines = [f"<b>{html.escape(os.path.basename(p.path))}</b>"]
        if p.error:
            lines.append(f"<span style='color:#e5534b'>Cannot read: {html.escape(p.error)}</span>")
        elif p.score is None:
            lines.append("Not scored yet")
        else:
            lines.append(f"Score <b>{p.score:.3f}</b>")
            if rank is not None and scored:
                below = scored - rank
                share = f", better than {below / (scored - 1):.0%} of the others" if scored > 1 else ""
                lines.append(f"Rank #{rank} of {scored}{share}")
            lines += aspect_lines(p)
            if p.faces:
                lines.append(f"{len(p.faces)} face{'s' if len(p.faces) > 1 else ''}: "
                             + ", ".join(f"{f.confidence:.0%}" for f in p.faces[:6]) + " sure")
            else:
                lines.append("No faces found")
        if p.crop is not None and p.crop_score is not None:
            lines.append(f"Accepted crop <b>{p.crop_score:.3f}</b>")
        elif p.best_crop_score is not None and p.crop is None:
            lines.append(f"Best proposed crop <b>{p.best_crop_score:.3f}</b>")
        if p.width:
            lines.append(f"{p.width} × {p.height} px")
        if p.crop is not None:
            x0, y0, x1, y1 = p.crop
            lines.append(f"Cropped to {round(x1 - x0)} × {round(y1 - y0)} px")
        if p.captured_at:
            lines.append(f"Taken {p.captured_at.replace('T', ' ')}")
        flag = {"keep": "Pick", "reject": "Reject"}.get(p.decision or "", "Unflagged")
        stars = "★" * p.rating + "☆" * (5 - p.rating)
        lines.append(f"{flag} &nbsp; <span style='color:#f0b428'>{stars}</span>")
        self.details.setText("<br>".join(lines))
