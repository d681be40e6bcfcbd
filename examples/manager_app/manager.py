"""The lab's own worker manager: a new QThread per job and one terminal event per job.

It has the shape of LoRAIro's WorkerManager today: a dict of active jobs, handlers that
are lambdas (so they run in the job's thread), a terminal event with compatibility
signals derived from it, and a user cancel that waits on the calling (GUI) thread for
up to 2 s. LoRAIro's last resort after that wait, ``QThread.terminate()``, is left out:
a thread terminated inside a C call (a database driver, a decoder) can die holding a
lock that nothing will ever release, and the next caller of that library hangs. A job
that outlives the wait is reported canceled and its thread is kept until it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from examples.manager_app.base_worker import LabWorkerBase
from examples.manager_app.terminal import CancelReason, Outcome, TerminalEvent

__all__ = ["CANCEL_ALL_GRACE_MS", "CANCEL_GRACE_MS", "WorkerManager"]

logger = logging.getLogger(__name__)

CANCEL_GRACE_MS = 2000
"""How long ``cancel_worker`` waits on the calling thread for the job's thread to end."""

CANCEL_ALL_GRACE_MS = 5000
"""How long ``cancel_all_workers`` waits for all threads together, by default."""

_RELEASE_WAIT_MS = 1000

# Threads that had not ended when they were given up on, with their workers: kept for the
# life of the process, since a QThread whose last Python reference goes while it runs
# aborts the process ("QThread: Destroyed while thread is still running").
_ABANDONED: dict[QThread, LabWorkerBase] = {}


@dataclass(slots=True)
class _Job:
    """One active job: its worker, its thread, and why it was asked to stop, if it was."""

    worker: LabWorkerBase
    thread: QThread
    cancel_reason: CancelReason | None = None


class WorkerManager(QObject):
    """Run each worker on a new QThread; report each job's end exactly once.

    ``worker_terminal`` carries the one TerminalEvent of a job; ``worker_finished``,
    ``worker_error`` and ``worker_canceled`` are derived from it for older listeners.
    Signals sent as a job ends come from the job's thread: connect slots of objects
    that live on the GUI thread, and Qt queues them there.
    """

    worker_started = Signal(str)
    worker_finished = Signal(str, object)
    worker_error = Signal(str, str)
    worker_canceled = Signal(str)
    worker_terminal = Signal(object)
    active_worker_count_changed = Signal(int)
    all_workers_finished = Signal()
    # Sent as a job's thread has ended, on the manager's (GUI) thread.
    _thread_ended = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        """Make a manager with no active job."""
        super().__init__(parent)
        self.active_workers: dict[str, _Job] = {}
        # Every job's thread and worker, from its start until its thread has ended: the
        # dict entry goes when the job ends, in the job's thread, while both still run.
        self._alive: dict[QThread, LabWorkerBase] = {}
        # The handlers run in the jobs' threads, the cancels on the GUI thread.
        self._lock = threading.Lock()
        self._thread_ended.connect(self._release)

    # --- jobs ----------------------------------------------------------------------------

    def start_worker(self, worker_id: str, worker: LabWorkerBase) -> bool:
        """Start ``worker`` on a new QThread under ``worker_id``; False if the id is active."""
        if worker_id in self.active_workers:
            logger.warning("Worker %s is already active; not starting another.", worker_id)
            return False
        thread = QThread()
        worker.moveToThread(thread)
        self._wire(worker_id, worker, thread)
        with self._lock:
            self.active_workers[worker_id] = _Job(worker, thread)
            self._alive[thread] = worker
        thread.start()
        self.worker_started.emit(worker_id)
        self.active_worker_count_changed.emit(len(self.active_workers))
        return True

    def cancel_worker(
        self, worker_id: str, reason: CancelReason = CancelReason.USER_REQUESTED
    ) -> bool:
        """Ask the job to stop and wait up to 2 s on this thread for it; False if not active.

        A job that sent no terminal signal by then (its worker still inside a slow step)
        is reported canceled; its thread is kept until it ends.
        """
        job = self.active_workers.get(worker_id)
        if job is None:
            return False
        job.cancel_reason = reason
        job.worker.cancel()
        job.thread.quit()
        if not _ended_within(job.thread, CANCEL_GRACE_MS):
            logger.warning("Worker %s did not stop within %d ms.", worker_id, CANCEL_GRACE_MS)
            self._abandon(job)
        self._finalize_canceled_if_no_terminal_signal(worker_id)
        return True

    def request_cancel_worker(
        self, worker_id: str, reason: CancelReason = CancelReason.USER_REQUESTED
    ) -> bool:
        """Ask the job to stop and return at once; False if it is not active."""
        job = self.active_workers.get(worker_id)
        if job is None:
            return False
        job.cancel_reason = reason
        job.worker.cancel()
        return True

    def cancel_all_workers(
        self,
        reason: CancelReason = CancelReason.SHUTDOWN,
        total_grace_ms: int = CANCEL_ALL_GRACE_MS,
    ) -> None:
        """Ask every job to stop, then wait for their threads against one shared deadline.

        Jobs whose threads are still running at the deadline stay active.
        """
        jobs = self._snapshot()
        for worker_id, job in jobs.items():
            self.request_cancel_worker(worker_id, reason)
            job.thread.quit()
        deadline = time.monotonic() + total_grace_ms / 1000
        for worker_id, job in jobs.items():
            if _ended_within(job.thread, _remaining_ms(deadline)):
                self._finalize_canceled_if_no_terminal_signal(worker_id)
            else:
                logger.warning("Worker %s did not stop before the deadline.", worker_id)
                self._abandon(job)

    def wait_for_all_workers(self, timeout_ms: int = 30000) -> bool:
        """Wait until every active job's thread has ended; False if ``timeout_ms`` passed.

        On the GUI thread it runs out the timeout for a job that ends meanwhile, as
        LoRAIro's does: ``finished -> thread.quit`` is queued to the thread object's own
        thread, the GUI thread, which is blocked here.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        jobs = self._snapshot().values()
        return all(_ended_within(job.thread, _remaining_ms(deadline)) for job in jobs)

    def is_worker_active(self, worker_id: str) -> bool:
        """Return True if ``worker_id`` has not ended yet."""
        return worker_id in self.active_workers

    def get_active_worker_ids(self) -> list[str]:
        """Return the ids of the jobs that have not ended yet."""
        return list(self._snapshot())

    def get_active_worker_count(self) -> int:
        """Return how many jobs have not ended yet."""
        return len(self.active_workers)

    def get_worker(self, worker_id: str) -> LabWorkerBase | None:
        """Return the worker of an active job, or None."""
        job = self.active_workers.get(worker_id)
        return job.worker if job is not None else None

    # --- wiring and handlers -------------------------------------------------------------

    def _wire(self, worker_id: str, worker: LabWorkerBase, thread: QThread) -> None:
        thread.started.connect(worker.run)
        # Lambdas, as in LoRAIro: no receiver, so they run in the job's thread.
        worker.finished.connect(lambda result: self._on_worker_finished(worker_id, result))
        worker.error_occurred.connect(lambda error: self._on_worker_error(worker_id, error))
        worker.canceled.connect(lambda: self._on_worker_canceled(worker_id))
        for ended in (worker.finished, worker.error_occurred, worker.canceled):
            ended.connect(thread.quit)
        # No worker.deleteLater: deleted in the job's thread, a Python worker's ~QObject
        # holds Qt's connection lock while PySide takes the GIL for it, and a GUI thread
        # connecting a signal meanwhile holds the GIL while it waits for that lock: both
        # wait forever (seen in a test run). _release drops the worker on the GUI thread.
        # Before deleteLater: the release then finds the thread object still there. A
        # callable runs on the thread its sender lives on (the GUI thread, for the QThread
        # object), queued: by then the manager may have gone with its parent.
        thread.finished.connect(lambda: shiboken6.isValid(self) and self._thread_ended.emit(thread))
        thread.finished.connect(thread.deleteLater)

    def _on_worker_finished(self, worker_id: str, result: object) -> None:
        self._finalize_terminal(worker_id, Outcome.SUCCEEDED, result=result)

    def _on_worker_error(self, worker_id: str, error: str) -> None:
        if self._finalize_terminal(worker_id, Outcome.FAILED, error=error):
            logger.error("Worker %s failed: %s", worker_id, error)

    def _on_worker_canceled(self, worker_id: str) -> None:
        self._finalize_terminal(worker_id, Outcome.CANCELED)

    def _finalize_canceled_if_no_terminal_signal(self, worker_id: str) -> None:
        # A terminal signal the worker sent may still wait in this thread's queue.
        self._process_pending_events()
        self._finalize_terminal(worker_id, Outcome.CANCELED)

    @staticmethod
    def _process_pending_events() -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.processEvents()

    def _finalize_terminal(
        self,
        worker_id: str,
        outcome: Outcome,
        *,
        result: object = None,
        error: str | None = None,
    ) -> bool:
        """End the job once: drop it, send its terminal event and the counts; False if ended."""
        with self._lock:
            job = self.active_workers.pop(worker_id, None)
            remaining = len(self.active_workers)
        if job is None:
            return False
        event = TerminalEvent(worker_id, outcome, result, error, job.cancel_reason)
        self.worker_terminal.emit(event)
        self._emit_compatibility_signal(event)
        self.active_worker_count_changed.emit(remaining)
        if remaining == 0:
            self.all_workers_finished.emit()
        return True

    def _emit_compatibility_signal(self, event: TerminalEvent) -> None:
        if event.outcome is Outcome.SUCCEEDED:
            self.worker_finished.emit(event.worker_id, event.result)
        elif event.outcome is Outcome.FAILED:
            self.worker_error.emit(event.worker_id, event.error or "the worker failed")
        else:
            self.worker_canceled.emit(event.worker_id)

    def _snapshot(self) -> dict[str, _Job]:
        with self._lock:
            return dict(self.active_workers)

    def _abandon(self, job: _Job) -> None:
        _ABANDONED[job.thread] = job.worker

    @Slot(object)
    def _release(self, thread: QThread) -> None:
        # A thread sends finished just before it ends: wait for its real end, then let
        # the worker's last Python reference go here, on the GUI thread, which deletes it.
        with self._lock:
            worker = self._alive.pop(thread, None)
        if not _ended_within(thread, _RELEASE_WAIT_MS):
            if worker is not None:
                _ABANDONED[thread] = worker  # rather than race its last deletes
            return
        _ABANDONED.pop(thread, None)


def _ended_within(thread: QThread, timeout_ms: int) -> bool:
    """Return True once ``thread`` has ended (or was deleted), waiting up to ``timeout_ms``."""
    return not shiboken6.isValid(thread) or thread.wait(timeout_ms)


def _remaining_ms(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))
