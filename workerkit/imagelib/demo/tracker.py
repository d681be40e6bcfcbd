"""Which job of each kind the window is waiting for, and its end, reported once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from workerkit.imagelib.kinds import Kind

if TYPE_CHECKING:
    from workerkit.imagelib.service import WorkerService

__all__ = ["JobTracker"]


class JobTracker(QObject):
    """Remember the latest job of each kind; report how it ended, once; drop older jobs' events.

    Once per job matters on the legacy stack: a canceled job there sends
    ``job_canceled`` and, later, an error (D2); and a replaced search still
    delivers its result (D8).
    """

    ended = Signal(str, str, str, object)

    def __init__(self, service: WorkerService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: dict[Kind, str] = {}
        service.job_finished.connect(self._on_finished)
        service.job_failed.connect(self._on_failed)
        service.job_canceled.connect(self._on_canceled)

    def track(self, job_id: str) -> None:
        """Make ``job_id`` the job of its kind whose end is reported."""
        self._current[Kind.of_job(job_id)] = job_id

    def current(self, kind: Kind) -> str | None:
        """Return the tracked job of ``kind`` that has not ended yet, if any."""
        return self._current.get(kind)

    @Slot(str, object)
    def _on_finished(self, job_id: str, result: object) -> None:
        self._report(job_id, "finished", result)

    @Slot(str, str)
    def _on_failed(self, job_id: str, message: str) -> None:
        self._report(job_id, "failed", message)

    @Slot(str)
    def _on_canceled(self, job_id: str) -> None:
        self._report(job_id, "canceled", None)

    def _report(self, job_id: str, outcome: str, payload: object) -> None:
        kind = Kind.of_job(job_id)
        if self._current.get(kind) != job_id:
            return
        del self._current[kind]
        self.ended.emit(kind.value, job_id, outcome, payload)
