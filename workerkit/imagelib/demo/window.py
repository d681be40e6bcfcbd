"""The demo main window: register, search, browse thumbnails and annotate through WorkerService."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QProgressDialog,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from workerkit import Batch, BatchSummary
from workerkit.imagelib.demo.grid import THUMBNAIL_SIZE, ThumbnailGrid
from workerkit.imagelib.demo.indicators import IndicatorPanel
from workerkit.imagelib.demo.search_panel import SearchPanel
from workerkit.imagelib.demo.stack_panel import StackPanel
from workerkit.imagelib.demo.tracker import JobTracker
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import (
    AnnotationResult,
    RegistrationResult,
    SearchResult,
    ThumbnailResult,
)
from workerkit.imagelib.kinds import Kind
from workerkit.progress_ui import ProgressBinding, bind_progress_bar, bind_progress_dialog

if TYPE_CHECKING:
    from workerkit.imagelib.domain.store import ImageRecord
    from workerkit.imagelib.service import WorkerService

__all__ = ["ANNOTATION_PROVIDERS", "SHUTDOWN_TIMEOUT_MS", "DemoWindow"]

ANNOTATION_PROVIDERS: tuple[str, ...] = ("local", "http")
SHUTDOWN_TIMEOUT_MS = 10_000
_SIDE_PANEL_WIDTH = 300


class DemoWindow(QMainWindow):
    """Show an image library and run every job of it through one WorkerService."""

    def __init__(
        self,
        service: WorkerService,
        library: Path,
        parent: QWidget | None = None,
        *,
        per_image: bool = False,
    ) -> None:
        """Build the window over ``service``.

        ``per_image`` loads thumbnails as a preview batch (one job per image,
        ``JobService.map``) instead of one thumbnail job per search.
        """
        super().__init__(parent)
        self.service = service
        self.library = Path(library)
        self.tracker = JobTracker(service, self)
        self.search_panel = SearchPanel(self)
        self.stack_panel = StackPanel(service, self)
        self.indicators = IndicatorPanel(self)
        self.grid = ThumbnailGrid(self)
        self.summary = QLabel("No search yet.", self)
        self.provider = QComboBox(self)
        self.provider.addItems(list(ANNOTATION_PROVIDERS))
        self.progress_bar = QProgressBar(self)
        self.registration_dialog = self._make_registration_dialog()
        self.register_action = QAction("Register folder…", self)
        self.annotate_action = QAction("Annotate selected", self)
        self.per_image_action = QAction("Thumbnails per image (map)", self)
        self.per_image_action.setCheckable(True)
        self.per_image_action.setChecked(per_image)
        self.previews: Batch[object] | None = None
        self.bar_binding: ProgressBinding | None = None
        self.dialog_binding: ProgressBinding | None = None
        self._last_search: SearchResult | None = None
        self._build()
        self._wire()

    # --- public actions ------------------------------------------------------------------

    def start(self) -> None:
        """Start the indicators and show everything; register the library first if it is empty."""
        self.indicators.start()
        if self.service.store.count_images() == 0:
            self.register_folder(self.library)
        else:
            self.search(SearchConditions())

    def register_folder(self, path: str | Path) -> str | None:
        """Register every image under ``path``, shown in the progress dialog; return the job id."""
        if self.tracker.current(Kind.REGISTRATION) is not None:
            self._say("A registration is already running: wait for it or cancel it first.")
            return None
        job_id = self._start(lambda: self.service.start_batch_registration(Path(path)))
        if job_id is not None:
            self.registration_dialog.setWindowTitle(f"Registering {Path(path).name}")
            self._replace_dialog_binding(
                bind_progress_dialog(self.service, job_id, self.registration_dialog)
            )
            self.register_action.setEnabled(False)
        return job_id

    def search(self, conditions: SearchConditions | None = None) -> str | None:
        """Search with ``conditions`` (default: the search form's); return the job id."""
        try:
            chosen = self.search_panel.conditions() if conditions is None else conditions
        except ValueError as exc:
            self._say(f"Cannot search: {exc}")
            return None
        return self._start(lambda: self.service.start_search(chosen))

    def annotate_selected(self, provider: str | None = None) -> str | None:
        """Annotate the selected thumbnails with ``provider`` (default: the toolbar's choice)."""
        image_ids = self.grid.selected_ids()
        if not image_ids:
            self._say("Select one or more thumbnails to annotate first.")
            return None
        model = provider or self.provider.currentText()
        return self._start(lambda: self.service.start_annotation(image_ids, [model]))

    # --- Qt events -----------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the indicators and shut the service down before the window (and store) go."""
        self.indicators.stop()
        if not self.service.is_shut_down:
            self.service.shutdown(timeout_ms=SHUTDOWN_TIMEOUT_MS)
        super().closeEvent(event)

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle(f"workerkit demo: {self.library}")
        self.resize(1180, 760)
        self._build_toolbar()
        self.setCentralWidget(self._build_centre())
        self.progress_bar.setFixedWidth(360)
        self.progress_bar.setFormat("idle")
        self.progress_bar.setValue(0)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Actions", self)
        toolbar.setMovable(False)
        toolbar.addAction(self.register_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Annotator: ", self))
        toolbar.addWidget(self.provider)
        toolbar.addAction(self.annotate_action)
        toolbar.addSeparator()
        toolbar.addAction(self.per_image_action)
        self.addToolBar(toolbar)

    def _build_centre(self) -> QSplitter:
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        for panel in (self.search_panel, self.stack_panel, self.indicators):
            side_layout.addWidget(panel)
        side_layout.addStretch(1)
        side.setFixedWidth(_SIDE_PANEL_WIDTH)
        main = QWidget(self)
        main_layout = QVBoxLayout(main)
        main_layout.addWidget(self.summary)
        main_layout.addWidget(self.grid, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(side)
        splitter.addWidget(main)
        splitter.setStretchFactor(1, 1)
        return splitter

    def _make_registration_dialog(self) -> QProgressDialog:
        dialog = QProgressDialog("Registering images…", "Cancel", 0, 100, self)
        # Non-modal: the user may search while it registers, and a modal QProgressDialog
        # would run the event loop inside setValue().
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(420)
        dialog.reset()
        return dialog

    def _wire(self) -> None:
        self.register_action.triggered.connect(self._choose_folder)
        self.annotate_action.triggered.connect(self._annotate_from_toolbar)
        self.search_panel.search_requested.connect(self.search)
        self.search_panel.invalid.connect(self._say)
        self.stack_panel.stack_changed.connect(self._on_stack_changed)
        self.stack_panel.rejected.connect(self._say)
        self.service.thumbnails_loaded.connect(self.grid.add_chunk)
        self.service.active_worker_count_changed.connect(self.indicators.show_active_jobs)
        self.grid.filled.connect(self._show_summary)
        self.tracker.ended.connect(self._on_job_ended)

    # --- jobs ----------------------------------------------------------------------------

    def _start(self, start: Callable[[], str]) -> str | None:
        try:
            job_id = start()
        except (RuntimeError, ValueError) as exc:
            # Legacy refuses a second job of a kind within one second (D5); a shut-down
            # service refuses all; both are the user's to see, not a crash.
            self._say(f"Could not start the job: {exc}")
            return None
        self._follow(job_id)
        return job_id

    def _follow(self, job_id: str) -> None:
        """Report the job's end and show its progress in the status bar."""
        self.tracker.track(job_id)
        self._replace_bar_binding(bind_progress_bar(self.service, job_id, self.progress_bar))

    def _replace_bar_binding(self, binding: ProgressBinding) -> None:
        self.bar_binding = _replace(self.bar_binding, binding)

    def _replace_dialog_binding(self, binding: ProgressBinding) -> None:
        self.dialog_binding = _replace(self.dialog_binding, binding)

    def _load_thumbnails(self, result: SearchResult) -> None:
        records = result.image_metadata
        if self.previews is not None:
            self.previews.cancel()  # a newer search's images replace it, as a thumbnail job's do
            self.previews = None
        if not records:
            self.grid.begin("", [])
            return
        if self.per_image_action.isChecked():
            self._load_previews(records)
            return
        job_id = self._start(lambda: self.service.start_thumbnail_loading(records, THUMBNAIL_SIZE))
        if job_id is not None:
            self.grid.begin(job_id, records)

    def _load_previews(self, records: list[ImageRecord]) -> None:
        service = self.service
        batch = self._start_batch(lambda: service.start_preview_loading(records, THUMBNAIL_SIZE))
        if batch is None:
            return
        self.previews = batch
        self.grid.begin(batch.id, records)
        batch_id = batch.id
        batch.results_delivered.connect(lambda results: self.grid.add_previews(batch_id, results))

    def _start_batch(self, start: Callable[[], Batch[Any]]) -> Batch[Any] | None:
        try:
            batch = start()
        except (RuntimeError, ValueError) as exc:
            self._say(f"Could not start the previews: {exc}")
            return None
        self._follow(batch.id)
        return batch

    @Slot(str, str, str, object)
    def _on_job_ended(self, kind: str, job_id: str, outcome: str, payload: object) -> None:
        if kind == Kind.REGISTRATION:
            self.register_action.setEnabled(True)
        if outcome != "finished":
            reason = f": {payload}" if outcome == "failed" else ""
            self._say(f"{kind.capitalize()} {outcome}{reason}")
            return
        if isinstance(payload, SearchResult):
            self._last_search = payload
            self._say(f"Search found {payload.total_count} images in {payload.search_time:.2f} s.")
            self._load_thumbnails(payload)
        elif isinstance(payload, RegistrationResult):
            self._on_registered(payload)
        elif isinstance(payload, ThumbnailResult):
            self._say(
                f"{len(payload.loaded_thumbnails)} thumbnails loaded "
                f"({payload.failed_count} failed) in {payload.processing_time:.2f} s."
            )
        elif isinstance(payload, AnnotationResult):
            self._on_annotated(payload)
        elif isinstance(payload, BatchSummary):
            self.previews = None
            self._say(f"{payload.finished} previews loaded ({payload.failed} failed).")

    def _on_registered(self, result: RegistrationResult) -> None:
        self._say(
            f"Registered {result.registered_count} images, skipped {result.skipped_count} "
            f"duplicates, {result.error_count} errors, in {result.total_processing_time:.1f} s."
        )
        self.search()

    def _on_annotated(self, result: AnnotationResult) -> None:
        self._say(
            f"Annotated {result.annotated_count} (image, model) pairs, "
            f"{result.error_count} errors, in {result.processing_time:.2f} s."
        )
        self.grid.update_records(self.service.store.get_many(list(result.results)))

    # --- small slots ---------------------------------------------------------------------

    @Slot()
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Register images from", str(self.library))
        if folder:
            self.register_folder(folder)

    @Slot()
    def _annotate_from_toolbar(self) -> None:
        self.annotate_selected()

    @Slot(str, str)
    def _on_stack_changed(self, kind: str, name: str) -> None:
        self._say(f"New {kind} jobs now run on {name}.")

    @Slot(int, int)
    def _show_summary(self, loaded: int, expected: int) -> None:
        found = self._last_search.total_count if self._last_search is not None else expected
        self.summary.setText(f"{found} images found · {loaded} of {expected} thumbnails loaded")

    @Slot(str)
    def _say(self, message: str) -> None:
        self.statusBar().showMessage(message)


def _replace(old: ProgressBinding | None, new: ProgressBinding) -> ProgressBinding:
    if old is not None:
        old.release()
        old.deleteLater()
    return new
