"""The legacy base worker: a QObject moved to its own QThread, with custom status and progress.

This reproduces the design the migration replaces (see docs and the legacy
spec), including its defects; do not fix them here, the contract suite and the
benchmarks must be able to show them.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from workerkit import WorkerProgress

__all__ = [
    "CancellationController",
    "LoRAIroWorkerBase",
    "ProgressReporter",
    "WorkerStatus",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WorkerStatus(Enum):
    """Name the states the legacy base worker tracks by hand."""

    IDLE = "idle"
    RUNNING = "running"
    CANCELING = "canceling"
    COMPLETED = "completed"
    FAILED = "failed"


class CancellationController:
    """Hold a plain boolean cancel flag."""

    def __init__(self) -> None:
        self._canceled = False

    def cancel(self) -> None:
        """Set the flag."""
        self._canceled = True

    def is_canceled(self) -> bool:
        """Return the flag."""
        return self._canceled

    def reset(self) -> None:
        """Clear the flag."""
        self._canceled = False


class ProgressReporter(QObject):
    """Emit progress values on behalf of a worker."""

    progress_updated = Signal(object)
    batch_progress = Signal(int, int, str)

    def report(self, progress: WorkerProgress) -> None:
        """Emit one progress value."""
        self.progress_updated.emit(progress)

    def report_batch(self, current: int, total: int, filename: str) -> None:
        """Emit one batch step."""
        self.batch_progress.emit(current, total, filename)


class LoRAIroWorkerBase(QObject, Generic[T]):
    """Run ``execute()`` when the owning QThread starts; report status, progress and the result."""

    progress_updated = Signal(object)
    batch_progress = Signal(int, int, str)
    status_changed = Signal(object)
    finished = Signal(object)
    error_occurred = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status = WorkerStatus.IDLE
        self.cancellation = CancellationController()
        # Unparented, so it stays on the creating (GUI) thread after moveToThread;
        # it is only ever used to emit, which is thread-safe.
        self.progress_reporter = ProgressReporter()
        self.progress_reporter.progress_updated.connect(self.progress_updated)
        self.progress_reporter.batch_progress.connect(self.batch_progress)

    def execute(self) -> T:
        """Do the work and return the result; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute().")

    @Slot()
    def run(self) -> None:
        """Run the work; connected to QThread.started, so it runs in the worker thread."""
        try:
            self._set_status(WorkerStatus.RUNNING)
            result = self.execute()
            if self.cancellation.is_canceled():
                # D2: a cancel noticed after execute() returns sends no terminal signal.
                logger.info("%s was canceled", type(self).__name__)
                return
            self._set_status(WorkerStatus.COMPLETED)
            self.finished.emit(result)
        except Exception as exc:
            # D2: a cancel raised by _check_cancellation() lands here, as an error.
            logger.exception("%s failed", type(self).__name__)
            self._set_status(WorkerStatus.FAILED)
            self.error_occurred.emit(f"worker error: {exc}")

    def cancel(self) -> None:
        """Mark the worker canceling and set the flag."""
        self._set_status(WorkerStatus.CANCELING)
        self.cancellation.cancel()

    def is_canceled(self) -> bool:
        """Return True once cancel() was called."""
        return self.cancellation.is_canceled()

    def _set_status(self, status: WorkerStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _check_cancellation(self) -> None:
        if self.cancellation.is_canceled():
            raise RuntimeError("operation was canceled")

    def _report_progress(
        self,
        percentage: int,
        message: str,
        current_item: str = "",
        processed_count: int = 0,
        total_count: int = 0,
    ) -> None:
        self.progress_reporter.report(
            WorkerProgress(percentage, message, current_item, processed_count, total_count)
        )

    def _report_batch_progress(self, current: int, total: int, filename: str) -> None:
        self.progress_reporter.report_batch(current, total, filename)
