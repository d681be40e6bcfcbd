"""The small interface each worker stack implements behind JobService."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from workerkit.app import App
    from workerkit.kind import WorkerKind

__all__ = ["Backend"]


class Backend(QObject):
    """Run jobs of declared kinds on one stack and report their events on the GUI thread.

    Every event carries the kind's name and the job id; every job id starts with its
    kind's prefix (``App.of_job`` reads it back), so no table is needed to route events.
    """

    name: ClassVar[str] = ""

    job_started = Signal(str, str)
    job_progressed = Signal(str, str, object)
    job_batch_progressed = Signal(str, str, int, int, str)
    partial_delivered = Signal(str, str, object)
    job_finished = Signal(str, str, object)
    job_failed = Signal(str, str, str)
    job_canceled = Signal(str, str)
    active_count_changed = Signal(int)

    def __init__(
        self, app: App, max_threads: int | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.app = app
        self.max_threads = max_threads

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start a job of ``kind`` and return its id; raise RuntimeError if refused."""
        raise NotImplementedError(f"{type(self).__name__} must implement start().")

    def cancel(self, job_id: str) -> bool:
        """Ask the job to stop; return False if no such job is active."""
        raise NotImplementedError(f"{type(self).__name__} must implement cancel().")

    def active_job_ids(self) -> list[str]:
        """Return the ids of jobs this stack still counts as active."""
        raise NotImplementedError(f"{type(self).__name__} must implement active_job_ids().")

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Block until every job has ended or ``timeout_ms`` passed; return True if all ended."""
        raise NotImplementedError(f"{type(self).__name__} must implement wait_for_all().")

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job and wait up to ``timeout_ms``; return True if all ended."""
        raise NotImplementedError(f"{type(self).__name__} must implement shutdown().")

    def summary(self) -> dict[str, Any]:
        """Return a JSON-friendly description of the active jobs."""
        raise NotImplementedError(f"{type(self).__name__} must implement summary().")

    def is_active(self, job_id: str) -> bool:
        """Return True if ``job_id`` is one of this stack's active jobs."""
        return job_id in self.active_job_ids()

    def active_count(self) -> int:
        """Return how many jobs this stack counts as active."""
        return len(self.active_job_ids())
