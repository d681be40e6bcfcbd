"""WorkerService: the image library's LoRAIro-compatible facade over JobService."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSize, Signal, Slot

from workerkit import JobService, ShadowStats
from workerkit.flags import Flag
from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.kinds import Kind, app

if TYPE_CHECKING:
    from workerkit import Batch, Stack
    from workerkit.imagelib.domain.annotators import Annotator
    from workerkit.imagelib.domain.results import Preview
    from workerkit.imagelib.domain.store import ImageRecord, ImageStore

__all__ = ["WorkerService"]

# The original facade named its signals after these words, not after the kinds.
_SIGNAL_WORDS: dict[str, str] = {
    Kind.REGISTRATION: "batch_registration",
    Kind.SEARCH: "search",
    Kind.THUMBNAIL: "thumbnail",
    Kind.ANNOTATION: "annotation",
}
# How many decoded previews a batch may hold that the GUI thread has not taken yet. It also
# bounds one delivery: the grid spends about 0.1 ms a thumbnail, so 64 keep it within a frame.
PREVIEW_MAX_PENDING = 64


class _Counted:
    """Items made as they are read, with the length of what they are made from."""

    def __init__(self, items: Iterable[Any], length: int) -> None:
        self._items, self._length = items, length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)


class WorkerService(QObject):
    """Start, cancel and observe the image library's jobs; each kind runs where its flag says."""

    batch_registration_started = Signal(str)
    batch_registration_finished = Signal(object)
    batch_registration_error = Signal(str)
    batch_registration_canceled = Signal(str)
    search_started = Signal(str)
    search_finished = Signal(object)
    search_error = Signal(str)
    search_canceled = Signal(str)
    thumbnail_started = Signal(str)
    thumbnail_finished = Signal(object)
    thumbnail_error = Signal(str)
    thumbnail_canceled = Signal(str)
    annotation_started = Signal(str)
    annotation_finished = Signal(object)
    annotation_error = Signal(str)
    annotation_canceled = Signal(str)

    worker_progress_updated = Signal(str, object)
    worker_batch_progress = Signal(str, int, int, str)
    active_worker_count_changed = Signal(int)
    all_workers_finished = Signal()

    # Job-level events carry the id the kind signals of the original lack.
    job_finished = Signal(str, object)
    job_failed = Signal(str, str)
    job_canceled = Signal(str)
    thumbnails_loaded = Signal(str, object)
    # (job id, RegistrationResult) of a canceled registration: what it had committed.
    batch_registration_committed = Signal(str, object)

    # One record per shadow comparison (JobService.shadow_compared); candidates emit nothing here.
    shadow_compared = Signal(object)

    def __init__(
        self,
        store: ImageStore,
        *,
        stacks: Mapping[str, str] | None = None,
        annotators: Mapping[str, Annotator] | None = None,
        max_threads: int | None = None,
        flags: Mapping[str, Flag] | None = None,
        shadow_log: Path | None = None,
        parent: QObject | None = None,
        _shadow_candidate: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._context = (
            JobContext(store, max_threads=max_threads)
            if annotators is None
            else JobContext(store, dict(annotators), max_threads)
        )
        self.jobs = JobService(
            app,
            stacks=stacks,
            flags=flags,
            max_threads=max_threads,
            shadow_log=shadow_log,
            _shadow_candidate=_shadow_candidate,
            parent=self,
        )
        self._connect(self.jobs)

    # --- routing -------------------------------------------------------------------------

    def set_stack(self, kind: str, name: str) -> None:
        """Send new jobs of ``kind`` to legacy, simplified or shadow; running jobs stay put."""
        self.jobs.set_stack(kind, name)

    def stack_for(self, kind: str) -> str:
        """Return where new jobs of ``kind`` go: legacy, simplified or shadow."""
        return self.jobs.stack_for(kind)

    def flag_sources(self) -> dict[str, str]:
        """Return, per kind name, which source set its current flag."""
        return self.jobs.flag_sources()

    def shadow_stats(self) -> ShadowStats:
        """Return the shadow-mode counters (all zero until a shadow job ends)."""
        return self.jobs.shadow_stats()

    @property
    def shadow_log(self) -> Path:
        """Return the JSON-lines file shadow comparisons are appended to."""
        return self.jobs.shadow_log

    # --- starting jobs -------------------------------------------------------------------

    def start_batch_registration(self, directory: str | Path) -> str:
        """Register every image under ``directory``; return the job id."""
        folder = directory if isinstance(directory, Path) else Path(directory)
        return self._start(Kind.REGISTRATION, folder)

    def start_search(self, filter_conditions: SearchConditions | Mapping[str, Any]) -> str:
        """Search the library; a dict is read as LoRAIro-style filter conditions."""
        if not isinstance(filter_conditions, SearchConditions):
            filter_conditions = SearchConditions.from_dict(filter_conditions)
        return self._start(Kind.SEARCH, filter_conditions)

    def start_thumbnail_loading(self, records: Iterable[ImageRecord], size: QSize) -> str:
        """Load thumbnails of ``records`` (a search result's image_metadata) to fit ``size``."""
        records = tuple(records)
        return self._start(Kind.THUMBNAIL, records, size.width(), size.height())

    def start_preview_loading(self, records: Iterable[ImageRecord], size: QSize) -> Batch[Preview]:
        """Load one preview per record as a batch (``JobService.map``), read lazily.

        Each item is a ``preview`` job; its result (a ``Preview`` holding a QImage) arrives
        in the batch's ``results_delivered`` as ``(index, Preview)`` pairs, a failed image in
        ``item_failed``. On the legacy stack each image gets its own QThread, a pool's
        width at a time.

        Args:
            records: The images, e.g. a search result's ``image_metadata``; a generator is
                read only as fast as previews are taken.
            size: The box each preview is scaled to fit.

        Returns:
            The batch's handle: connect its signals before returning to the event loop.

        Raises:
            RuntimeError: The service was shut down.
        """
        self._refuse_if_shut_down()
        width, height, context = size.width(), size.height(), self._context
        arguments: Iterable[Any] = ((context, record, width, height) for record in records)
        if isinstance(records, Sized):  # a known total gives the batch's progress a percentage
            arguments = _Counted(arguments, len(records))
        return self.jobs.starmap(Kind.PREVIEW, arguments, max_pending=PREVIEW_MAX_PENDING)

    def start_annotation(self, image_ids: Sequence[int], models: Sequence[str]) -> str:
        """Annotate the images with these ids with each named annotator (``local``, ``http``)."""
        for model in models:
            self._context.annotator(model)
        return self._start(Kind.ANNOTATION, tuple(image_ids), tuple(models))

    def _start(self, kind: Kind, *args: Any) -> str:
        self._refuse_if_shut_down()
        return self.jobs.start(kind, self._context, *args).id

    def _refuse_if_shut_down(self) -> None:
        if self.jobs.is_shut_down:
            raise RuntimeError(
                "This WorkerService has been shut down and starts no more jobs; "
                "create a new WorkerService to run more work."
            )

    # --- cancelling and observing --------------------------------------------------------

    def cancel_batch_registration(self, job_id: str) -> bool:
        """Cancel a registration job; return False if it is not active."""
        return self.jobs.cancel(job_id)

    def cancel_search(self, job_id: str) -> bool:
        """Cancel a search job; return False if it is not active."""
        return self.jobs.cancel(job_id)

    def cancel_thumbnail_loading(self, job_id: str) -> bool:
        """Cancel a thumbnail job; return False if it is not active."""
        return self.jobs.cancel(job_id)

    def cancel_annotation(self, job_id: str) -> bool:
        """Cancel an annotation job; return False if it is not active."""
        return self.jobs.cancel(job_id)

    def cancel_all_workers(self) -> None:
        """Ask every active job on every stack to stop."""
        self.jobs.cancel_all()

    def get_active_worker_count(self) -> int:
        """Return how many jobs the stacks count as active."""
        return self.jobs.active_count()

    def get_active_worker_ids(self) -> list[str]:
        """Return the ids of all active jobs."""
        return self.jobs.active_job_ids()

    def is_worker_active(self, job_id: str) -> bool:
        """Return True if a stack counts ``job_id`` as active."""
        return self.jobs.is_active(job_id)

    def wait_for_all_workers(self, timeout_ms: int = 30000) -> bool:
        """Block until every job has ended or ``timeout_ms`` passed; return True if all ended."""
        return self.jobs.wait_for_all(timeout_ms)

    def get_service_summary(self) -> dict[str, Any]:
        """Return the routes, the active count and each stack's own summary."""
        return self.jobs.summary()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job, wait up to ``timeout_ms`` and refuse new jobs; True if all ended."""
        return self.jobs.shutdown(timeout_ms)

    @property
    def is_shut_down(self) -> bool:
        """Return True once shutdown() was called."""
        return self.jobs.is_shut_down

    def stack(self, name: str) -> Stack:
        """Return the backend of the stack called ``name``, creating it on first use."""
        return self.jobs.stack(name)

    # --- forwarding ----------------------------------------------------------------------

    def _connect(self, jobs: JobService) -> None:
        jobs.job_started.connect(self._on_started)
        jobs.job_progressed.connect(self._on_progressed)
        jobs.job_batch_progressed.connect(self._on_batch_progressed)
        jobs.partial_delivered.connect(self._on_partial)
        jobs.job_finished.connect(self._on_finished)
        jobs.job_failed.connect(self._on_failed)
        jobs.job_canceled.connect(self._on_canceled)
        jobs.active_count_changed.connect(self.active_worker_count_changed)
        jobs.all_jobs_finished.connect(self.all_workers_finished)
        jobs.shadow_compared.connect(self.shadow_compared)

    def _emit_kind_signal(self, kind: str, event: str, value: object) -> None:
        # LoRAIro's four kinds have signals of their own; preview (batches) has job events only.
        word = _SIGNAL_WORDS.get(kind)
        if word is not None:
            getattr(self, f"{word}_{event}").emit(value)

    @Slot(str, str)
    def _on_started(self, kind: str, job_id: str) -> None:
        self._emit_kind_signal(kind, "started", job_id)

    @Slot(str, str, object)
    def _on_progressed(self, _kind: str, job_id: str, progress: object) -> None:
        self.worker_progress_updated.emit(job_id, progress)

    @Slot(str, str, int, int, str)
    def _on_batch_progressed(
        self, _kind: str, job_id: str, current: int, total: int, item: str
    ) -> None:
        self.worker_batch_progress.emit(job_id, current, total, item)

    @Slot(str, str, object)
    def _on_partial(self, kind: str, job_id: str, payload: object) -> None:
        if kind == Kind.THUMBNAIL:
            self.thumbnails_loaded.emit(job_id, payload)
        elif kind == Kind.REGISTRATION:
            self.batch_registration_committed.emit(job_id, payload)

    @Slot(str, str, object)
    def _on_finished(self, kind: str, job_id: str, result: object) -> None:
        self._emit_kind_signal(kind, "finished", result)
        self.job_finished.emit(job_id, result)

    @Slot(str, str, object)
    def _on_failed(self, kind: str, job_id: str, error: object) -> None:
        # The original facade's error signals carry text.
        message = str(error)
        self._emit_kind_signal(kind, "error", message)
        self.job_failed.emit(job_id, message)

    @Slot(str, str)
    def _on_canceled(self, kind: str, job_id: str) -> None:
        self._emit_kind_signal(kind, "canceled", job_id)
        self.job_canceled.emit(job_id)
