"""The main window: a frame that builds the views (the grid, the loupe, compare, the map, the docked panels) and the
controllers, and wires them to the culling session.

What a key does to the photos is the session's (core/culling/session.py: the folder's rows, what a key acts on,
the one writer of flags, stars, crops and groups); the controllers beside this do the rest, each with its own
background job: scanning (scan_controller), editing (culling_controller: every change it reports through one
signal, `changed`, that the views refresh from), grouping (groups_controller), cropping (crop_controller), the map
(map_controller), exporting (export_controller); and without one: which view is up (views), sort, filter and Review
Uncertain (filter_controller), which folder to open (folders), the docks (panels), the status bar (status_bar),
thumbnails as they arrive (grid.ThumbnailArrivals). This keeps what only the window does: building them and wiring
them together, what each menu item does (ui/actions.py has their words and keys), what opening a folder does in
order, the preferences, shutting down. It is given what it works with (the UI thread's Catalog, the Settings, how to
make a Scorer) rather than reaching for globals, so tests build it with a temporary catalog and a shared model.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from selfie_desk import __version__
from selfie_desk.core.culling.session import Changes, CullingSession, Edit
from selfie_desk.core.formats.indexing import canonical
from selfie_desk.core.settings import Settings
from selfie_desk.core.storage.catalog import Catalog, Photo
from selfie_desk.core.vocabulary import Decision, ViewMode
from selfie_desk.ui import theme
from selfie_desk.ui.actions import RATINGS, MainAction, build_actions, build_menus
from selfie_desk.ui.attention import AttentionController
from selfie_desk.ui.compare import CompareView
from selfie_desk.ui.crop_controller import CropController
from selfie_desk.ui.culling_controller import CullingController
from selfie_desk.ui.export_controller import ExportController
from selfie_desk.ui.export_dialog import ExportDialog
from selfie_desk.ui.filter_bar import FilterBar
from selfie_desk.ui.filter_controller import FilterController
from selfie_desk.ui.folders import Folders, dropped_folder
from selfie_desk.ui.grid import PhotoGrid, ThumbnailArrivals, ThumbnailCache
from selfie_desk.ui.grid_model import PhotoGridModel
from selfie_desk.ui.grid_selection import GridSelection, keep_long_lived
from selfie_desk.ui.grouping_dialog import GroupingDialog
from selfie_desk.ui.groups_controller import GroupsController
from selfie_desk.ui.loupe import Loupe
from selfie_desk.ui.map_controller import MapController
from selfie_desk.ui.map_view import MapView
from selfie_desk.ui.message_bar import MessageBar
from selfie_desk.ui.panels import Panels
from selfie_desk.ui.personal_models import PersonalModels
from selfie_desk.ui.preferences import PreferencesDialog
from selfie_desk.ui.scan_controller import ScanController
from selfie_desk.ui.shortcuts import ShortcutOverlay
from selfie_desk.ui.status_bar import StatusBar
from selfie_desk.ui.views import Views
from selfie_desk.workers.cropping import CropJob, CropOutcome, CropService
from selfie_desk.workers.exporting import ExportService
from selfie_desk.workers.grouping import GroupingService
from selfie_desk.workers.images import ImageLoader
from selfie_desk.workers.mapping import MapService
from selfie_desk.workers.scoring import ScanOutcome, ScorerFactory, ScoringService
from selfie_desk.workers.service import Job

log = logging.getLogger(__name__)

APP_TITLE = "Selfie Desk"
# Quitting mid-scan: the batch in flight finishes (well under a second), then the thread ends. The long
# limit only covers a quit while the model is still loading, which cannot be interrupted.
STOP_TIMEOUT_S = 30.0


class MainWindow(QMainWindow):
    folder_opened = Signal(str)
    scan_finished = Signal(object)  # ScanOutcome of the current folder's scan
    mode_changed = Signal(str)  # a ViewMode: grid | loupe | compare | map
    grouped = Signal(object)  # GroupingOutcome: the folder was grouped again (after a scan, new thresholds)
    map_ready = Signal(object)  # MapOutcome: the map of the folder is laid out (or could not be)

    def __init__(self, catalog: Catalog, settings: Settings, scorer_factory: ScorerFactory | None = None,
                 batch_size: int = 16, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.settings, self.batch_size = catalog, settings, batch_size
        self.session = CullingSession(catalog, settings.model)  # the folder as data; the one writer of edits
        self.session.view.sort, self.session.view.stacked = settings.sort, settings.stack_groups
        theme.apply(settings.theme)
        self.folder: Path | None = None
        self._shut_down = False
        self.preferences_dialog: PreferencesDialog | None = None

        self.scoring = ScoringService(catalog.path, scorer_factory, parent=self)
        self.thumbnail_loader = ImageLoader(threads=2, name="thumbnails", parent=self)
        self.preview_loader = ImageLoader(threads=1, max_pending=8, name="previews", parent=self)
        self.thumbs = ThumbnailCache(self.thumbnail_loader, settings.thumbnail_size)
        self._build_views()
        self._build_status_bar()
        self.selection = GridSelection(self.session, self.grid, self.model, self)
        self.filtering = FilterController(self.session, self.selection, settings, self.filters, self)
        self.folders = Folders(self.session, settings, self)  # the Open dialog, Open Recent, a drop
        self.views = Views(self.session, self.selection, settings, self.stack, self.grid, self.loupe, self.compare,
                           self.map, self)
        self.scan = ScanController(self.scoring, self.scan_status, self.session, self.selection,
                                   lambda: self.mode != ViewMode.GRID or self.selection.user_moved(), self)
        self.culling = CullingController(self.session, self)
        self.groups = GroupsController(self.session, self.selection, GroupingService(catalog.path, parent=self),
                                       settings, catalog, self)  # groups of one moment (issue 14)
        self.map_control = MapController(self.session, self.map, MapService(catalog.path, parent=self),
                                         self.selection, self)
        self.exports = ExportService(catalog.path, parent=self)
        self.exporting = ExportController(self.session, self.exports, self)
        # Cropping (issue 4): proposals on a thread of their own, so the loupe's photo never waits for a scan
        self.cropping = CropService(catalog.path, scorer_factory, parent=self)
        self.crop = CropController(catalog, settings, self.loupe, self.cropping, self.crop_status, self,
                                   targets=self.session.targets, culling=self.culling)
        self.attention = AttentionController(self.loupe, self.cropping, settings, self)
        self.attention.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.loupe.caption_extra = self.compare.caption_extra = self.groups.caption_extra
        self.views.attach(self.crop, self.attention, self.groups, self.map_control)
        self.arrivals = ThumbnailArrivals(self.thumbnail_loader, self.thumbs, self.grid, self)

        self._build_actions()
        self._connect()
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_TITLE)
        self.resize(1280, 820)

    # ---- construction ------------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.model = PhotoGridModel(self.session.view, self)  # the grid's adapter over the session's rows
        self.grid = PhotoGrid(self.thumbs, self)
        self.grid.setModel(self.model)
        self.grid.set_show_names(self.settings.show_names)
        self.loupe = Loupe(self.preview_loader, self.thumbs, self)
        self.compare = CompareView(self.preview_loader, self.thumbs, self)
        self.map = MapView(self.thumbs, self)  # the folder laid out by similarity (issue 20)
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

        self.filters = FilterBar(self.settings.sort, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.filters)
        self.personal = PersonalModels(self)  # the Models panel and menu: choose, train, review (issue 7)
        self.panels = Panels(self, self.session, self.personal.panel)  # the docks: Scores, Models, People
        self.side, self.side_dock, self.models_dock = self.panels.side, self.panels.side_dock, self.panels.models_dock
        self.people_panel = self.panels.people
        self.people_panel.person_chosen.connect(lambda n: self.filters.people_box.choose(n))
        self.session.set_model(self.settings.model)  # the default's, if the model chosen last time is gone

    def _build_status_bar(self) -> None:
        self.status_bar = StatusBar(self.settings, self.thumbs, self.grid, self)  # counts, size, scan, crops
        self.setStatusBar(self.status_bar)
        self.count_label, self.size_slider = self.status_bar.count_label, self.status_bar.size_slider
        self.scan_status, self.crop_status = self.status_bar.scan_status, self.status_bar.crop_status
        self.size_slider.size_changed.connect(lambda _edge: self._save_settings())

    def _build_actions(self) -> None:
        """The actions and menus of ui/actions.py, with what each does here."""
        A = MainAction
        handlers = {
            A.OPEN: self.folders.choose, A.EXPORT: self.show_export, A.SIDECARS: self.write_sidecars,
            A.PREFERENCES: self.show_preferences, A.QUIT: self.close, A.UNDO: self.undo, A.REDO: self.redo,
            A.SELECT_ALL: self.select_all, A.SELECT_NONE: self.selection.select_none,
            A.PICK: lambda: self.set_decision(Decision.KEEP), A.REJECT: lambda: self.set_decision(Decision.REJECT),
            A.UNFLAG: lambda: self.set_decision(None),
            **{a: (lambda n=n: self.set_rating(n)) for n, a in enumerate(RATINGS)},
            A.AUTO_ADVANCE: self._set_auto_advance, A.GRID: self.views.back, A.LOUPE: self.views.toggle_loupe,
            A.COMPARE: self.show_compare, A.ZOOM: self.views.toggle_zoom, A.FACES: self._set_show_faces,
            A.LARGER: lambda: self.zoom_thumbnails(+1), A.SMALLER: lambda: self.zoom_thumbnails(-1),
            A.NAMES: self._set_show_names, A.RESORT: self.resort, A.SHORTCUTS: self.show_shortcuts,
            A.ABOUT: self.show_about, A.GROUP_TOGGLE: self.toggle_group, A.STACK_GROUPS: self.set_stacked,
            A.COMPARE_GROUP: self.compare_group, A.KEEP_BEST: self.keep_best, A.MERGE_GROUPS: self.merge_selected,
            A.SPLIT_GROUP: self.split_selected, A.GROUPING: self.show_grouping,
            A.MAP: self.views.toggle_map, A.MAP_SIZE: self.map_control.set_size_by_score,
            A.MAP_FLAGS: self.map_control.set_show_flags,
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
            "attention": self.attention.action, **self.panels.toggles(), "crop": self.crop.menu,
            "models": self.personal.menu(self)})
        self.recent_menu = menus["recent"]
        self.folders.attach_recent(self.recent_menu)
        menus["&Edit"].aboutToShow.connect(self.culling.update_actions)
        self.culling.attach_actions(self.undo_action, self.redo_action)
        self.crop.selection_action.triggered.connect(lambda: self.propose_crops(folder=False))
        self.crop.folder_action.triggered.connect(lambda: self.propose_crops(folder=True))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.crop.toolbar)
        self.sort_actions = self.filtering.fill_sort_menu(menus["sort"])
        self.shortcut_overlay = ShortcutOverlay(bar, self)

    def _connect(self) -> None:
        status = self.status_bar.showMessage  # text, ms: every controller's `status`
        self.folders.chosen.connect(self.open_folder)
        self.folders.settings_changed.connect(self._save_settings)
        self.scan.changed.connect(lambda photos: self.culling.report(Changes(tuple(photos))))
        self.scan.finished.connect(self._on_finished)
        self.scan.message.connect(self.show_message)
        self.scan.announced.connect(self.messages.announce)
        self.scan.status_text.connect(status)
        self.culling.changed.connect(self._on_changed)  # every change of the photos: an edit, a scan, a crop
        self.culling.advanced.connect(self.views.advance_after)  # auto-advance
        self.culling.stepping.connect(self.crop.discard)  # an open crop overlay would show a box the undo changed
        self.culling.message.connect(self.show_message)
        self.culling.announced.connect(self.messages.announce)
        self.culling.status.connect(status)
        self.groups.grouped.connect(self.grouped)
        self.groups.grouped.connect(lambda _o: self.map_control.regrouped(self.mode == ViewMode.MAP))
        self.groups.message.connect(self.show_message)
        self.groups.people.connect(self._on_people)
        self.groups.status.connect(status)
        self.groups.settings_changed.connect(self._save_settings)
        self.map_control.ready.connect(self.map_ready)
        self.map_control.message.connect(self.show_message)
        self.map_control.status.connect(status)
        self.map_control.moved.connect(lambda _id: self._update_side_panel())  # the grid's cursor is on it too
        self.map.opened.connect(self.views.open_from_map)
        self.views.mode_changed.connect(self.mode_changed)
        self.views.looked_at.connect(self._update_side_panel)
        self.views.status.connect(status)
        self.exporting.message.connect(self.show_message)
        self.exporting.status.connect(status)
        self.arrivals.arrived.connect(  # a new thumbnail: the map's tile of it, while the map is up
            lambda key: self.map.thumbnail_arrived(key) if self.mode == ViewMode.MAP else None)
        self.filtering.applied.connect(self.map_control.rows_changed)  # the grid's filters apply to the map
        self.filtering.applied.connect(self.views.refocus)
        self.filtering.settings_changed.connect(self._save_settings)
        self.selection.moved.connect(self._update_side_panel)
        self.selection.selection_changed.connect(self._update_counts)
        self.grid.opened.connect(lambda _id: self.show_loupe())
        self.grid.stack_clicked.connect(self.groups.stack_clicked)
        self.model.modelReset.connect(self._update_counts)
        self.crop.photos_changed.connect(self._on_crop_photos_changed)
        self.crop.message.connect(self._on_crop_message)
        self.crop.batch_finished.connect(self._on_crops_finished)
        self.crop.loupe_wanted.connect(self.show_loupe)
        self.crop.aspect_changed.connect(lambda _aspect: self._save_settings())
        self.mode_changed.connect(lambda mode: self.crop.discard() if mode != ViewMode.LOUPE else None)

    @property
    def mode(self) -> ViewMode:
        return self.session.mode

    # ---- folders (which one: ui/folders.py) ---------------------------------------------------------
    def open_folder(self, folder: Path | str) -> bool:
        """Show what the catalog knows of `folder` at once, then index and score it in the background."""
        target = canonical(Path(folder).expanduser())
        if not target.is_dir():
            self.show_message(f"Cannot open {target}: there is no such folder (moved, renamed or unplugged?)")
            return False
        self.messages.clear()
        self.crop.cancel_batch()  # crops still being proposed for the folder being left
        self.folder = target
        self.filtering.end_review()
        self.settings.add_recent(str(target))
        self._save_settings()
        self.setWindowTitle(f"{target.name or target} — {APP_TITLE}")
        self.scan.reported.clear()
        self.thumbs.clear()
        self.map_control.forget()
        self.show_grid()
        opened = self.session.open(str(target))  # its rows, and its own undo history
        keep_long_lived()
        self.culling.update_actions()
        if opened.error:
            self.show_message(opened.error)
        self.groups.rank_stored()  # the stored groups come ranked from the grouping thread
        self.selection.select_first()
        self.scan.report_errors(list(opened.photos))
        self._update_side_panel()
        self.scan.start(target, self.settings.model, self.settings.device, self.batch_size)
        self.folder_opened.emit(str(target))
        return True

    def cancel_scan(self) -> None:
        self.scan.cancel()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.folders.drop(event)

    # ---- the folder's scan (ui/scan_controller.py) ---------------------------------------------------
    @Slot(object)
    def _on_finished(self, outcome: ScanOutcome) -> None:
        if outcome.summary is not None and not outcome.error:
            self.groups.regroup()  # new scores and features: the groups of one moment again (the user's edits kept)
        self.map_control.scan_finished(self.mode == ViewMode.MAP)
        self.scan_finished.emit(outcome)

    def resort(self) -> None:
        self.selection.keeping(self.session.view.refresh)
        self.statusBar().showMessage("Sorted again", 3000)

    # ---- sort, filter (ui/filter_controller.py), what is looked at (ui/panels.py) ------------------
    def set_sort(self, sort: str) -> None:
        self.filters.set_sort(sort)

    def current_photo(self) -> Photo | None:
        return self.session.current()

    def selected_photos(self) -> list[Photo]:
        return self.session.selected_photos()

    def _update_side_panel(self) -> None:
        self.panels.show_current()

    def _on_people(self, people: object) -> None:
        """The shoot's people as the groups now have them: the People panel, the People filter."""
        self.panels.set_people(people)
        self.filtering.set_people(people)  # the chosen person's photos as the people are now
        self._update_side_panel()

    def _update_counts(self) -> None:
        self.status_bar.show_counts(self.session)

    # ---- culling (the rules: core/culling/session.py; the keys: ui/culling_controller.py) --------------
    def set_decision(self, decision: Decision | None) -> None:
        self.culling.decide(decision)

    def set_rating(self, rating: int) -> None:
        self.culling.rate(rating)

    def keep_best(self) -> Edit | None:
        return self.culling.keep_best()

    def split_selected(self) -> None:
        self.culling.split()

    def merge_selected(self) -> None:
        self.culling.merge()

    def undo(self) -> Edit | None:
        return self.culling.undo()

    def redo(self) -> Edit | None:
        return self.culling.redo()

    @Slot(object)
    def _on_changed(self, changes: Changes) -> None:
        """What changed in the session (an edit, an undo, a scan's scores, a crop): every view shows it."""
        self.views.show_changes(changes)  # the loupe, compare, the loupe's crop overlay
        if changes.photos:
            self._update_side_panel()
            self._update_counts()
        self.map_control.show_changes(changes)
        self.culling.show_changes(changes)  # Edit > Undo and Redo say what they would do
        self.groups.show_changes(changes)  # the folder's groups as they are now, ranked, from the grouping thread

    def select_all(self) -> None:
        self.show_grid()
        self.selection.select_all()

    def select_none(self) -> None:
        self.selection.select_none()

    def _set_auto_advance(self, on: bool) -> None:
        self.settings.auto_advance = on
        self._save_settings()

    # ---- views (ui/views.py) -------------------------------------------------------------------------
    def show_grid(self) -> None:
        self.views.show_grid()

    def show_loupe(self, photo: Photo | None = None) -> None:
        self.views.show_loupe(photo)

    def step_loupe(self, delta: int) -> None:
        self.views.step_loupe(delta)

    def show_compare(self) -> None:
        self.views.show_compare()

    def compare_group(self) -> None:
        self.views.compare_group()

    def show_map(self) -> None:
        self.views.show_map()

    def zoom_thumbnails(self, steps: int) -> None:
        self.size_slider.step(steps)

    def set_thumbnail_size(self, edge: int) -> None:
        self.size_slider.set_edge(edge)

    def _set_show_names(self, show: bool) -> None:
        self.settings.show_names = show
        self.grid.set_show_names(show)
        self._save_settings()

    def _set_show_faces(self, show: bool) -> None:
        self.loupe.set_show_faces(show)
        self.compare.set_show_faces(show)
        self.settings.show_faces = show
        self._save_settings()

    # ---- groups of one moment (ui/groups_controller.py) --------------------------------------------
    def toggle_group(self) -> None:
        """G: expand the group under the cursor, or fold it to its best (the cursor goes with it)."""
        if self.mode != ViewMode.GRID:
            self.show_grid()
        group = self.groups.current_group()
        if group is not None:
            self.groups.toggle(group)

    def set_stacked(self, on: bool) -> None:
        if self.stack_action.isChecked() != on:
            self.stack_action.setChecked(on)
        self.groups.set_stacked(on)

    def show_grouping(self) -> GroupingDialog:
        return self.groups.show_dialog(self)

    def regroup(self) -> Job | None:
        return self.groups.regroup()

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
        self.size_slider.show_edge(self.settings.thumbnail_size)
        if theme.current().name != self.settings.theme:
            theme.apply(self.settings.theme)
            self.messages.restyle()
        self.grid.relayout()
        if self.settings.device != device_before and self.folder is not None:
            # Take the new device at once: a rescan of a scored folder only loads the model.
            self.scan.start(self.folder, self.settings.model, self.settings.device, self.batch_size)

    # ---- export and XMP sidecars (ui/export_controller.py) -------------------------------------------
    def show_export(self) -> ExportDialog | None:
        return self.exporting.show_export(self, self.thumbs.get)

    @property
    def export_dialog(self) -> ExportDialog | None:
        return self.exporting.dialog

    def write_sidecars(self) -> Job | None:
        return self.exporting.write_sidecars()

    # ---- personal models (issue 7) -------------------------------------------------------------------
    def set_model(self, name: str, force: bool = False) -> None:
        """Sort by another score model (persisted). Its scores come from the stored embeddings in the
        background (photos without one are scored in full); the decisions are untouched."""
        if name == self.settings.model and not force:
            return
        self.settings.model = name
        self.session.set_model(name)
        self._save_settings()
        if self.folder is None:
            return
        try:
            photos = self.catalog.photos(name, folder=str(self.folder))
        except sqlite3.Error as exc:
            self.show_message(f"Cannot read the catalog: {exc}")
            return
        self.selection.keeping(lambda: self.session.view.set_photos(photos))
        self.scan.resort_on_finish = True  # the user asked for this model's order
        self.scan.start(self.folder, name, self.settings.device, self.batch_size)

    def review_uncertain(self) -> None:
        """The unflagged photos the active model is least sure about (score nearest its boundary) first, in the
        grid from the first: deciding those teaches the next model the most (the sort: ui/filter_controller.py)."""
        self.filtering.review_uncertain()
        self.show_grid()
        self.selection.select_first()

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
        self.groups.stop_watching()
        self._save_settings()
        for name, stop in (("scoring", self.scoring.stop), ("export", self.exporting.stop),
                           ("training", self.personal.stop), ("grouping", self.groups.stop),
                           ("crop", self.cropping.stop), ("map", self.map_control.stop)):
            if not stop(STOP_TIMEOUT_S):
                log.warning("the %s thread did not stop within %.0f s", name, STOP_TIMEOUT_S)
        self.thumbnail_loader.stop()
        self.preview_loader.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shut_down()
        super().closeEvent(event)

    # ---- cropping (issue 4; ui/crop_controller.py) ---------------------------------------------------
    def propose_crops(self, folder: bool = False) -> CropJob | None:
        """Propose crops in the background for the selection (or, in the loupe, its photo) or the folder."""
        if folder:
            return self.crop.propose_for(self.session.view.all_photos(), "photos in this folder")
        return self.crop.propose_for(self.session.targets(), "selected photos")

    @Slot(object)
    def _on_crop_photos_changed(self, photos: list[Photo]) -> None:
        """A proposal stored, or an accepted crop's score known: what the catalog now says of these photos."""
        self.session.view.merge(photos)
        self.culling.report(Changes(tuple(photos), history=True))

    @Slot(str, str)
    def _on_crop_message(self, text: str, level: str) -> None:
        if level == "info":
            self.statusBar().showMessage(text, 5000)
        else:
            self.show_message(text, level)

    @Slot(object)
    def _on_crops_finished(self, outcome: CropOutcome) -> None:
        if self.session.view.sort == "crop":
            self.scan.resort_when_safe("Crops proposed")  # "best after crop" has new scores to sort by
