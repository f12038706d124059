"""The window's look, in one place: a dark neutral grey by default (as Lightroom, darktable, Capture One and
Photo Mechanic do: a photo is judged best against a neutral surround, not a white one), a light one as a
preference. One palette and one style sheet per theme; widgets that paint by hand read `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = {"dark": "Dark (neutral grey)", "light": "Light"}
DEFAULT = "dark"

# What a colour means is the same in both themes.
PICK = QColor(46, 160, 67)
REJECT = QColor(207, 34, 46)
STAR = QColor(240, 180, 40)


@dataclass(frozen=True)
class Theme:
    name: str
    window: str  # panels, toolbars, menus
    base: str  # the grid's and lists' background
    tile: str  # a thumbnail's cell
    button: str
    text: str
    dim: str  # secondary text, placeholders
    highlight: str  # selection
    highlight_text: str
    border: str
    message: dict  # the message bar's background per level (error, warning, info)
    message_text: str

    def color(self, role: str) -> QColor:
        return QColor(getattr(self, role))


DARK = Theme(
    name="dark", window="#2b2b2b", base="#1f1f1f", tile="#333333", button="#3a3a3a", text="#dedede",
    dim="#9b9b9b", highlight="#4f7fbf", highlight_text="#ffffff", border="#474747",
    message={"error": "#5c1f1f", "warning": "#5c4a1a", "info": "#1f3a5c"}, message_text="#f0f0f0",
)
LIGHT = Theme(
    name="light", window="#ececec", base="#fafafa", tile="#e2e2e2", button="#f4f4f4", text="#1d1d1d",
    dim="#6b6b6b", highlight="#2f6fcf", highlight_text="#ffffff", border="#c4c4c4",
    message={"error": "#f6d5d3", "warning": "#f7ead0", "info": "#d6e4f5"}, message_text="#1d1d1d",
)
_BY_NAME = {"dark": DARK, "light": LIGHT}
_current = DARK


def current() -> Theme:
    return _current


def palette(t: Theme) -> QPalette:
    p = QPalette()
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    roles = {
        R.Window: t.window, R.WindowText: t.text, R.Base: t.base, R.AlternateBase: t.tile, R.Text: t.text,
        R.Button: t.button, R.ButtonText: t.text, R.Highlight: t.highlight, R.HighlightedText: t.highlight_text,
        R.ToolTipBase: t.window, R.ToolTipText: t.text, R.PlaceholderText: t.dim, R.BrightText: "#ffffff",
        R.Link: t.highlight, R.Light: t.border, R.Midlight: t.border, R.Mid: t.border, R.Dark: t.base,
        R.Shadow: "#000000",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(G.Disabled, role, QColor(t.dim))
    return p


def style_sheet(t: Theme) -> str:
    """The few things a palette cannot say: thin borders, the dock titles, tool tips."""
    return f"""
    QToolTip {{ color: {t.text}; background: {t.window}; border: 1px solid {t.border}; }}
    QToolBar {{ border: none; spacing: 4px; }}
    QDockWidget::title {{ background: {t.window}; padding: 4px 6px; }}
    QStatusBar {{ border-top: 1px solid {t.border}; }}
    QStatusBar::item {{ border: none; }}
    QListView {{ border: none; }}
    """


def apply(name: str, app: QApplication | None = None) -> Theme:
    """Give the application this theme (unknown names: the default); returns it."""
    global _current
    app = app or QApplication.instance()  # type: ignore[assignment]
    theme = _BY_NAME.get(name, _BY_NAME[DEFAULT])
    _current = theme
    if app is not None:
        if app.style().name().lower() != "fusion":  # the one style that follows a palette everywhere
            app.setStyle("Fusion")
        app.setPalette(palette(theme))
        app.setStyleSheet(style_sheet(theme))
    return theme
