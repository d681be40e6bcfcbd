"""The image library's legacy stack: LoRAIro's 2025 WorkerManager behind ``workerkit.Stack``.

The image library declares it as its ``legacy_stack``, through the same public
interface any app uses for its own manager. Faithful to the original facade, defects
included: D5 (ids collide within a second), D8 (a replaced job still delivers and clears
the current id), and the blocking cancel of the current job of a latest-wins kind
before a new one. Only the payloads are workerkit's: progress as a WorkerProgress, an
error message as a WorkerError.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Slot

from workerkit import Stack, WorkerError, WorkerProgress
from workerkit.imagelib.legacy_workers.manager import WorkerManager

if TYPE_CHECKING:
    from workerkit import App, WorkerKind

__all__ = ["LoRAIroManagerStack"]


class LoRAIroManagerStack(Stack):
    """Run every job on its own QThread through LoRAIro's 2025 WorkerManager."""

    def __init__(self, app: App, parent: QObject | None = None) -> None:
        super().__init__(app, parent)
        self.worker_manager = WorkerManager(self)
        # The original kept one attribute per replaceable kind (current_search_id, ...).
        self.current_ids: dict[str, str | None] = {}
        self.worker_manager.worker_started.connect(self._on_worker_started)
        self.worker_manager.worker_finished.connect(self._on_worker_finished)
        self.worker_manager.worker_error.connect(self._on_worker_error)
        self.worker_manager.worker_canceled.connect(self._on_worker_canceled)
        self.worker_manager.active_worker_count_changed.connect(self.active_count_changed)

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Build the kind's QThread-era worker and start it; raise RuntimeError if refused."""
        adapter = kind.legacy
        assert adapter is not None  # checked at declaration
        if kind.latest_wins:
            self._cancel_current(kind)
        worker = adapter.make(*args, **kwargs)
        # D5: two jobs of one kind within the same second get the same id.
        worker_id = f"{kind.prefix}_{int(time.time())}"
        self._connect_progress(kind, worker_id, worker)
        if not self.worker_manager.start_worker(worker_id, worker, adapter=adapter):
            raise RuntimeError(f"Failed to start {kind.name} worker {worker_id}.")
        if kind.latest_wins:
            self.current_ids[kind.name] = worker_id
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
        """Return the manager's summary and the current id of each latest-wins kind."""
        current = {f"current_{name}_id": job_id for name, job_id in self.current_ids.items()}
        return {**self.worker_manager.get_worker_summary(), **current}

    def _connect_progress(self, kind: WorkerKind, worker_id: str, worker: QObject) -> None:
        # Lambdas run in the worker thread; the backend's signals then cross to the GUI queued.
        adapter, name = kind.legacy, kind.name
        assert adapter is not None
        if adapter.progress is not None:
            getattr(worker, adapter.progress).connect(
                lambda p: self.job_progressed.emit(name, worker_id, WorkerProgress.of(p))
            )
        if adapter.batch_progress is not None:
            getattr(worker, adapter.batch_progress).connect(
                lambda current, total, item: self.job_batch_progressed.emit(
                    name, worker_id, current, total, item
                )
            )
        if adapter.partial is not None:
            getattr(worker, adapter.partial).connect(
                lambda payload: self.partial_delivered.emit(name, worker_id, payload)
            )

    def _cancel_current(self, kind: WorkerKind) -> None:
        current = self.current_ids.get(kind.name)
        if current is not None and self.worker_manager.is_worker_active(current):
            self.worker_manager.cancel_worker(current)

    def _clear_current(self, kind: WorkerKind) -> None:
        # D8: any job of the kind ending clears the current id, even a replaced one's.
        if kind.latest_wins:
            self.current_ids[kind.name] = None

    @Slot(str)
    def _on_worker_started(self, worker_id: str) -> None:
        self.job_started.emit(self.app.of_job(worker_id).name, worker_id)

    @Slot(str, object)
    def _on_worker_finished(self, worker_id: str, result: object) -> None:
        kind = self.app.of_job(worker_id)
        self._clear_current(kind)
        assert kind.legacy is not None
        if kind.legacy.partials_of_result is not None:
            partials = kind.legacy.partials_of_result(result)
            self.partial_delivered.emit(kind.name, worker_id, partials)
        self.job_finished.emit(kind.name, worker_id, result)

    @Slot(str, str)
    def _on_worker_error(self, worker_id: str, message: str) -> None:
        kind = self.app.of_job(worker_id)
        self._clear_current(kind)
        self.job_failed.emit(kind.name, worker_id, WorkerError.of(message))

    @Slot(str)
    def _on_worker_canceled(self, worker_id: str) -> None:
        self.job_canceled.emit(self.app.of_job(worker_id).name, worker_id)
