"""The main window: the grid, the loupe and compare, the side panel, and the keyboard culling.

It is given what it works with (the UI thread's Catalog, the Settings, how to make a Scorer) rather than
reaching for globals, so tests build it with a temporary catalog and a shared model.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from selfie_desk import __version__
from selfie_desk.core.catalog import Catalog, Photo
from selfie_desk.core.describe import name_of
from selfie_desk.core.groups import GroupIndex
from selfie_desk.core.history import Edit, EditHistory
from selfie_desk.core.indexing import canonical
from selfie_desk.core.settings import THUMBNAIL_SIZES, Settings
from selfie_desk.ui import theme
from selfie_desk.ui.actions import RATINGS, MainAction, build_actions, build_menus
from selfie_desk.ui.attention import AttentionController
from selfie_desk.ui.compare import MAX_PHOTOS, CompareView
from selfie_desk.ui.crop_controller import CropController
from selfie_desk.ui.export_dialog import ExportDialog
from selfie_desk.ui.filter_bar import FilterBar
from selfie_desk.ui.grid import PhotoGrid, ThumbnailCache
from selfie_desk.ui.grid_model import PhotoGridModel
from selfie_desk.ui.grouping_dialog import GroupingDialog
from selfie_desk.ui.grouping_watch import GroupingWatch
from selfie_desk.ui.loupe import Loupe
from selfie_desk.ui.map_view import MapView
from selfie_desk.ui.message_bar import MessageBar
from selfie_desk.ui.people_panel import PeoplePanel
from selfie_desk.ui.personal_models import PersonalModels
from selfie_desk.ui.preferences import PreferencesDialog
from selfie_desk.ui.scan_controller import ScanController
from selfie_desk.ui.scan_status import ScanStatus
from selfie_desk.ui.shortcuts import ShortcutOverlay
from selfie_desk.ui.side_panel import SidePanel
from selfie_desk.workers.cropping import CropJob, CropOutcome, CropService
from selfie_desk.workers.exporting import ExportOutcome, ExportService
from selfie_desk.workers.grouping import GroupingOutcome, GroupingService
from selfie_desk.workers.images import ImageLoader
from selfie_desk.workers.mapping import MapOutcome, MapService
from selfie_desk.workers.scoring import ScanOutcome, ScorerFactory, ScoringService
from selfie_desk.workers.service import Job

log = logging.getLogger(__name__)

APP_TITLE = "Selfie Desk"
# Quitting mid-scan: the batch in flight finishes (well under a second), then the thread ends. The long
# limit only covers a quit while the model is still loading, which cannot be interrupted.
STOP_TIMEOUT_S = 30.0
SIZE_STEP = 20  # px per + / − or Ctrl+wheel notch
KEEP_BEST_LABEL = "Keep best of"  # B's edit in the undo history ("Keep best of burst, reject 3")


def row_runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted rows as runs of adjacent rows, (first, last) each: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        elif not runs or row > runs[-1][1]:
            runs.append((row, row))
    return runs


def stars_label(n: int) -> str:
    return "No stars" if n == 0 else f"{n} star{'s' if n > 1 else ''}"


class MainWindow(QMainWindow):
    folder_opened = Signal(str)
    scan_finished = Signal(object)  # ScanOutcome of the current folder's scan
    mode_changed = Signal(str)  # grid | loupe | compare | map
    grouped = Signal(object)  # GroupingOutcome: the folder was grouped again (after a scan, new thresholds)
    map_ready = Signal(object)  # MapOutcome: the map of the folder is laid out (or could not be)

    def __init__(self, catalog: Catalog, settings: Settings, scorer_factory: ScorerFactory | None = None,
                 batch_size: int = 16, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.settings, self.batch_size = catalog, settings, batch_size
        self.history = EditHistory(catalog)  # undo and redo, per folder, kept in the catalog
        theme.apply(settings.theme)
        self.folder: Path | None = None
        self.mode = "grid"
        self._reported_errors: set[int] = set()
        self._auto_selected: int | None = None  # the photo the window selected by itself, until the user moves
        self._resort_on_finish = False  # the user asked for a new order (another model): re-sort when scored
        self._before_review: tuple[str, object] | None = None  # sort and filter to go back to after a review
        self._shut_down = False
        self.preferences_dialog: PreferencesDialog | None = None

        self.scoring = ScoringService(catalog.path, scorer_factory, parent=self)
        self.exports = ExportService(catalog.path, parent=self)
        self.grouping = GroupingService(catalog.path, parent=self)  # groups of one moment (issue 14)
        self._grouping_job: Job | None = None
        self.grouping_dialog: GroupingDialog | None = None
        self.grouping_watch = GroupingWatch(catalog, self)  # a regrouping made elsewhere shows here (issue 28)
        self.grouping_watch.changed.connect(self._groups_changed_elsewhere)
        self.grouping_watch.start()
        self.export_dialog: ExportDialog | None = None
        self.thumbnail_loader = ImageLoader(threads=2, name="thumbnails", parent=self)
        self.preview_loader = ImageLoader(threads=1, max_pending=8, name="previews", parent=self)
        self.thumbs = ThumbnailCache(self.thumbnail_loader, settings.thumbnail_size)

        self.model = PhotoGridModel(self)
        self.model.sort = settings.sort
        self.model.stacked = settings.stack_groups
        self.grid = PhotoGrid(self.thumbs, self)
        self.grid.setModel(self.model)
        self.grid.set_show_names(settings.show_names)
        self.loupe = Loupe(self.preview_loader, self.thumbs, self)
        self.compare = CompareView(self.preview_loader, self.thumbs, self)
        self.loupe.caption_extra = self.compare.caption_extra = self._caption_extra
        self.map = MapView(self.thumbs, self)  # the folder laid out by similarity (issue 20)
        self.mapping = MapService(catalog.path, parent=self)
        self._map_job: Job | None = None
        self._map_folder: str | None = None  # the folder whose map the view shows (or is being laid out)
        self._from_map = False  # the loupe or compare was opened from the map: Esc goes back there
        self.stack = QStackedWidget(self)
        for w in (self.grid, self.loupe, self.compare, self.map):
            self.stack.addWidget(w)
        self.messages = MessageBar(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.messages)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.filters = FilterBar(settings.sort, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.filters)
        self.side = SidePanel(self)
        self.side_dock = QDockWidget("Scores", self)
        self.side_dock.setObjectName("scores_dock")
        side_scroll = QScrollArea(self)  # a long group list scrolls; it never squeezes the photo's details
        side_scroll.setWidget(self.side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_dock.setWidget(side_scroll)
        self.side_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                   | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.side_dock)
        self.personal = PersonalModels(self)  # the Models panel and menu: choose, train, review (issue 7)
        self.models_dock = QDockWidget("Models", self)
        self.models_dock.setObjectName("models_dock")
        self.models_dock.setWidget(self.personal.panel)
        self.models_dock.setFeatures(self.side_dock.features())
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.models_dock)
        self.people_panel = PeoplePanel(self)  # who is in the photo, the shoot's people (issue 28)
        self.people_dock = QDockWidget("People", self)
        self.people_dock.setObjectName("people_dock")
        self.people_dock.setWidget(self.people_panel)
        self.people_dock.setFeatures(self.side_dock.features())
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.people_dock)
        self.people_panel.person_chosen.connect(lambda n: self.filters.people_box.choose(n))

        self.count_label = QLabel(self)
        self.scan_status = ScanStatus(self)
        self.statusBar().addWidget(self.count_label, 1)
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)  # the thumbnails' size, as in every browser
        self.size_slider.setRange(*THUMBNAIL_SIZES)
        self.size_slider.setSingleStep(SIZE_STEP)
        self.size_slider.setPageStep(SIZE_STEP)
        self.size_slider.setValue(settings.thumbnail_size)
        self.size_slider.setFixedWidth(120)
        self.size_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the photos
        self.size_slider.setToolTip("Thumbnail size (+ / −, Ctrl+wheel)")
        self.size_slider.valueChanged.connect(self.set_thumbnail_size)
        self.statusBar().addPermanentWidget(self.size_slider)
        self.statusBar().addPermanentWidget(self.scan_status)
        self.scan = ScanController(self.scoring, self.scan_status, self)
        # Cropping (issue 4): proposals on a thread of their own, so the loupe's photo never waits for a scan
        self.crop_status = ScanStatus(self, verb="Proposing crops")
        self.crop_status.cancel.setToolTip("Stop proposing crops; those proposed so far are kept")
        self.crop_status.device.hide()
        self.crop_status.layout().insertSpacing(0, 12)
        self.statusBar().addPermanentWidget(self.crop_status)
        self.cropping = CropService(catalog.path, scorer_factory, parent=self)
        self.crop = CropController(catalog, settings, self.loupe, self.cropping, self.crop_status, self,
                                   targets=self._targets, history=self.history)
        self.attention = AttentionController(self.loupe, self.cropping, settings, self)
        self.attention.message.connect(lambda text: self.statusBar().showMessage(text, 8000))

        self._repaint_timer = QTimer(self)  # thumbnails arrive in bursts: repaint the grid once per burst
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(30)
        self._repaint_timer.timeout.connect(self.grid.viewport().update)

        self._build_actions()
        self._connect()
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_TITLE)
        self.resize(1280, 820)

    # ---- construction ------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        """The actions and menus of ui/actions.py, with what each does here."""
        A = MainAction
        handlers = {
            A.OPEN: self.choose_folder, A.EXPORT: self.show_export, A.SIDECARS: self.write_sidecars,
            A.PREFERENCES: self.show_preferences, A.QUIT: self.close, A.UNDO: self.undo, A.REDO: self.redo,
            A.SELECT_ALL: self.select_all, A.SELECT_NONE: self.select_none,
            A.PICK: lambda: self.set_decision("keep"), A.REJECT: lambda: self.set_decision("reject"),
            A.UNFLAG: lambda: self.set_decision(None),
            **{a: (lambda n=n: self.set_rating(n)) for n, a in enumerate(RATINGS)},
            A.AUTO_ADVANCE: self._set_auto_advance, A.GRID: self.back, A.LOUPE: self.toggle_loupe,
            A.COMPARE: self.show_compare, A.ZOOM: self.toggle_zoom, A.FACES: self._set_show_faces,
            A.LARGER: lambda: self.zoom_thumbnails(+1), A.SMALLER: lambda: self.zoom_thumbnails(-1),
            A.NAMES: self._set_show_names, A.RESORT: self.resort, A.SHORTCUTS: self.show_shortcuts,
            A.ABOUT: self.show_about, A.GROUP_TOGGLE: self.toggle_group, A.STACK_GROUPS: self.set_stacked,
            A.COMPARE_GROUP: self.compare_group, A.KEEP_BEST: self.keep_best, A.MERGE_GROUPS: self.merge_selected,
            A.SPLIT_GROUP: self.split_selected, A.GROUPING: self.show_grouping,
            A.MAP: self.toggle_map, A.MAP_SIZE: self._set_map_size, A.MAP_FLAGS: self._set_map_flags,
        }
        checked = {A.AUTO_ADVANCE: self.settings.auto_advance, A.FACES: self.settings.show_faces,
                   A.NAMES: self.settings.show_names, A.STACK_GROUPS: self.settings.stack_groups,
                   A.MAP_SIZE: self.map.size_by_score, A.MAP_FLAGS: self.map.show_flags}
        self.main_actions = actions = build_actions(self, handlers, checked)
        self.addAction(self.attention.action)  # H: its key works whichever view has the focus
        self.open_action, self.export_action = actions[A.OPEN], actions[A.EXPORT]
        self.sidecars_action, self.preferences_action = actions[A.SIDECARS], actions[A.PREFERENCES]
        self.quit_action, self.undo_action, self.redo_action = actions[A.QUIT], actions[A.UNDO], actions[A.REDO]
        self.auto_advance_action, self.faces_action = actions[A.AUTO_ADVANCE], actions[A.FACES]
        self.names_action, self.resort_action = actions[A.NAMES], actions[A.RESORT]
        self.shortcuts_action = actions[A.SHORTCUTS]
        self.stack_action, self.keep_best_action = actions[A.STACK_GROUPS], actions[A.KEEP_BEST]
        self.map_action = actions[A.MAP]
        self.filters.addSeparator()  # the Map button and its two toggles, beside the grid's sort and filters
        for a in (A.MAP, A.MAP_SIZE, A.MAP_FLAGS):
            self.filters.addAction(actions[a])
        self.rating_actions = [actions[a] for a in RATINGS]

        bar = self.menuBar()
        menus = build_menus(bar, actions, {
            "attention": self.attention.action, "scores_dock": self.side_dock.toggleViewAction(),
            "models_dock": self.models_dock.toggleViewAction(), "people_dock": self.people_dock.toggleViewAction(),
            "crop": self.crop.menu,
            "models": self.personal.menu(self)})
        self.recent_menu = menus["recent"]
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        menus["&Edit"].aboutToShow.connect(self._update_undo_actions)
        self._update_undo_actions()
        self.crop.selection_action.triggered.connect(lambda: self.propose_crops(folder=False))
        self.crop.folder_action.triggered.connect(lambda: self.propose_crops(folder=True))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.crop.toolbar)
        group = QActionGroup(self)  # Sort By: the filter bar's sorts, as a menu
        for i in range(self.filters.sort_box.count()):
            a = QAction(self.filters.sort_box.itemText(i), self, checkable=True)
            a.setData(self.filters.sort_box.itemData(i))
            a.setChecked(a.data() == self.model.sort)
            key = a.data()
            a.triggered.connect(lambda checked=False, key=key: self.filters.set_sort(key))
            group.addAction(a)
            menus["sort"].addAction(a)
        self.sort_actions = group
        self.shortcut_overlay = ShortcutOverlay(bar, self)

    def _connect(self) -> None:
        self.scan.listed.connect(self._on_listed)
        self.scan.changed.connect(self._on_changed)
        self.scan.finished.connect(self._on_finished)
        self.scan.message.connect(self.show_message)
        self.thumbnail_loader.loaded.connect(self._on_thumbnail)
        self.thumbnail_loader.failed.connect(self._on_thumbnail_failed)
        self.filters.changed.connect(self._on_filters_changed)
        self.grid.selectionModel().currentChanged.connect(self._on_current_changed)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_counts())
        self.grid.opened.connect(lambda _id: self.show_loupe())
        self.grid.stack_clicked.connect(self._on_stack_clicked)
        self.grouped.connect(self._outline_map_again)
        self.map.opened.connect(self._open_from_map)
        self.map.current_changed.connect(self._on_map_current)
        self.map.region_selected.connect(self._on_map_region)
        self.grid.zoom_requested.connect(self.zoom_thumbnails)
        self.loupe.step.connect(self.step_loupe)
        self.compare.active_changed.connect(lambda _id: self._update_side_panel())
        self.model.modelReset.connect(self._update_counts)
        self.crop.photos_changed.connect(self._on_crop_photos_changed)
        self.crop.message.connect(self._on_crop_message)
        self.crop.batch_finished.connect(self._on_crops_finished)
        self.crop.loupe_wanted.connect(self.show_loupe)
        self.crop.aspect_changed.connect(lambda _aspect: self._save_settings())
        self.mode_changed.connect(lambda mode: self.crop.discard() if mode != "loupe" else None)

    # ---- folders -----------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = str(self.folder) if self.folder else os.path.expanduser("~")
        folder = QFileDialog.getExistingDirectory(self, "Open Folder", start)
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path | str) -> bool:
        """Show what the catalog knows of `folder` at once, then index and score it in the background."""
        target = canonical(Path(folder).expanduser())
        if not target.is_dir():
            self.show_message(f"Cannot open {target}: there is no such folder (moved, renamed or unplugged?)")
            return False
        self.messages.clear()
        self.crop.cancel_batch()  # crops still being proposed for the folder being left
        self.folder = target
        self.history.scope = str(target)
        self._end_review()
        self._update_undo_actions()
        self.settings.add_recent(str(target))
        self._save_settings()
        self.setWindowTitle(f"{target.name or target} — {APP_TITLE}")
        self._reported_errors.clear()
        self.thumbs.clear()
        self._forget_map()
        try:
            photos = self.catalog.photos(self.settings.model, folder=str(target))
        except sqlite3.Error as exc:
            self.show_message(f"Cannot read the catalog: {exc}")
            photos = []
        self.show_grid()
        self.model.expanded.clear()
        self.model.set_photos(photos)
        self._keep_long_lived()
        self.model.set_groups(GroupIndex())  # the stored groups come ranked from the grouping thread
        self._rank_stored_groups()
        self._select_first()
        self._report_errors(photos)
        self._update_side_panel()
        self.scan.start(target, self.settings.model, self.settings.device, self.batch_size)
        self.folder_opened.emit(str(target))
        return True

    def cancel_scan(self) -> None:
        self.scan.cancel()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_folders:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda checked=False, f=folder: self.open_folder(f))
        if self.settings.recent_folders:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._clear_recent)
        else:
            self.recent_menu.addAction("No recent folders").setEnabled(False)

    def _clear_recent(self) -> None:
        self.settings.recent_folders = [str(self.folder)] if self.folder else []
        self._save_settings()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        folder = self._dropped_folder(event)
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    @staticmethod
    def _dropped_folder(event) -> Path | None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir():
                    return path
                if path.is_file():
                    return path.parent
        return None

    # ---- the current scan's photos (ui/scan_controller.py holds the job) ---------------------------
    @Slot(object)
    def _on_listed(self, photos: list[Photo]) -> None:
        if {p.id for p in photos} != {p.id for p in self.model.all_photos()}:
            self._keeping_selection(lambda: self.model.set_photos(photos))
        else:
            self.model.merge(photos)
        self._report_errors(photos)
        self._after_photos_changed(photos)

    @Slot(object)
    def _on_changed(self, photos: list[Photo]) -> None:
        if self.model.merge(photos):  # photos the window did not know: take the catalog's view
            self._keeping_selection(lambda: self.model.set_photos(
                self.catalog.photos(self.settings.model, folder=str(self.folder))))
        self._report_errors(photos)
        self._after_photos_changed(photos)

    @Slot(object)
    def _on_finished(self, outcome: ScanOutcome) -> None:
        self._resort_when_safe("All scored")
        if outcome.summary is not None and not outcome.error:
            self.regroup()  # new scores and features: the groups of one moment again (the user's edits kept)
        if self._map_folder is not None:  # photos scored since the map was made join it (from the cache: quick)
            if self.mode == "map":
                self._lay_out_map()
            else:
                self._map_folder = None  # laid out again (added to) when the map is next shown
        self.scan_finished.emit(outcome)

    def _user_is_looking(self) -> bool:
        """Whether the user has moved to a photo (or opened one): re-sorting now would move it under them."""
        if self.mode != "grid":
            return True
        current = self.grid.currentIndex()
        if not current.isValid():
            return False
        selected = [p.id for p in self.selected_photos()]
        return not (self.model.photo(current.row()).id == self._auto_selected and selected == [self._auto_selected])

    def _resort_when_safe(self, what: str) -> None:
        """New scores are in. Sort them in at once unless the user is at work on a photo: then the grid keeps its
        order (the photo looked at never jumps rows) and F5 sorts it when they want."""
        if self._resort_on_finish or not self._user_is_looking():
            self._resort_on_finish = False
            self._keeping_selection(self.model.refresh)  # now sorted best first
            return
        self.statusBar().showMessage(f"{what}: the grid keeps its order while you work; "
                                     "F5 (View > Re-sort Now) puts it in order", 10000)

    def resort(self) -> None:
        self._keeping_selection(self.model.refresh)
        self.statusBar().showMessage("Sorted again", 3000)

    def _after_photos_changed(self, photos: list[Photo]) -> None:
        scored = len(self.model.scores())
        for p in photos:
            if self.mode == "loupe":
                self.loupe.update_photo(p, self.model.rank(p), scored)
            elif self.mode == "compare":
                self.compare.update_photo(p, self.model.rank(p), scored)
        self._update_side_panel()
        self._update_counts()
        if self._map_folder is not None:
            self.map.update_photos([self.model.get(p.id) or p for p in photos])

    def _report_errors(self, photos: list[Photo]) -> None:
        new = [p for p in photos if p.error and p.id not in self._reported_errors]
        if not new:
            return
        self._reported_errors.update(p.id for p in new)
        if len(self._reported_errors) <= 3:
            for p in new:
                self.show_message(f"Cannot read {name_of(p)}: {p.error}", "warning")
        else:
            self.messages.clear()
            self.show_message(f"{len(self._reported_errors)} photos could not be read; they are marked ! "
                              "in the grid (hover one to see why)", "warning")

    # ---- thumbnails --------------------------------------------------------------------------------
    @Slot(str, QImage)
    def _on_thumbnail(self, key: str, image: QImage) -> None:
        self.thumbs.store(key, image)
        if self.mode == "map":
            self.map.thumbnail_arrived(key)
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    @Slot(str, str)
    def _on_thumbnail_failed(self, key: str, message: str) -> None:
        self.thumbs.store_failure(key, message)
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    # ---- sort, filter, selection -------------------------------------------------------------------
    def _on_filters_changed(self) -> None:
        sort = self.filters.sort
        self._keeping_selection(lambda: self.model.set_view(sort, self.filters.photo_filter()))
        for a in self.sort_actions.actions():
            a.setChecked(a.data() == sort)
        if sort != self.settings.sort and sort != "uncertain":  # a review is for now, not the next start
            self.settings.sort = sort
            self._save_settings()
        if sort != "uncertain":
            self._before_review = None
        if self._map_folder is not None:
            self.map.set_photos(self.model.filtered_photos())  # the grid's filters apply to the map
        if self.mode == "grid":
            self.grid.setFocus()
        elif self.mode == "map":
            self.map.setFocus()

    def set_sort(self, sort: str) -> None:
        self.filters.set_sort(sort)

    def current_photo(self) -> Photo | None:
        if self.mode == "loupe":
            return self.loupe.photo
        if self.mode == "compare":
            return self.compare.active_photo()
        if self.mode == "map":
            return self.model.get(self.map.current) if self.map.current is not None else None
        index = self.grid.currentIndex()
        return self.model.photo(index.row()) if index.isValid() else None

    def selected_photos(self) -> list[Photo]:
        return [self.model.photo(r) for r in self._selected_rows()]

    def _selected_rows(self) -> list[int]:
        """The selected rows, in order, read from the selection's ranges: Qt's selectedRows() makes an index per
        row (2 s a call at 16,700 rows selected, and the counts asked for it on every change)."""
        rows: set[int] = set()
        for r in self.grid.selectionModel().selection():
            rows.update(range(r.top(), r.bottom() + 1))
        return sorted(rows)

    def _select_row(self, row: int) -> None:
        """Select one photo, as the user would with the arrows (or, for row 0 of a new view, for them)."""
        self._auto_selected = None
        if not 0 <= row < self.model.rowCount():
            self._update_side_panel()
            return
        index = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(index)
        self._update_side_panel()

    def _select_first(self) -> None:
        self._select_row(0)
        self._auto_selected = self.model.photo(0).id if self.model.rowCount() else None

    @staticmethod
    def _keep_long_lived() -> None:
        """The folder's photos (and groups) just loaded live as long as the folder is open: moved out of the cyclic
        garbage collector's sight (as app.tune_process does at start). At 50,000 photos each full collection
        walked them all and froze the window 1.5-2.2 s, 14 times in ten keystrokes (issue 31). They hold no
        reference cycles: replaced photos are still freed by their reference counts."""
        gc.freeze()

    def _keeping_selection(self, change: Callable[[], None]) -> None:
        """Apply a change that rebuilds the rows, keeping the current and selected photos where they went.

        A selection the window made itself (the first photo, on opening) is not kept but made again: after
        the scan re-sorts the folder best first, the first photo is the best one."""
        current = self.grid.currentIndex()
        current_id = self.model.photo(current.row()).id if current.isValid() else None
        selected = [p.id for p in self.selected_photos()]
        change()
        self._keep_long_lived()
        if current_id is None or (current_id == self._auto_selected and selected == [current_id]):
            self._select_first()
            return
        # one range per run of adjacent rows (everything selected: one range), never one per row: Qt merges a
        # selection's ranges pairwise, and 16,700 one-row ranges froze the window for 30-60 s (issue 31)
        selection = QItemSelection()
        kept = sorted(r for r in (self.model.row_of(pid) for pid in selected) if r is not None)
        for first, last in row_runs(kept):
            selection.select(self.model.index(first), self.model.index(last))
        row = self.model.row_of(current_id) if current_id is not None else None
        group = self.model.groups.group_of(current_id) if row is None and current_id is not None else None
        if group is not None:  # folded into its stack: the cursor on the stack
            rows = self.model.group_rows(group.id)
            row = rows[0] if rows else None
        if row is None:
            rows = [self.model.row_of(pid) for pid in selected]
            rows = [r for r in rows if r is not None]
            row = rows[0] if rows else 0
        if self.model.rowCount():
            sm = self.grid.selectionModel()
            sm.setCurrentIndex(self.model.index(row), QItemSelectionModel.SelectionFlag.NoUpdate)
            if selection.isEmpty():
                selection.select(self.model.index(row), self.model.index(row))
            sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(self.model.index(row))
        self._update_side_panel()

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._update_side_panel()

    def _update_side_panel(self) -> None:
        total, _picks, _rejects, unreadable = self.model.counts()
        self.side.set_scores(self.model.scores(), total - unreadable, unreadable)
        p = self.current_photo()
        if p is not None:
            p = self.model.get(p.id) or p
        self.side.set_photo(p, None if p is None else self.model.rank(p), len(self.model.scores()))
        group = None if p is None else self.model.groups.group_of(p.id)
        self.side.set_group(group, None if p is None else p.id,
                            None if group is None else {m.photo.id: self.model.badges(m.photo.id)
                                                        for m in group.members})
        self.people_panel.show_photo(p)

    def _update_counts(self) -> None:
        total, picks, rejects, _unreadable = self.model.counts()
        text = f"{total} photos · {picks} pick{'s' if picks != 1 else ''} · {rejects} reject" + (
            "s" if rejects != 1 else "")
        stacks = len(self.model.groups.stacks())
        if stacks:
            text += f" · {stacks} group{'s' if stacks != 1 else ''}"
        if self.model.filter.active or (stacks and self.model.stacked):
            text += f" · showing {self.model.rowCount()}"
        selected = sum(r.height() for r in self.grid.selectionModel().selection())  # ranges: no row list
        if selected > 1:
            text += f" · {selected} selected"
        self.count_label.setText(text)

    # ---- culling -----------------------------------------------------------------------------------
    def _targets(self) -> list[Photo]:
        """What a flag or rating key applies to: the grid's selection, or the photo shown large."""
        if self.mode == "map" and self.map.selected:  # a region dragged on the map: every frame in it, stacked or not
            return [p for p in (self.model.get(pid) for pid in sorted(self.map.selected)) if p is not None]
        if self.mode in ("grid", "map"):
            selected = self.selected_photos()
            if selected:
                return selected
        p = self.current_photo()
        return [p] if p is not None else []

    def set_decision(self, decision: str | None) -> None:
        self._apply({"keep": "Pick", "reject": "Reject", None: "Unflag"}[decision], "decision", decision)

    def set_rating(self, rating: int) -> None:
        self._apply(stars_label(rating), "rating", rating)

    def _apply(self, label: str, field: str, value: object) -> None:
        targets = self._targets()
        if not targets:
            return
        ids = [p.id for p in targets]
        try:  # persisted at once (a crash or a kill keeps every keystroke), and logged for undo
            edit = self.history.apply(label, [(pid, field, value) for pid in ids])
        except sqlite3.Error as exc:
            self.show_message(f"Could not save to the catalog: {exc}")
            return
        updated = self.model.update_many(ids, **{field: value})  # one repaint, not one per photo
        self._after_photos_changed(updated)
        self._update_undo_actions()
        if len(ids) > 1:  # a bulk action says how many photos it touched, and how to take it back
            changed = len(edit.photo_ids) if edit else 0
            self.statusBar().showMessage(
                f"{label} on {len(ids)} photos ({changed} changed) · Ctrl+Z undoes", 8000)
        if self.settings.auto_advance:
            self.advance(+1)

    # ---- undo and redo -----------------------------------------------------------------------------
    def undo(self) -> Edit | None:
        return self._step_history(undo=True)

    def redo(self) -> Edit | None:
        return self._step_history(undo=False)

    def _step_history(self, undo: bool) -> Edit | None:
        if self.folder is None:
            return None
        self.crop.discard()  # an open crop overlay would show a box the undo just changed
        try:
            edit = self.history.undo() if undo else self.history.redo()
        except sqlite3.Error as exc:
            self.show_message(f"Could not {'undo' if undo else 'redo'}: {exc}")
            return None
        self._update_undo_actions()
        if edit is None:
            self.statusBar().showMessage(f"Nothing to {'undo' if undo else 'redo'}", 4000)
            return None
        if edit.fields <= {"decision", "rating"}:  # a flag or stars (a bulk one too): what it wrote, shown
            updated = self.model.set_decisions({pid: dict(values) for pid, values in edit.written.items()})
            self._after_photos_changed(updated)
        else:
            self._reread(edit.photo_ids)
        if edit.regrouped:
            self._rank_stored_groups()
        self.statusBar().showMessage(f"{'Undone' if undo else 'Redone'}: {edit.description}", 8000)
        if edit.label.startswith(KEEP_BEST_LABEL):  # the message bar said what B did: it says this too
            self.messages.clear()
            self.show_message(f"{'Undone' if undo else 'Redone'}: {edit.description}", "info")
        return edit

    def _reread(self, photo_ids) -> None:
        """Show what the catalog now says of these photos (after an undo or a redo)."""
        known = [self.model.get(pid) for pid in photo_ids]
        try:
            fresh = self.catalog.photos(self.settings.model, paths=[p.path for p in known if p is not None])
        except sqlite3.Error as exc:
            self.show_message(f"Cannot read the catalog: {exc}")
            return
        self.model.merge(fresh)
        self._after_photos_changed(fresh)
        if self.mode == "loupe" and self.loupe.photo is not None:
            self.crop.show_photo(self.model.get(self.loupe.photo.id) or self.loupe.photo)

    def _update_undo_actions(self) -> None:
        try:
            next_undo = self.history.next_undo() if self.folder is not None else None
            next_redo = self.history.next_redo() if self.folder is not None else None
        except sqlite3.Error:
            next_undo = next_redo = None
        self.undo_action.setText(f"&Undo {next_undo.description}" if next_undo else "&Undo")
        self.redo_action.setText(f"&Redo {next_redo.description}" if next_redo else "&Redo")

    def select_all(self) -> None:
        self.show_grid()
        self.grid.selectAll()

    def select_none(self) -> None:
        current = self.grid.currentIndex()
        self.grid.selectionModel().clearSelection()
        if current.isValid():  # the photo under the cursor stays the one a key applies to
            self.grid.selectionModel().select(current, QItemSelectionModel.SelectionFlag.Select)

    def advance(self, delta: int) -> None:
        if self.mode == "loupe":
            self.step_loupe(delta)
        elif self.mode == "compare":
            self.compare.step(delta)
        else:
            row = self.grid.currentIndex().row() + delta
            if 0 <= row < self.model.rowCount():
                self._select_row(row)

    def _set_auto_advance(self, on: bool) -> None:
        self.settings.auto_advance = on
        self._save_settings()

    # ---- views -------------------------------------------------------------------------------------
    def _set_mode(self, mode: str, widget: QWidget) -> None:
        self.mode = mode
        self.stack.setCurrentWidget(widget)
        widget.setFocus()
        self._update_side_panel()
        self.mode_changed.emit(mode)

    def back(self) -> None:
        """Esc: from the loupe or compare back where they were opened (the grid or the map); else the grid."""
        if self.mode in ("loupe", "compare") and self._from_map:
            self.show_map()
        else:
            self.show_grid()

    def show_grid(self) -> None:
        self._from_map = False
        if self.mode == "loupe" and self.loupe.photo is not None:
            row = self.model.row_of(self.loupe.photo.id)
            if row is not None:
                self._select_row(row)
        elif self.mode == "compare":
            active = self.compare.active_photo()
            if active is not None and self.model.row_of(active.id) is not None:
                self.grid.selectionModel().setCurrentIndex(
                    self.model.index(self.model.row_of(active.id)), QItemSelectionModel.SelectionFlag.NoUpdate)
        self._set_mode("grid", self.grid)

    def toggle_loupe(self) -> None:
        if self.mode == "loupe":
            self.show_grid()
        else:
            self.show_loupe()

    def show_loupe(self, photo: Photo | None = None) -> None:
        if self.mode == "map":
            self._from_map = True
            photo = photo or self.current_photo()
        if photo is None:
            photo = self.compare.active_photo() if self.mode == "compare" else None
        if photo is None:
            index = self.grid.currentIndex()
            if not index.isValid():
                return
            photo = self.model.photo(index.row())
        self.loupe.set_show_faces(self.faces_action.isChecked())
        self._show_in_loupe(photo)
        self._set_mode("loupe", self.loupe)

    def _show_in_loupe(self, photo: Photo) -> None:
        row = self.model.row_of(photo.id)
        following = self.model.photo(row + 1) if row is not None and row + 1 < self.model.rowCount() else None
        self.loupe.show_photo(photo, self.model.rank(photo), len(self.model.scores()), following)
        self.crop.show_photo(photo)
        self.attention.show_photo(photo)

    def step_loupe(self, delta: int) -> None:
        if self.loupe.photo is None:
            return
        row = self.model.row_of(self.loupe.photo.id)
        if row is None:
            return
        row += delta
        if 0 <= row < self.model.rowCount():
            self._show_in_loupe(self.model.photo(row))
            self.grid.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self._update_side_panel()

    def show_compare(self) -> None:
        photos = self.selected_photos() if self.mode in ("grid", "map") else self.compare.photos()
        current = self.current_photo()
        if len(photos) < 2 and current is not None and len(self.model.groups.member_ids(
                getattr(self.model.groups.group_of(current.id), "id", -1))) > 1:
            self.compare_group()  # one photo of a group: its frames are what there is to compare
            return
        if self.mode == "map" and len(photos) >= 2:
            self._from_map = True
        if len(photos) < 2:
            self.statusBar().showMessage("Select 2 to 4 photos (Ctrl+click or Shift+click) to compare them", 5000)
            return
        if len(photos) > MAX_PHOTOS:
            self.statusBar().showMessage(f"Comparing the first {MAX_PHOTOS} of the {len(photos)} selected", 5000)
        ranks = {p.id: self.model.rank(p) for p in photos}
        self.compare.set_show_faces(self.faces_action.isChecked())
        self.compare.show_photos(photos, ranks, len(self.model.scores()))
        self._set_mode("compare", self.compare)

    def toggle_zoom(self) -> None:
        if self.mode == "map":
            self.map.toggle_zoom()
        elif self.mode == "loupe":
            self.loupe.canvas.toggle_zoom()
        elif self.mode == "compare":
            self.compare.toggle_zoom()

    def zoom_thumbnails(self, steps: int) -> None:
        self.set_thumbnail_size(self.settings.thumbnail_size + steps * SIZE_STEP)

    def set_thumbnail_size(self, edge: int) -> None:
        """The grid's thumbnails at `edge` px (within the settings' limits), kept for next time."""
        edge = max(THUMBNAIL_SIZES[0], min(THUMBNAIL_SIZES[1], int(edge)))
        if self.size_slider.value() != edge:
            self.size_slider.blockSignals(True)
            self.size_slider.setValue(edge)
            self.size_slider.blockSignals(False)
        if edge == self.thumbs.edge:
            return
        current = self.grid.currentIndex()
        self.settings.thumbnail_size = edge
        self.thumbs.set_edge(edge)
        self.grid.relayout()
        if current.isValid():
            self.grid.scrollTo(current)  # the photo being looked at stays in view
        self._save_settings()

    def _set_show_names(self, show: bool) -> None:
        self.settings.show_names = show
        self.grid.set_show_names(show)
        self._save_settings()

    def _set_show_faces(self, show: bool) -> None:
        self.loupe.set_show_faces(show)
        self.compare.set_show_faces(show)
        self.settings.show_faces = show
        self._save_settings()

    # ---- groups of one moment (issue 14; core/groups.py ranks, workers/grouping.py groups) -----------------
    def _set_groups(self, groups: GroupIndex) -> None:
        self._keeping_selection(lambda: self.model.set_groups(groups))
        self.people_panel.set_people(groups.people)
        self.filters.people_box.set_people(groups.people)
        if self.filters.people_box.person:  # the chosen person's photos as the people are now
            self._on_filters_changed()
        self._update_side_panel()

    def regroup(self) -> Job | None:
        """Group the folder afresh with the settings' thresholds, in the background; groups the user edited stay."""
        return self._grouping(lambda folder: self.grouping.start(folder, self.settings.model,
                                                                 self.settings.grouping_params()))

    def _rank_stored_groups(self) -> Job | None:
        """The folder's groups as stored (on opening it, after the user's edit), ranked in the background."""
        return self._grouping(lambda folder: self.grouping.rank(folder, self.settings.model))

    def _grouping(self, start: Callable[[Path], Job]) -> Job | None:
        if self.folder is None or self._shut_down:  # a scan's last report may come after the quit
            return None
        if self._grouping_job is not None:
            self._grouping_job.ignore()
        job = self._grouping_job = start(self.folder)
        job.finished.connect(self._on_grouped)
        return job

    @Slot(object)
    def _on_grouped(self, outcome: GroupingOutcome) -> None:
        self._grouping_job = None
        self.grouping_watch.seen(outcome.generation)
        if outcome.error:
            self.show_message(outcome.error, "warning")
            return
        if outcome.photos is None or outcome.ranked is None:
            return
        self.model.merge(outcome.photos)  # their group ids
        self._set_groups(outcome.index or GroupIndex(outcome.ranked))
        if not outcome.regrouped:
            self.grouped.emit(outcome)
            return
        self.statusBar().showMessage(
            f"{outcome.groups} group{'s' if outcome.groups != 1 else ''} of one moment ({outcome.grouped} photos)"
            + (": G expands one, B keeps its best and rejects the rest" if outcome.groups else ""), 8000)
        self.grouped.emit(outcome)


    def _groups_changed_elsewhere(self, _generation: int) -> None:
        """The catalog's groups changed outside this window (`selfie-desk groups`, another window): read them again,
        unless this window's own grouping is under way (its outcome brings them)."""
        if self.folder is None or self._grouping_job is not None:
            return
        self._rank_stored_groups()
        self.statusBar().showMessage("The groups were changed outside this window: showing them as they are now",
                                     5000)

    def _current_group(self):
        p = self.current_photo()
        group = None if p is None else self.model.groups.group_of(p.id)
        if group is None or len(group.members) < 2:
            self.statusBar().showMessage("This photo is in no group of one moment (Ctrl+G merges selected photos "
                                         "into one)", 5000)
            return None
        return group

    def toggle_group(self) -> None:
        """G: expand the group under the cursor, or fold it to its best (the cursor goes with it)."""
        if self.mode != "grid":
            self.show_grid()
        group = self._current_group()
        if group is None:
            return
        if not self.model.stacked:
            self.statusBar().showMessage("Groups are not stacked (Groups > Stack Groups, Shift+G)", 5000)
            return
        self._toggle(group.id)

    def _toggle(self, group_id: int) -> None:
        best = self.model.groups.member_ids(group_id)[0]
        current = self.current_photo()
        expanded = group_id in self.model.expanded
        self._keeping_selection(lambda: self.model.toggle_expanded(group_id))
        if expanded or current is None or self.model.row_of(current.id) is None:
            self._select_row(self.model.row_of(best) or 0)  # folded: the cursor on the stack
        n = len(self.model.groups.member_ids(group_id))
        self.statusBar().showMessage(f"{'Folded' if expanded else 'Showing'} the {n} frames of the group"
                                     + ("" if expanded else " (G folds them again)"), 4000)

    @Slot(int)
    def _on_stack_clicked(self, photo_id: int) -> None:
        group = self.model.groups.group_of(photo_id)
        if group is not None:
            row = self.model.row_of(photo_id)
            if row is not None:
                self._select_row(row)
            self._toggle(group.id)

    def set_stacked(self, on: bool) -> None:
        """Shift+G: groups as stacks, or every frame in the grid's plain order."""
        self.settings.stack_groups = on
        self._save_settings()
        if self.stack_action.isChecked() != on:
            self.stack_action.setChecked(on)
        self._keeping_selection(lambda: self.model.set_stacked(on))

    def compare_group(self) -> None:
        """Shift+C: the group's frames (best first, up to four) side by side at one zoom, on the faces."""
        group = self._current_group()
        if group is None:
            return
        photos = [self.model.get(m.photo.id) or m.photo for m in group.members]
        if len(photos) > MAX_PHOTOS:
            self.statusBar().showMessage(f"Comparing the best {MAX_PHOTOS} of the group's {len(photos)} frames", 5000)
        ranks = {p.id: self.model.rank(p) for p in photos}
        self.compare.set_show_faces(self.faces_action.isChecked())
        self.compare.show_photos(photos, ranks, len(self.model.scores()))
        self.compare.show_key_faces(self.model.groups.people)  # every key person's face, side by side (issue 28)
        self._set_mode("compare", self.compare)
        self.compare.layout().activate()  # the panes' sizes, which the face zoom is measured on
        self.compare.zoom_on_faces()
        QTimer.singleShot(0, lambda: self.compare.zoom_on_faces() if self.mode == "compare" else None)

    def keep_best(self) -> Edit | None:
        """B: pick the group's best and reject its other frames, as one undoable edit, said in the message bar.
        The frame kept is the one chosen when there is a choice: the compare's active pane, the loupe's photo,
        the cursor in an expanded group; else the best. A bracket or a panorama only gets its pick."""
        group = self._current_group()
        if group is None:
            return None
        current = self.current_photo()
        chosen = current.id if current is not None and (
            self.mode in ("loupe", "compare") or group.id in self.model.expanded or not self.model.stacked) else None
        plan = self.model.groups.cull_plan(group.members[0].photo.id, chosen)
        if plan is None:
            return None
        changes = [(plan.keep.id, "decision", "keep")] + [(p.id, "decision", "reject") for p in plan.reject]
        label = f"{KEEP_BEST_LABEL} {group.kind}" + (f", reject {len(plan.reject)}" if plan.reject else "")
        try:
            edit = self.history.apply(label, changes)
        except sqlite3.Error as exc:
            self.show_message(f"Could not save to the catalog: {exc}")
            return None
        updated = [self.model.update(plan.keep.id, decision="keep")]
        updated += [self.model.update(p.id, decision="reject") for p in plan.reject]
        self._after_photos_changed([p for p in updated if p is not None])
        self._update_undo_actions()
        text = plan.message(name_of) + ("" if edit is None else " · Ctrl+Z undoes")
        if edit is None:
            text += " (nothing changed: they were already so)"
        self.messages.clear()
        self.show_message(text, "info")
        if self.settings.auto_advance and self.mode == "grid":  # on to the next moment
            rows = self.model.group_rows(group.id)
            if rows and max(rows) + 1 < self.model.rowCount():
                self._select_row(max(rows) + 1)
        return edit

    def _group_edit(self, what: str, label: str, photo_ids: Iterable[int], change: Callable[[], None]) -> bool:
        """A split or a merge, logged for undo (one edit, atomic: it all happens or none of it)."""
        try:
            self.history.apply_groups(label, photo_ids, change)
        except ValueError as exc:
            self.statusBar().showMessage(f"Cannot {what}: {exc}", 6000)
            return False
        except sqlite3.Error as exc:
            self.show_message(f"Could not save to the catalog: {exc}")
            return False
        self._rank_stored_groups()  # the folder's groups as they are now, ranked, from the grouping thread
        self._update_undo_actions()
        return True

    def split_selected(self) -> None:
        """Ctrl+Shift+G: the selected frames leave their group for one of their own (kept through every re-scan)."""
        selected = self.selected_photos() if self.mode == "grid" else self._targets()
        by_group: dict[int, list[int]] = {}
        for p in selected:
            group = self.model.groups.group_of(p.id)
            if group is not None and len(group.members) > 1 and p.id in self.model.groups.member_ids(group.id):
                by_group.setdefault(group.id, []).append(p.id)
        if not by_group:
            self.statusBar().showMessage("Select frames of a group (G shows them) to split them off it", 5000)
            return
        whole = [gid for gid, ids in by_group.items() if len(ids) == len(self.model.groups.member_ids(gid))]
        if whole:
            self.statusBar().showMessage("Select some of the group's frames, not all (G shows them)", 5000)
            return
        n = sum(len(ids) for ids in by_group.values())

        def split() -> None:
            for gid, ids in by_group.items():
                self.catalog.split_group(gid, ids)

        ids = [pid for group_ids in by_group.values() for pid in group_ids]
        if self._group_edit("split", "Split group", ids, split):
            whose = "their groups" if len(by_group) > 1 else "the group"
            self.show_message(f"Split {n} photo{'s' if n != 1 else ''} off {whose} into a group of their own; "
                              "kept through every re-scan (Ctrl+Z undoes, Ctrl+G merges again)", "info")

    def merge_selected(self) -> None:
        """Ctrl+G: the selected photos (a folded stack: its whole group) become one group, kept through re-scans."""
        selected = self.selected_photos() if self.mode == "grid" else self.compare.photos()
        if len(selected) < 2:
            self.statusBar().showMessage("Select two or more photos (or stacks) to merge them into one group", 5000)
            return

        def merge() -> None:
            target: int | None = None
            for p in selected:
                p = self.model.get(p.id) or p
                group = self.model.groups.group_of(p.id)
                gid = group.id if group is not None and group.id > 0 else None
                whole = self.model.stack(p.id).collapsed or (group is not None and len(group.members) == 1)
                if target is None:
                    target = gid if whole and gid is not None else self.catalog.move_to_group(p.id, None)
                elif gid == target:
                    continue
                elif whole and gid is not None:
                    target = self.catalog.merge_groups([target, gid])
                else:
                    self.catalog.move_to_group(p.id, target)

        if self._group_edit("merge", "Merge groups", [p.id for p in selected], merge):
            self.show_message("Merged the selection into one group; kept through every re-scan "
                              "(Ctrl+Z undoes, Ctrl+Shift+G splits frames off again)", "info")

    def show_grouping(self) -> GroupingDialog:
        dialog = GroupingDialog(self.settings, self.grouping, self.folder, self.settings.model,
                                len(self.model.groups.stacks()), self)
        dialog.accepted.connect(lambda: self._apply_grouping(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.grouping_dialog = dialog
        return dialog

    def _apply_grouping(self, dialog: GroupingDialog) -> None:
        dialog.apply_to(self.settings)
        self._save_settings()
        self.regroup()

    def _caption_extra(self, p: Photo) -> str:
        """The loupe's and compare's badges and place in the group, after the caption."""
        parts = [f"<span style='color:#e0664a'><b>{b}</b></span>" for b in sorted(self.model.badges(p.id))]
        group = self.model.groups.group_of(p.id)
        if group is not None and len(group.members) > 1:
            ids = self.model.groups.member_ids(group.id)
            parts.append(("★ best of " if ids[0] == p.id else f"{ids.index(p.id) + 1} of ")
                         + f"{len(ids)} in the {group.kind}")
        return " &nbsp;·&nbsp; ".join(parts)

    # ---- the map (issue 20) ------------------------------------------------------------------------
    def toggle_map(self) -> None:
        if self.mode == "map":
            self.show_grid()
        else:
            self.show_map()

    def show_map(self) -> None:
        """The folder laid out by similarity; laid out in the background the first time (then from the cache)."""
        if self.folder is None:
            self.statusBar().showMessage("Open a folder first", 5000)
            return
        current = self.current_photo()
        self._from_map = False
        self._set_mode("map", self.map)
        if self._map_folder != str(self.folder):
            self._lay_out_map()
        else:
            self.map.set_photos(self.model.filtered_photos())
        if current is not None:
            self.map.set_current(current.id)

    def _lay_out_map(self) -> None:
        assert self.folder is not None
        if self._map_job is not None:
            self._map_job.ignore()
        ids = tuple(p.id for p in self.model.all_photos())
        if self.map.layout_ is None:
            self.map.set_message(f"Laying out the map of {len(ids)} photos…")
        self._map_folder = str(self.folder)
        self._map_job = job = self.mapping.start(str(self.folder), ids)
        job.finished.connect(self._on_map_ready)

    @Slot(object)
    def _on_map_ready(self, outcome: MapOutcome) -> None:
        self._map_job = None
        if outcome.error or outcome.report is None:
            self.map.set_message(outcome.error or "No map")
            if outcome.error:
                self.show_message(outcome.error)
        else:
            report = outcome.report
            if not len(report.layout):
                self.map.clear("No photo of this folder is scored yet: the map appears once they are")
            else:
                current = self.map.current
                self.map.set_layout(report.layout, list(outcome.groups), self.model.filtered_photos(), outcome.cells,
                                    list(outcome.outline), outcome.mosaics)
                self.map.set_current(current)
                unplaced = len(self.model.all_photos()) - len(report.layout)
                words = {"cache": "from the catalog", "added": f"{report.added} added", "tsne": "laid out",
                         "relayout": f"laid out again with {report.added} new"}[report.how]
                self.statusBar().showMessage(
                    f"Map of {len(report.layout)} photos ({words}, {report.seconds:.1f} s)"
                    + (f"; {unplaced} not scored yet" if unplaced > 0 else ""), 8000)
        self.map_ready.emit(outcome)

    def _outline_map_again(self, _outcome: object = None) -> None:
        """The folder was grouped (again): the map's outlines follow, from the cached layout (quick)."""
        if self._map_folder is None or self._map_job is not None:
            return  # not laid out yet, or being laid out (that job reads the groups as they are now)
        if self.mode == "map":
            self._lay_out_map()
        else:
            self._map_folder = None

    def _forget_map(self) -> None:
        if self._map_job is not None:
            self._map_job.ignore()
            self._map_job = None
        self._map_folder = None
        self.map.clear()

    def _open_from_map(self, photo_id: int) -> None:
        self._on_map_current(photo_id)
        p = self.model.get(photo_id)
        if p is not None:
            self.show_loupe(p)

    def _on_map_current(self, photo_id: int) -> None:
        row = self.model.row_of(photo_id)
        if row is not None:
            self._auto_selected = None
            self.grid.selectionModel().setCurrentIndex(self.model.index(row),
                                                       QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._update_side_panel()

    def _on_map_region(self, photo_ids: list[int]) -> None:
        """A region dragged on the map becomes the selection: P, X, U and the stars apply to it (Ctrl+Z undoes)."""
        selection = QItemSelection()
        rows = [r for r in (self.model.row_of(pid) for pid in photo_ids) if r is not None]
        for r in rows:
            selection.select(self.model.index(r), self.model.index(r))
        sm = self.grid.selectionModel()
        if rows:
            sm.setCurrentIndex(self.model.index(rows[0]), QItemSelectionModel.SelectionFlag.NoUpdate)
            self.map.set_current(photo_ids[0])
        sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if rows:
            self.statusBar().showMessage(f"{len(rows)} photo{'s' if len(rows) != 1 else ''} selected on the map: "
                                         "P pick, X reject, U unflag, 0-5 stars (Ctrl+Z undoes)", 8000)

    def _set_map_size(self, on: bool) -> None:
        self.map.size_by_score = on
        self.map.redraw_all()

    def _set_map_flags(self, on: bool) -> None:
        self.map.show_flags = on
        self.map.redraw_all()

    # ---- help --------------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        """Every key the menus answer (read from their actions), over the window; any key closes it."""
        self.shortcut_overlay.open()

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_TITLE}",
                          f"<b>{APP_TITLE}</b> {__version__}<br>Cull a folder of photos with a convolutional neural "
                          "network, offline. Your photos are only ever read.<br><br>F1 or ? lists the keys.")

    # ---- preferences -------------------------------------------------------------------------------
    def show_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.settings, self)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.preferences_dialog = dialog
        return dialog

    def apply_preferences(self, dialog: PreferencesDialog) -> None:
        device_before = self.settings.device
        dialog.apply_to(self.settings)
        self._save_settings()
        self.auto_advance_action.setChecked(self.settings.auto_advance)
        self.thumbs.set_edge(self.settings.thumbnail_size)
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(self.settings.thumbnail_size)
        self.size_slider.blockSignals(False)
        if theme.current().name != self.settings.theme:
            theme.apply(self.settings.theme)
            self.messages.restyle()
        self.grid.relayout()
        if self.settings.device != device_before and self.folder is not None:
            # Take the new device at once: a rescan of a scored folder only loads the model.
            self.scan.start(self.folder, self.settings.model, self.settings.device, self.batch_size)

    # ---- export and XMP sidecars (the dialog and the worker live in their own modules) ---------------
    def show_export(self) -> ExportDialog | None:
        if self.folder is None:
            self.statusBar().showMessage("Open a folder first", 5000)
            return None
        photos = self.model.all_photos()
        proposals = {}  # what "apply proposed crops" would cut: listed, with thumbnails, before it may
        try:
            for p in photos:
                proposal = None if p.crop is not None else self.catalog.crop_proposal(
                    p.id, self.settings.model, "original")
                if proposal is not None:
                    proposals[p.id] = proposal.crop
        except sqlite3.Error as exc:
            self.show_message(f"Cannot read the crop proposals: {exc}", "warning")
        dialog = ExportDialog(self.exports, self.folder, photos, self.selected_photos(), self.settings.model, self,
                              proposals=proposals, thumbnail=self.thumbs.get)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.export_dialog = dialog
        return dialog

    def write_sidecars(self) -> Job | None:
        if self.folder is None:
            self.statusBar().showMessage("Open a folder first", 5000)
            return None
        job = self.exports.start_sidecars(self.folder, self.settings.model)
        job.finished.connect(self._on_sidecars_finished)
        decided = sum(p.decision is not None or p.rating > 0 or p.crop is not None for p in self.model.all_photos())
        self.statusBar().showMessage(f"Writing XMP sidecars for {decided} decided photo{'s' if decided != 1 else ''}…")
        return job

    @Slot(object)
    def _on_sidecars_finished(self, outcome: ExportOutcome) -> None:
        self.statusBar().clearMessage()
        if outcome.error:
            self.show_message(outcome.error)
            return
        report = outcome.report
        for path, message in report.failed[:3]:
            self.show_message(f"No sidecar for {Path(path).name}: {message}", "warning")
        self.show_message(report.summary(), "warning" if report.failed else "info")

    # ---- personal models (issue 7) -------------------------------------------------------------------
    def set_model(self, name: str, force: bool = False) -> None:
        """Sort by another score model (persisted). Its scores come from the stored embeddings in the
        background (photos without one are scored in full); the decisions are untouched."""
        if name == self.settings.model and not force:
            return
        self.settings.model = name
        self._save_settings()
        if self.folder is None:
            return
        try:
            photos = self.catalog.photos(name, folder=str(self.folder))
        except sqlite3.Error as exc:
            self.show_message(f"Cannot read the catalog: {exc}")
            return
        self._keeping_selection(lambda: self.model.set_photos(photos))
        self._resort_on_finish = True  # the user asked for this model's order
        self.scan.start(self.folder, name, self.settings.device, self.batch_size)

    def review_uncertain(self) -> None:
        """The unflagged photos the active model is least sure about (score nearest its boundary) first:
        deciding those teaches the next model the most. For this folder, now: the next folder (or start) comes
        back to the sort and filter the user had."""
        if self._before_review is None:
            self._before_review = (self.filters.sort, self.filters.photo_filter())
        self.filters.set_sort("uncertain")
        self.filters.set_filter(dataclasses.replace(self.filters.photo_filter(), decision="unflagged"))
        self.show_grid()
        self._select_first()

    def _end_review(self) -> None:
        if self.filters.sort == "uncertain":
            sort, photo_filter = self._before_review or (self.settings.sort, self.filters.photo_filter())
            self._before_review = None
            self.filters.set_sort(sort if sort != "uncertain" else "score")  # announced: the grid follows
            self.filters.set_filter(photo_filter)

    # ---- messages, settings, shutting down ---------------------------------------------------------
    def show_message(self, text: str, level: str = "error") -> None:
        self.messages.show_message(text, level)

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save the settings: {exc}", 5000)

    def shut_down(self) -> None:
        """Stop the background work and wait for it (a scan in progress keeps what it scored)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.grouping_watch.stop()
        self._save_settings()
        if not self.scoring.stop(STOP_TIMEOUT_S):
            log.warning("the scoring thread did not stop within %.0f s", STOP_TIMEOUT_S)
        if not self.exports.stop(STOP_TIMEOUT_S):
            log.warning("the export thread did not stop within %.0f s", STOP_TIMEOUT_S)
        if not self.personal.stop(STOP_TIMEOUT_S):
            log.warning("the training thread did not stop within %.0f s", STOP_TIMEOUT_S)
        if not self.grouping.stop(STOP_TIMEOUT_S):
            log.warning("the grouping thread did not stop within %.0f s", STOP_TIMEOUT_S)
        if not self.cropping.stop(STOP_TIMEOUT_S):
            log.warning("the crop thread did not stop within %.0f s", STOP_TIMEOUT_S)
        if not self.mapping.stop(STOP_TIMEOUT_S):
            log.warning("the map thread did not stop within %.0f s", STOP_TIMEOUT_S)
        self.thumbnail_loader.stop()
        self.preview_loader.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shut_down()
        super().closeEvent(event)

    # ---- cropping (issue 4) ------------------------------------------------------------------------
    def propose_crops(self, folder: bool = False) -> CropJob | None:
        """Propose crops in the background for the selection (or, in the loupe, its photo) or the folder."""
        if folder:
            return self.crop.propose_for(self.model.all_photos(), "photos in this folder")
        return self.crop.propose_for(self._targets(), "selected photos")

    @Slot(object)
    def _on_crop_photos_changed(self, photos: list[Photo]) -> None:
        self.model.merge(photos)
        self._update_undo_actions()
        self._after_photos_changed(photos)
        if self.mode == "loupe" and self.loupe.photo is not None:
            self.crop.show_photo(self.loupe.photo)

    @Slot(str, str)
    def _on_crop_message(self, text: str, level: str) -> None:
        if level == "info":
            self.statusBar().showMessage(text, 5000)
        else:
            self.show_message(text, level)

    @Slot(object)
    def _on_crops_finished(self, outcome: CropOutcome) -> None:
        if self.model.sort == "crop":
            self._resort_when_safe("Crops proposed")  # "best after crop" has new scores to sort by
