"""The window's commands in one table: each action's words, keys and tip, and the menus they sit in.

Picard's `ui/mainwindow/actions.py` + `MainAction` are the model: the window says what each action does
(a handler per `MainAction`), this module says how it is offered. The shortcuts overlay (F1, ui/shortcuts.py)
reads the menus built here, so a key added to the table is listed there too. Menus that other parts own
(Crop, Models) and items others fill (Open Recent: ui/folders.py, Sort By: ui/filter_controller.py, the docks'
toggles: ui/panels.py) are named in the layout and handed in when the menus are built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget


class MainAction(StrEnum):
    OPEN = "open"
    EXPORT = "export"
    SIDECARS = "sidecars"
    PREFERENCES = "preferences"
    QUIT = "quit"
    UNDO = "undo"
    REDO = "redo"
    SELECT_ALL = "select_all"
    SELECT_NONE = "select_none"
    PICK = "pick"
    REJECT = "reject"
    UNFLAG = "unflag"
    RATE_0 = "rate_0"
    RATE_1 = "rate_1"
    RATE_2 = "rate_2"
    RATE_3 = "rate_3"
    RATE_4 = "rate_4"
    RATE_5 = "rate_5"
    AUTO_ADVANCE = "auto_advance"
    GRID = "grid"
    LOUPE = "loupe"
    COMPARE = "compare"
    MAP = "map"
    MAP_SIZE = "map_size"
    MAP_FLAGS = "map_flags"
    ZOOM = "zoom"
    FACES = "faces"
    LARGER = "larger"
    SMALLER = "smaller"
    NAMES = "names"
    RESORT = "resort"
    SHORTCUTS = "shortcuts"
    GROUP_TOGGLE = "group_toggle"
    STACK_GROUPS = "stack_groups"
    COMPARE_GROUP = "compare_group"
    KEEP_BEST = "keep_best"
    MERGE_GROUPS = "merge_groups"
    SPLIT_GROUP = "split_group"
    GROUPING = "grouping"
    ABOUT = "about"


RATINGS = (MainAction.RATE_0, MainAction.RATE_1, MainAction.RATE_2, MainAction.RATE_3, MainAction.RATE_4,
           MainAction.RATE_5)


@dataclass(frozen=True)
class ActionSpec:
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""  # the status bar's words while the menu item is under the pointer
    checkable: bool = False  # a setting: its handler gets the new state
    label: str = ""  # the shortcuts overlay's words, where the text changes (Undo says what it undoes)


ACTIONS: dict[MainAction, ActionSpec] = {
    MainAction.OPEN: ActionSpec("&Open Folder…", ("Ctrl+O",)),
    MainAction.EXPORT: ActionSpec("&Export…", ("Ctrl+E",)),
    MainAction.SIDECARS: ActionSpec("Write XMP &Sidecars",
                                    tip="Stars, flags and crops as NAME.xmp next to each decided photo"),
    MainAction.PREFERENCES: ActionSpec("&Preferences…", ("Ctrl+,",)),
    MainAction.QUIT: ActionSpec("&Quit", ("Ctrl+Q",)),
    MainAction.UNDO: ActionSpec("&Undo", ("Ctrl+Z",), label="Undo"),
    MainAction.REDO: ActionSpec("&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), label="Redo"),
    MainAction.SELECT_ALL: ActionSpec("Select &All", ("Ctrl+A",)),
    MainAction.SELECT_NONE: ActionSpec("Select &None", ("Ctrl+Shift+A",)),
    MainAction.PICK: ActionSpec("&Pick", ("P",)),
    MainAction.REJECT: ActionSpec("&Reject", ("X",)),
    MainAction.UNFLAG: ActionSpec("&Unflag", ("U",)),
    **{a: ActionSpec("★" * n if n else "No stars", (str(n),)) for n, a in enumerate(RATINGS)},
    MainAction.AUTO_ADVANCE: ActionSpec("&Auto-advance", checkable=True),
    MainAction.GRID: ActionSpec("&Grid", ("Esc",)),
    MainAction.LOUPE: ActionSpec("&Loupe", ("Space", "Return", "Enter")),
    MainAction.COMPARE: ActionSpec("&Compare Selected", ("C",)),
    MainAction.MAP: ActionSpec("&Map", ("M",), tip="The folder laid out by similarity: alike photos side by side "
                               "(drag: select a region, then P / X; click: the loupe); M again: the grid"),
    MainAction.MAP_SIZE: ActionSpec("Map: Size by Score", checkable=True,
                                    tip="On the map, better photos larger (otherwise a frame in the score's colour)"),
    MainAction.MAP_FLAGS: ActionSpec("Map: Show Picks and Rejects", checkable=True,
                                     tip="On the map, a green corner on picks, rejects dimmed with a red one"),
    MainAction.ZOOM: ActionSpec("&Zoom 100 % / Fit", ("Z",)),
    MainAction.FACES: ActionSpec("Show &Face Boxes", ("F",), checkable=True),
    MainAction.LARGER: ActionSpec("&Larger Thumbnails", ("+", "=", "Ctrl++")),
    MainAction.SMALLER: ActionSpec("&Smaller Thumbnails", ("-", "Ctrl+-")),
    MainAction.NAMES: ActionSpec("File &Names", ("Shift+N",), checkable=True),
    MainAction.RESORT: ActionSpec("&Re-sort Now", ("F5",),
                                  tip="Put the photos in the chosen order again (new scores, new flags)"),
    MainAction.GROUP_TOGGLE: ActionSpec("&Expand / Collapse Group", ("G",),
                                        tip="Show every frame of the group under the cursor, or fold it to its best"),
    MainAction.STACK_GROUPS: ActionSpec("&Stack Groups", ("Shift+G",), checkable=True,
                                        tip="Each group of one moment as one stack (off: every frame in the grid)"),
    MainAction.COMPARE_GROUP: ActionSpec("&Compare Group", ("Shift+C",),
                                         tip="The group's frames side by side, zoomed on the faces"),
    MainAction.KEEP_BEST: ActionSpec("&Keep Best, Reject the Rest", ("B",),
                                     tip="Pick the group's best (or the frame you chose in it) and reject its other "
                                         "frames; a bracket or a panorama only gets its pick"),
    MainAction.MERGE_GROUPS: ActionSpec("&Merge Selected into One Group", ("Ctrl+G",)),
    MainAction.SPLIT_GROUP: ActionSpec("S&plit Selected off Their Group", ("Ctrl+Shift+G",)),
    MainAction.GROUPING: ActionSpec("Grouping &Thresholds…",
                                    tip="How alike and how close in time frames must be to make one burst"),
    MainAction.SHORTCUTS: ActionSpec("&Keyboard Shortcuts", ("F1", "?", "Ctrl+/")),
    MainAction.ABOUT: ActionSpec("&About Selfie Desk"),
}


@dataclass(frozen=True)
class Submenu:
    """A submenu the window fills (Open Recent, Sort By), found under `key` in what `build_menus` returns."""

    key: str
    title: str


@dataclass(frozen=True)
class Given:
    """An action or a whole menu another part owns (the docks' toggles, H, Crop, Models), handed in by key."""

    key: str


SEPARATOR = None
Item = MainAction | Submenu | Given | None

MENUS: list[tuple[str, Sequence[Item]] | Given] = [
    ("&File", [MainAction.OPEN, Submenu("recent", "Open &Recent"), SEPARATOR, MainAction.EXPORT,
               MainAction.SIDECARS, SEPARATOR, MainAction.PREFERENCES, SEPARATOR, MainAction.QUIT]),
    ("&Edit", [MainAction.UNDO, MainAction.REDO, SEPARATOR, MainAction.SELECT_ALL, MainAction.SELECT_NONE]),
    ("&Photo", [MainAction.PICK, MainAction.REJECT, MainAction.UNFLAG, SEPARATOR, *RATINGS, SEPARATOR,
                MainAction.AUTO_ADVANCE]),
    ("&View", [MainAction.GRID, MainAction.LOUPE, MainAction.COMPARE, MainAction.MAP, MainAction.MAP_SIZE,
               MainAction.MAP_FLAGS, MainAction.ZOOM, MainAction.FACES,
               Given("attention"), SEPARATOR, MainAction.LARGER, MainAction.SMALLER, MainAction.NAMES, SEPARATOR,
               Given("scores_dock"), MainAction.RESORT, Submenu("sort", "&Sort By"), Given("models_dock"),
               Given("people_dock")]),
    Given("crop"),
    ("&Groups", [MainAction.GROUP_TOGGLE, MainAction.STACK_GROUPS, MainAction.COMPARE_GROUP, SEPARATOR,
                 MainAction.KEEP_BEST, SEPARATOR, MainAction.MERGE_GROUPS, MainAction.SPLIT_GROUP, SEPARATOR,
                 MainAction.GROUPING]),
    Given("models"),
    ("&Help", [MainAction.SHORTCUTS, MainAction.ABOUT]),
]


def build_actions(window: QWidget, handlers: Mapping[MainAction, Callable[..., object]],
                  checked: Mapping[MainAction, bool] | None = None) -> dict[MainAction, QAction]:
    """One QAction per entry of ACTIONS, owned by `window` and added to it (so its keys work whichever view
    has the focus). A command's handler is called with no argument; a checkable one's with its new state,
    after it is set to `checked[action]`."""
    out: dict[MainAction, QAction] = {}
    for key, spec in ACTIONS.items():
        action = QAction(spec.text, window)
        if spec.shortcuts:
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
        if spec.tip:
            action.setStatusTip(spec.tip)
        if spec.label:
            action.setProperty("shortcut_label", spec.label)
        handler = handlers[key]
        if spec.checkable:
            action.setCheckable(True)
            action.setChecked(bool((checked or {}).get(key, False)))
            action.toggled.connect(handler)
        else:
            action.triggered.connect(lambda checked=False, handler=handler: handler())
        window.addAction(action)
        out[key] = action
    return out


def build_menus(bar: QMenuBar, actions: Mapping[MainAction, QAction],
                given: Mapping[str, QAction | QMenu]) -> dict[str, QMenu]:
    """The menu bar as MENUS lays it out. Returns the submenus the window fills, by key."""
    submenus: dict[str, QMenu] = {}
    for entry in MENUS:
        if isinstance(entry, Given):
            menu = given[entry.key]
            assert isinstance(menu, QMenu)
            bar.addMenu(menu)
            continue
        title, items = entry
        menu = bar.addMenu(title)
        submenus[title] = menu
        for item in items:
            if item is SEPARATOR:
                menu.addSeparator()
            elif isinstance(item, Submenu):
                submenus[item.key] = menu.addMenu(item.title)
            elif isinstance(item, Given):
                thing = given[item.key]
                menu.addAction(thing) if isinstance(thing, QAction) else menu.addMenu(thing)
            else:
                menu.addAction(actions[item])
    return submenus
