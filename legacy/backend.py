"""The legacy WorkerService logic as a Backend: time-based ids, blocking replace, prefix routing.

Faithful to the original facade, defects included: D5 (ids collide within a
second), D8 (a replaced job still delivers and clears the current id), and
the blocking cancel of the current search or thumbnail job before a new one.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QSize, Slot

from legacy.annotation_worker import AnnotationWorker
from legacy.base_worker import LoRAIroWorkerBase
from legacy.manager import WorkerManager
from legacy.registration_worker import DatabaseRegistrationWorker
from legacy.search_worker import SearchWorker
from legacy.thumbnail_worker import ThumbnailWorker
from workerkit.backend import Backend, JobContext
from workerkit.kinds import Kind
from workerkit.requests import (
    AnnotationRequest,
    JobRequest,
    RegistrationRequest,
    SearchRequest,
    ThumbnailRequest,
)

__all__ = ["LegacyBackend"]


class LegacyBackend(Backend):
    """Run every job on its own QThread through the original WorkerManager."""

    name: ClassVar[str] = "legacy"

    def __init__(self, context: JobContext, parent: QObject | None = None) -> None:
        super().__init__(context, parent)
        self.worker_manager = WorkerManager(self)
        self.current_search_id: str | None = None
        self.current_thumbnail_id: str | None = None
        self.worker_manager.worker_started.connect(self.job_started)
        self.worker_manager.worker_finished.connect(self._on_worker_finished)
        self.worker_manager.worker_error.connect(self._on_worker_error)
        self.worker_manager.worker_canceled.connect(self.job_canceled)
        self.worker_manager.active_worker_count_changed.connect(self.active_count_changed)

    def start(self, request: JobRequest) -> str:
        """Build the worker for ``request`` and start it; raise RuntimeError if refused."""
        if isinstance(request, SearchRequest | ThumbnailRequest):
            self._cancel_current(request.kind)
        worker = self._make_worker(request)
        # D5: two jobs of one kind within the same second get the same id.
        worker_id = f"{request.kind.prefix}_{int(time.time())}"
        self._connect_progress(worker_id, worker)
        if not self.worker_manager.start_worker(worker_id, worker):
            raise RuntimeError(f"Failed to start {request.kind.value} worker {worker_id}.")
        if request.kind is Kind.SEARCH:
            self.current_search_id = worker_id
        elif request.kind is Kind.THUMBNAIL:
            self.current_thumbnail_id = worker_id
        return worker_id

    def cancel(self, job_id: str) -> bool:
        """Cancel through the manager, which blocks until the thread stops."""
        return self.worker_manager.cancel_worker(job_id)

    def active_job_ids(self) -> list[str]:
        """Return the manager's dict keys."""
        return self.worker_manager.get_active_worker_ids()

    def is_active(self, job_id: str) -> bool:
        """Return True if the manager's dict holds ``job_id``."""
        return self.worker_manager.is_worker_active(job_id)

    def active_count(self) -> int:
        """Return the size of the manager's dict."""
        return self.worker_manager.get_active_worker_count()

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Wait on each thread in turn."""
        return self.worker_manager.wait_for_all_workers(timeout_ms)

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every worker (blocking, one by one), then wait for the threads."""
        self.worker_manager.cancel_all_workers()
        return self.worker_manager.wait_for_all_workers(timeout_ms)

    def summary(self) -> dict[str, Any]:
        """Return the manager's summary and the current search and thumbnail ids."""
        return {
            **self.worker_manager.get_worker_summary(),
            "current_search_id": self.current_search_id,
            "current_thumbnail_id": self.current_thumbnail_id,
        }

    def _make_worker(self, request: JobRequest) -> LoRAIroWorkerBase[Any]:
        store = self.context.store
        match request:
            case RegistrationRequest(directory=directory):
                return DatabaseRegistrationWorker(directory, store)
            case SearchRequest(conditions=conditions):
                return SearchWorker(conditions, store)
            case ThumbnailRequest(records=records, width=width, height=height):
                return ThumbnailWorker(records, QSize(width, height))
            case AnnotationRequest(image_ids=image_ids, models=models):
                return AnnotationWorker(image_ids, models, self.context)
        raise TypeError(f"LegacyBackend cannot run a {type(request).__name__}.")

    def _connect_progress(self, worker_id: str, worker: LoRAIroWorkerBase[Any]) -> None:
        # Lambdas run in the worker thread; the backend's signals then cross to the GUI queued.
        worker.progress_updated.connect(lambda p: self.job_progressed.emit(worker_id, p))
        worker.batch_progress.connect(
            lambda current, total, name: self.job_batch_progressed.emit(
                worker_id, current, total, name
            )
        )

    def _cancel_current(self, kind: Kind) -> None:
        current = self.current_search_id if kind is Kind.SEARCH else self.current_thumbnail_id
        if current is not None and self.worker_manager.is_worker_active(current):
            self.worker_manager.cancel_worker(current)

    def _clear_current(self, worker_id: str) -> None:
        # D8: any search (or thumbnail) ending clears the current id, even a replaced one's.
        if worker_id.startswith(Kind.SEARCH.prefix):
            self.current_search_id = None
        elif worker_id.startswith(Kind.THUMBNAIL.prefix):
            self.current_thumbnail_id = None

    @Slot(str, object)
    def _on_worker_finished(self, worker_id: str, result: object) -> None:
        self._clear_current(worker_id)
        if worker_id.startswith(Kind.THUMBNAIL.prefix):
            self.thumbnails_loaded.emit(worker_id, result.loaded_thumbnails)  # type: ignore[attr-defined]
        self.job_finished.emit(worker_id, result)

    @Slot(str, str)
    def _on_worker_error(self, worker_id: str, message: str) -> None:
        self._clear_current(worker_id)
        self.job_failed.emit(worker_id, message)
