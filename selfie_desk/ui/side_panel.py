"""The side panel: the folder's score histogram and where the current photo sits in it, and the current photo's
group of one moment: its frames best first, each with why it won or lost (core/culling/groups.py rank_group)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from selfie_desk.core.culling.groups import RankedGroup
from selfie_desk.core.culling.session import CullingSession
from selfie_desk.core.measures.describe import Form, describe, name_of
from selfie_desk.core.storage.catalog import Photo
from selfie_desk.ui.histogram import ScoreHistogram

WIDTH = 260  # the panel's width, whatever the photo: the grid beside it never shifts
class SidePanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.histogram = ScoreHistogram(self)
        self.summary = QLabel(self)
        self.details = QLabel(self)
        self.group = QLabel(self)
        self.group.setObjectName("group_list")
        for label in (self.summary, self.details, self.group):
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
        layout.addSpacing(8)
        layout.addWidget(self.group)
        layout.addStretch(1)
        self.setMinimumWidth(220)

    def sizeHint(self) -> QSize:
        return QSize(WIDTH, super().sizeHint().height())

    def show_session(self, session: CullingSession) -> None:
        """The folder's scores, and the photo the session says is looked at with its group."""
        view = session.view
        total, _picks, _rejects, unreadable = view.counts()  # counted once per change, not per cursor move
        self.set_scores(view.scores(), total - unreadable, unreadable)
        p = session.current()
        self.set_photo(p, None if p is None else view.rank(p), len(view.scores()))
        group = None if p is None else view.groups.group_of(p.id)
        self.set_group(group, None if p is None else p.id,
                       None if group is None else {m.photo.id: view.badges(m.photo.id) for m in group.members})

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
        self.details.setText(describe(p, Form.PANEL, rank, scored))

    def set_group(self, group: RankedGroup | None, current: int | None,
                  badges: dict[int, frozenset[str]] | None = None) -> None:
        """The frames of the current photo's group, best first (★), each with its reasons; the current one bold."""
        if group is None or len(group.members) < 2:
            self.group.setText("")
            return
        lines = [f"<b>{escape(group.kind.capitalize())} of {len(group.members)}</b> "
                 "<span style='color:gray'>(G: expand · B: keep best, reject the rest)</span>"]
        for m in group.members:
            p = m.photo
            name = escape(name_of(p))
            if p.id == current:
                name = f"<b>{name}</b>"
            score = "–" if p.score is None else f"{p.score:.2f}"
            words = list(m.reasons) + sorted((badges or {}).get(p.id, frozenset()))
            why = escape("; ".join(dict.fromkeys(words)))
            lines.append(f"{'★ ' if m.best else '&nbsp;&nbsp;&nbsp;'}{name} {score}"
                         f"<br>&nbsp;&nbsp;&nbsp;<span style='color:gray'>{why}</span>")
        self.group.setText("<br>".join(lines))


def count_text(session: CullingSession) -> str:
    """The status bar's count: photos, picks, rejects, groups, what the filters show, the selection."""
    view = session.view
    total, picks, rejects, _unreadable = view.counts()
    text = f"{total} photos · {picks} pick{'s' if picks != 1 else ''} · {rejects} reject" + (
        "s" if rejects != 1 else "")
    stacks = len(view.groups.stacks())
    if stacks:
        text += f" · {stacks} group{'s' if stacks != 1 else ''}"
    if view.filter.active or (stacks and view.stacked):
        text += f" · showing {len(view)}"
    if len(session.selected) > 1:
        text += f" · {len(session.selected)} selected"
    return text
