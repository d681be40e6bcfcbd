"""WorkerService: the one facade the GUI talks to, whichever stack runs a job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSize, Signal, Slot

from workerkit.backend import Backend, JobContext
from workerkit.conditions import SearchConditions
from workerkit.flags import RUNTIME_SOURCE, Flag, default_flags, make_flag, resolve_flags
from workerkit.kinds import Kind
from workerkit.requests import (
    AnnotationRequest,
    JobRequest,
    RegistrationRequest,
    SearchRequest,
    ThumbnailRequest,
)
from workerkit.shadow import DEFAULT_SHADOW_LOG, CandidateFactory, ShadowRunner, ShadowStats
from workerkit.stacks import backend_class, check_stack

if TYPE_CHECKING:
    from workerkit.annotators import Annotator
    from workerkit.store import ImageRecord, ImageStore

__all__ = ["WorkerService"]

DEFAULT_STACK = "legacy"
CONSTRUCTOR_SOURCE = "WorkerService backends"

# The original facade named its signals after these words, not after the kinds.
_SIGNAL_WORDS: dict[Kind, str] = {
    Kind.REGISTRATION: "batch_registration",
    Kind.SEARCH: "search",
    Kind.THUMBNAIL: "thumbnail",
    Kind.ANNOTATION: "annotation",
}


class WorkerService(QObject):
    """Start, cancel and observe background jobs; each kind runs on the stack its flag names."""

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

    # One record per shadow comparison (see workerkit.shadow); candidates emit nothing else here.
    shadow_compared = Signal(object)

    def __init__(
        self,
        store: ImageStore,
        *,
        backends: Mapping[str, str] | None = None,
        annotators: Mapping[str, Annotator] | None = None,
        max_threads: int | None = None,
        flags: Mapping[Kind, Flag] | None = None,
        shadow_log: Path | None = None,
        shadow_candidate: CandidateFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._context = (
            JobContext(store, max_threads=max_threads)
            if annotators is None
            else JobContext(store, dict(annotators), max_threads)
        )
        self._flags = _initial_flags(backends, flags)
        self._stacks: dict[str, Backend] = {}
        self._shadow_log = Path(shadow_log) if shadow_log else Path.cwd() / DEFAULT_SHADOW_LOG
        self._shadow_candidate = shadow_candidate
        self._shadow: ShadowRunner | None = None
        self._reported_count = 0
        self._closed = False

    # --- routing -------------------------------------------------------------------------

    def set_backend(self, kind: str | Kind, name: str) -> None:
        """Send new jobs of ``kind`` to legacy, simplified or shadow; running jobs stay put."""
        flag = make_flag(kind, name, RUNTIME_SOURCE)
        self._flags[flag.kind] = flag

    def backend_for(self, kind: str | Kind) -> str:
        """Return where new jobs of ``kind`` go: legacy, simplified or shadow."""
        return self._flags[Kind.parse(kind)].value

    def flag_sources(self) -> dict[str, str]:
        """Return, per kind name, which source set its current flag."""
        return {kind.value: flag.source for kind, flag in self._flags.items()}

    def shadow_stats(self) -> ShadowStats:
        """Return the shadow-mode counters (all zero until a shadow job ends)."""
        return self._shadow.stats() if self._shadow is not None else ShadowStats()

    @property
    def shadow_log(self) -> Path:
        """Return the JSON-lines file shadow comparisons are appended to."""
        return self._shadow_log

    # --- starting jobs -------------------------------------------------------------------

    def start_batch_registration(self, directory: str | Path) -> str:
        """Register every image under ``directory``; return the job id."""
        return self._start(RegistrationRequest(Path(directory)))

    def start_search(self, filter_conditions: SearchConditions | Mapping[str, Any]) -> str:
        """Search the library; a dict is read as LoRAIro-style filter conditions."""
        if not isinstance(filter_conditions, SearchConditions):
            filter_conditions = SearchConditions.from_dict(filter_conditions)
        return self._start(SearchRequest(filter_conditions))

    def start_thumbnail_loading(self, records: Iterable[ImageRecord], size: QSize) -> str:
        """Load thumbnails of ``records`` (a search result's image_metadata) to fit ``size``."""
        return self._start(ThumbnailRequest(tuple(records), size.width(), size.height()))

    def start_annotation(self, image_ids: Sequence[int], models: Sequence[str]) -> str:
        """Annotate the images with these ids with each named annotator (``local``, ``http``)."""
        for model in models:
            self._context.annotator(model)
        return self._start(AnnotationRequest(tuple(image_ids), tuple(models)))

    # --- cancelling and observing --------------------------------------------------------

    def cancel_batch_registration(self, job_id: str) -> bool:
        """Cancel a registration job; return False if it is not active."""
        return self._cancel(job_id)

    def cancel_search(self, job_id: str) -> bool:
        """Cancel a search job; return False if it is not active."""
        return self._cancel(job_id)

    def cancel_thumbnail_loading(self, job_id: str) -> bool:
        """Cancel a thumbnail job; return False if it is not active."""
        return self._cancel(job_id)

    def cancel_annotation(self, job_id: str) -> bool:
        """Cancel an annotation job; return False if it is not active."""
        return self._cancel(job_id)

    def cancel_all_workers(self) -> None:
        """Ask every active job on every stack to stop."""
        for job_id in self.get_active_worker_ids():
            self._cancel(job_id)

    def get_active_worker_count(self) -> int:
        """Return how many jobs the stacks count as active."""
        return sum(stack.active_count() for stack in self._stacks.values())

    def get_active_worker_ids(self) -> list[str]:
        """Return the ids of all active jobs."""
        return [job_id for stack in self._stacks.values() for job_id in stack.active_job_ids()]

    def is_worker_active(self, job_id: str) -> bool:
        """Return True if a stack counts ``job_id`` as active."""
        return self._owner(job_id) is not None

    def wait_for_all_workers(self, timeout_ms: int = 30000) -> bool:
        """Block until every job has ended or ``timeout_ms`` passed; return True if all ended."""
        return self._each_stack_within(timeout_ms, lambda stack, ms: stack.wait_for_all(ms))

    def get_service_summary(self) -> dict[str, Any]:
        """Return the routes, the active count and each stack's own summary."""
        return {
            "routes": {kind.value: flag.value for kind, flag in self._flags.items()},
            "flag_sources": self.flag_sources(),
            "active_worker_count": self.get_active_worker_count(),
            "active_worker_ids": self.get_active_worker_ids(),
            "stacks": {name: stack.summary() for name, stack in self._stacks.items()},
            "shadow": self._shadow.summary() if self._shadow is not None else None,
        }

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job, wait up to ``timeout_ms`` and refuse new jobs; True if all ended."""
        self._closed = True
        deadline = time.monotonic() + timeout_ms / 1000
        ended = self._each_stack_within(timeout_ms, lambda stack, ms: stack.shutdown(ms))
        if self._shadow is not None:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            ended = self._shadow.shutdown(remaining) and ended
        return ended

    @property
    def is_shut_down(self) -> bool:
        """Return True once shutdown() was called."""
        return self._closed

    # --- helpers -------------------------------------------------------------------------

    def _start(self, request: JobRequest) -> str:
        if self._closed:
            raise RuntimeError(
                "This WorkerService has been shut down and starts no more jobs; "
                "create a new WorkerService to run more work."
            )
        # Decided per job, now: a later set_backend() moves new jobs only.
        route = self._flags[request.kind].value
        if route == "shadow":
            return self._shadow_runner().start(request)
        return self.stack(route).start(request)

    def _shadow_runner(self) -> ShadowRunner:
        if self._shadow is None:
            self._shadow = ShadowRunner(
                self._context,
                self.stack("legacy"),
                self._shadow_log,
                candidate_factory=self._shadow_candidate,
                parent=self,
            )
            self._shadow.compared.connect(self.shadow_compared)
        return self._shadow

    def _cancel(self, job_id: str) -> bool:
        owner = self._owner(job_id)
        return owner is not None and owner.cancel(job_id)

    def _owner(self, job_id: str) -> Backend | None:
        return next((s for s in self._stacks.values() if s.is_active(job_id)), None)

    def _each_stack_within(self, timeout_ms: int, step: Callable[[Backend, int], bool]) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000
        ok = True
        for stack in list(self._stacks.values()):
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            ok = step(stack, remaining) and ok
        return ok

    def stack(self, name: str) -> Backend:
        """Return the backend of the stack called ``name``, creating it on first use."""
        name = check_stack(name)
        if name not in self._stacks:
            self._stacks[name] = self._connect(backend_class(name)(self._context, self))
        return self._stacks[name]

    def _connect(self, stack: Backend) -> Backend:
        stack.job_started.connect(self._on_started)
        stack.job_progressed.connect(self.worker_progress_updated)
        stack.job_batch_progressed.connect(self.worker_batch_progress)
        stack.job_finished.connect(self._on_finished)
        stack.job_failed.connect(self._on_failed)
        stack.job_canceled.connect(self._on_canceled)
        stack.thumbnails_loaded.connect(self.thumbnails_loaded)
        stack.active_count_changed.connect(self._on_count_changed)
        return stack

    def _kind_signal(self, job_id: str, event: str) -> Any:
        return getattr(self, f"{_SIGNAL_WORDS[Kind.of_job(job_id)]}_{event}")

    @Slot(str)
    def _on_started(self, job_id: str) -> None:
        self._kind_signal(job_id, "started").emit(job_id)

    @Slot(str, object)
    def _on_finished(self, job_id: str, result: object) -> None:
        self._kind_signal(job_id, "finished").emit(result)
        self.job_finished.emit(job_id, result)

    @Slot(str, str)
    def _on_failed(self, job_id: str, message: str) -> None:
        self._kind_signal(job_id, "error").emit(message)
        self.job_failed.emit(job_id, message)

    @Slot(str)
    def _on_canceled(self, job_id: str) -> None:
        self._kind_signal(job_id, "canceled").emit(job_id)
        self.job_canceled.emit(job_id)

    @Slot(int)
    def _on_count_changed(self, _stack_count: int) -> None:
        total = self.get_active_worker_count()
        previous, self._reported_count = self._reported_count, total
        self.active_worker_count_changed.emit(total)
        if total == 0 and previous > 0:
            self.all_workers_finished.emit()


def _initial_flags(
    backends: Mapping[str, str] | None, flags: Mapping[Kind, Flag] | None
) -> dict[Kind, Flag]:
    # Explicit backends never read workerkit.toml or the environment, so a test's service
    # does not depend on the directory it runs in.
    if flags is not None:
        checked = (make_flag(kind, flag.value, flag.source) for kind, flag in flags.items())
        initial = default_flags() | {flag.kind: flag for flag in checked}
    elif backends is None:
        initial = resolve_flags()
    else:
        # Kinds a partial backends mapping leaves out (the checklist reads this constant).
        initial = {kind: Flag(kind, DEFAULT_STACK, "default") for kind in Kind}
    for kind, name in (backends or {}).items():
        flag = make_flag(kind, name, CONSTRUCTOR_SOURCE)
        initial[flag.kind] = flag
    return initial
