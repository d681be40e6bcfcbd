"""A job: a QRunnable that holds its signals object and reports exactly one terminal event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRunnable, QThreadPool
from workerkit.simplified.signals import JobSignals
from workerkit.simplified.throttle import ProgressThrottle
from workerkit.simplified.token import CancelToken, JobCanceled

from workerkit.progress import WorkerProgress

__all__ = ["Job", "JobControl", "Work"]


class JobControl:
    """Give the work function what it may touch: cancellation, progress, chunks, the pool."""

    def __init__(
        self, job_id: str, signals: JobSignals, token: CancelToken, pool: QThreadPool
    ) -> None:
        self.job_id = job_id
        self.token = token
        self.pool = pool
        self._signals = signals
        self._progress = ProgressThrottle(lambda p: signals.progressed.emit(job_id, p))
        self._batch = ProgressThrottle(self._emit_batch)

    @property
    def is_canceled(self) -> bool:
        """Return True once the job was asked to stop."""
        return self.token.is_canceled

    def check(self) -> None:
        """Raise JobCanceled if the job was canceled."""
        self.token.raise_if_canceled()

    def on_cancel(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Run ``hook`` (quick, thread-safe) on cancel to interrupt a blocking call."""
        return self.token.on_cancel(hook)

    def progress(
        self,
        percentage: int,
        message: str,
        current_item: str = "",
        processed_count: int = 0,
        total_count: int = 0,
    ) -> None:
        """Report progress; values closer than the throttle interval are coalesced."""
        self._progress.report(
            WorkerProgress(percentage, message, current_item, processed_count, total_count)
        )

    def batch(self, current: int, total: int, filename: str) -> None:
        """Report a batch step, coalesced like progress."""
        self._batch.report(
            WorkerProgress(100 * current // max(total, 1), filename, filename, current, total)
        )

    def partial(self, payload: object) -> None:
        """Deliver a partial result to the GUI thread now."""
        self._signals.partial_delivered.emit(self.job_id, payload)

    def flush(self) -> None:
        """Send any progress held back by the throttles."""
        self._batch.flush()
        self._progress.flush()

    def _emit_batch(self, step: WorkerProgress) -> None:
        self._signals.batch_progressed.emit(
            self.job_id, step.processed_count, step.total_count, step.current_item
        )


Work = Callable[[JobControl], Any]


class Job(QRunnable):
    """Run ``work`` on a pool thread and emit finished, failed or canceled, exactly once."""

    def __init__(
        self, job_id: str, work: Work, signals: JobSignals, token: CancelToken, pool: QThreadPool
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._control = JobControl(job_id, signals, token, pool)
        self._work = work
        self._signals = signals

    def run(self) -> None:
        """Run the work; Qt calls this on a pool thread, so it cannot be renamed."""
        control, job_id = self._control, self._control.job_id
        try:
            control.check()
            result = self._work(control)
            control.flush()
            control.check()
        except JobCanceled:
            self._signals.canceled.emit(job_id)
        except Exception as exc:
            self._signals.failed.emit(job_id, _describe(exc))
        else:
            self._signals.finished.emit(job_id, result)


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return text if text else f"{type(exc).__name__} raised with no message."
