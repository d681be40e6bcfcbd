"""The lab's own WorkerManager behind workerkit: what a flag set to ``legacy`` runs.

This is the adapter an app writes once for its own manager: ``start`` builds the kind's
worker and hands it to the manager, ``cancel`` is the manager's user cancel, and the
manager's signals become the stack's reports (``report_*`` may be called from any thread;
the events reach the GUI thread in the order they were reported).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Slot

from examples.manager_app.manager import WorkerManager
from examples.manager_app.terminal import CancelReason, Outcome, TerminalEvent
from workerkit import Stack

if TYPE_CHECKING:
    from workerkit import App, WorkerKind

__all__ = ["ManagerStack"]


class ManagerStack(Stack):
    """Run the lab's legacy side on its own WorkerManager, one QThread per job.

    ``cancel`` blocks the GUI thread until the job stops (up to 2 s), as the app's own
    cancel does; so does starting a latest-wins job while one of its kind runs.
    """

    def __init__(self, app: App, parent: QObject | None = None) -> None:
        """Make the stack and its manager for ``app``'s kinds."""
        super().__init__(app, parent)
        self.manager = WorkerManager(self)
        # Per latest-wins kind, the job that a new one of its kind replaces.
        self._current: dict[str, str] = {}
        self.manager.worker_started.connect(self.report_started)
        self.manager.worker_terminal.connect(self._on_terminal)
        self.manager.active_worker_count_changed.connect(self._on_count_changed)

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Build the kind's worker and start it on the manager; return the job id.

        Raises:
            RuntimeError: The manager refused the job (its id is already active).
        """
        adapter = kind.legacy
        assert adapter is not None  # WorkerKind refuses a kind without one
        job_id = f"{kind.prefix}_{uuid.uuid4().hex[:8]}"
        worker = adapter.make(*args, **kwargs)
        if adapter.progress is not None:
            # Runs in the worker's thread; the declared progress_of converts the value.
            getattr(worker, adapter.progress).connect(
                lambda value: self.report_progress(job_id, value)
            )
        if kind.latest_wins:
            self._replace_current(kind)
        if not self.manager.start_worker(job_id, worker):
            raise RuntimeError(
                f"The WorkerManager refused {kind.name} job {job_id}: a job with that id is "
                "still active; start it again for a new id."
            )
        if kind.latest_wins:
            self._current[kind.name] = job_id
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Cancel through the manager, blocking until the job stops; False if not active."""
        return self.manager.cancel_worker(job_id)

    def active_job_ids(self) -> list[str]:
        """Return the ids of the manager's active jobs."""
        return self.manager.get_active_worker_ids()

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Block until every job's thread has ended or ``timeout_ms`` passed."""
        return self.manager.wait_for_all_workers(timeout_ms)

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job within ``timeout_ms`` in all; True if none is left active."""
        self.manager.cancel_all_workers(total_grace_ms=timeout_ms)
        return self.manager.get_active_worker_count() == 0

    def _replace_current(self, kind: WorkerKind) -> None:
        current = self._current.pop(kind.name, None)
        if current is not None:
            self.manager.cancel_worker(current, reason=CancelReason.REPLACED)

    @Slot(object)
    def _on_terminal(self, event: TerminalEvent) -> None:
        job_id = event.worker_id
        kind = self.app.of_job(job_id).name
        if self._current.get(kind) == job_id:
            del self._current[kind]
        if event.outcome is Outcome.SUCCEEDED:
            self.report_finished(job_id, event.result)
        elif event.outcome is Outcome.FAILED:
            self.report_failed(job_id, event.error)
        else:
            self.report_canceled(job_id)

    @Slot(int)
    def _on_count_changed(self, _count: int) -> None:
        self.report_count()
