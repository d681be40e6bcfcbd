"""The base of the lab's QThread-era workers, in the shape of LoRAIro's worker base today.

A worker is a ``QObject`` that the manager moves to a new ``QThread``; the thread's
``started`` signal calls ``run``, which calls the subclass's ``execute`` and reports how
it ended: ``finished(result)``, ``error_occurred(message)`` or ``canceled()``. A cancel
sets a flag that ``execute`` checks between its steps with ``_check_canceled``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, Signal, Slot

__all__ = ["LabProgress", "LabWorkerBase", "WorkerStatus"]

logger = logging.getLogger(__name__)


class WorkerStatus(Enum):
    """Where a worker is in its life."""

    IDLE = "idle"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class LabProgress:
    """Say how far a job has come: ``done`` of ``total`` steps, and what it did last."""

    percentage: int
    message: str
    done: int = 0
    total: int = 0


class _Canceled(Exception):
    """Raised by ``_check_canceled`` once the worker was asked to stop; ``run`` catches it."""


class LabWorkerBase(QObject):
    """Run ``execute`` when the owning thread starts; report progress, the end and the status.

    Signals:
        progress_updated(LabProgress)
        finished(result)
        error_occurred(message)
        canceled()
        status_changed(WorkerStatus)
    """

    progress_updated = Signal(object)
    finished = Signal(object)
    error_occurred = Signal(str)
    canceled = Signal()
    status_changed = Signal(object)

    def __init__(self) -> None:
        """Make an idle worker that was not asked to stop."""
        super().__init__()
        self.status = WorkerStatus.IDLE
        # A bool is read and written whole under the GIL: the GUI thread sets it, the
        # worker's thread reads it between steps.
        self._cancel_requested = False

    def execute(self) -> object:
        """Do the work and return the result; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute().")

    @Slot()
    def run(self) -> None:
        """Call ``execute`` and send exactly one of finished, error_occurred or canceled."""
        self._set_status(WorkerStatus.RUNNING)
        try:
            result = self.execute()
        except _Canceled:
            self._end_canceled()
            return
        except Exception as exc:
            logger.exception("%s failed", type(self).__name__)
            self._set_status(WorkerStatus.FAILED)
            self.error_occurred.emit(f"{type(self).__name__} failed: {exc}")
            return
        if self._cancel_requested:
            self._end_canceled()
            return
        self._set_status(WorkerStatus.COMPLETED)
        self.finished.emit(result)

    def cancel(self) -> None:
        """Ask the worker to stop at its next check; return at once.

        It only sets the flag: the worker may already have ended and been deleted in its
        own thread, so a cancel touches none of its Qt parts.
        """
        self._cancel_requested = True

    def _check_canceled(self) -> None:
        """Raise the internal cancel exception if the worker was asked to stop."""
        if self._cancel_requested:
            raise _Canceled

    def _report_progress(self, done: int, total: int, message: str) -> None:
        """Send ``done`` of ``total`` steps as a LabProgress."""
        percentage = 100 * done // total if total else 100
        self.progress_updated.emit(LabProgress(percentage, message, done, total))

    def _end_canceled(self) -> None:
        self._set_status(WorkerStatus.CANCELED)
        self.canceled.emit()

    def _set_status(self, status: WorkerStatus) -> None:
        if status is not self.status:
            self.status = status
            self.status_changed.emit(status)
