"""The status bar's texts give up width: a long line is cut with "…", never widening the window past the screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QLabel, QToolTip

from selfie_desk.ui.elided_label import ElidedLabel

LONG = "Loading the model… (cull away meanwhile: scores fill in when it is ready) in /home/someone/Pictures/2026"


def test_elided_label_cuts_its_text_to_its_width_and_tells_the_rest_on_hover(qtbot):
    label = ElidedLabel(LONG)
    label.setToolTip("Where the convnet runs")
    qtbot.addWidget(label)
    full = label.fontMetrics().horizontalAdvance(LONG)
    assert label.sizeHint().width() >= full  # given the room, it takes its whole text
    assert label.minimumSizeHint().width() < full / 4  # but it does not insist on it

    label.resize(full + 20, label.sizeHint().height())
    label.show()
    qtbot.waitExposed(label)
    assert label.shown_text() == LONG

    label.resize(160, label.height())
    shown = label.shown_text()
    assert shown.endswith("…") and LONG.startswith(shown[:-1]) and len(shown) < len(LONG) / 2
    label.event(QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), label.mapToGlobal(QPoint(5, 5))))
    assert QToolTip.isVisible() and QToolTip.text() == LONG + "\nWhere the convnet runs"
    QToolTip.hideText()

    short = ElidedLabel("7 photos")  # too short to cut: a QLabel's own hints
    qtbot.addWidget(short)
    plain = QLabel("7 photos")
    qtbot.addWidget(plain)
    assert short.minimumSizeHint() == plain.minimumSizeHint()


def test_long_status_texts_do_not_widen_the_window(qtbot, make_window):
    # Opening a folder while the crop proposals' last report still shows: the scan's longest line, the crop
    # line, a long count and the device, all at once. Each used to add its whole width to the window's minimum
    # (a top-level window is never narrower than that): under Xvfb the window grew from 1,440 to 1,572 px.
    window = make_window()
    window.resize(1280, 800)
    window.scan_status.loading_model()
    window.scan_status.set_device("CUDA 0: NVIDIA H100 80GB HBM3 (torch, float16, channels-last)")
    window.crop_status.progress(4, 7, 1.3, 2.0)
    window.crop_status.idle("Crops proposed for 7 photos (7 searched in 0.6 s) · 3 kept as they were")
    window.count_label.setText("12,345 photos · 1,234 picks · 567 rejects · 89 groups · showing 4,321 · 999 selected")
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 1000  # a 1,366-px laptop screen holds it, the side panel beside
    assert window.width() == 1280
    # each text is there, cut where the bar has no room for all of it
    assert window.scan_status.text.text().startswith("Loading the model")
    assert window.scan_status.text.shown_text().startswith("Loading")
    assert window.count_label.shown_text().startswith("12,345 photos · 1,234 picks")
    window.resize(1000, 800)
    qtbot.wait(50)
    assert window.width() == 1000
    assert window.count_label.shown_text().endswith("…") or window.scan_status.text.shown_text().endswith("…")
