"""The small interface every worker stack implements behind JobService, yours included.

A stack runs jobs of the app's declared kinds and reports their events on the GUI
thread. workerkit brings two: the pool stack (``simplified``) and a careful
QThread-per-job stack (``legacy`` for an app that declares no stack of its own). An app
whose QThread workers already run under a manager of its own puts that manager behind
this interface and names the class in its declaration, ``App(..., legacy_stack=...)``:
then a flag set to ``legacy`` runs the app's own code path, and the contract plugin,
``workerkit compare``, the checklist, the flags and shadow mode use it like the
built-in stacks.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, SignalInstance

from workerkit._errors import as_exception
from workerkit._progress import progress_of

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from workerkit._app import App
    from workerkit._batch import Batch
    from workerkit._kind import WorkerKind

__all__ = ["Stack", "new_job_id"]

# Job ids: unique in the process (one counter for every stack), distinct across runs
# (48 random bits a process), and short: a burst holds one per job in flight.
_RUN = uuid.uuid4().hex[:12]
_SERIALS = itertools.count(1)


def new_job_id(kind: WorkerKind) -> str:
    """Return a job id for ``kind`` that no other job of this process has had.

    Args:
        kind: The job's kind; the id starts with its prefix and ``_``, which is how
            ``App.of_job`` finds the kind of an id again.

    Returns:
        The new id.
    """
    return f"{kind.prefix}_{_RUN}{next(_SERIALS):x}"


class Stack(QObject):
    """Run jobs of declared kinds on one worker stack; report their events on the GUI thread.

    Subclass it to put an app's own worker manager behind ``JobService``. Implement
    ``start``, ``cancel``, ``active_job_ids``, ``wait_for_all`` and ``shutdown``; report
    each job's events through the ``report_*`` methods, which give every payload the
    shape both stacks send and may be called from any thread (a worker's or the
    manager's): the events reach the GUI thread in the order they were reported, except
    that a start reported on the GUI thread goes ahead of the job's own earlier reports.
    A job id must start with its kind's prefix and ``_``, and no earlier job may have had it
    (``new_job_id`` makes such ids; ids made from the clock repeat).
    Every job must end with exactly one of ``job_finished``, ``job_failed`` or
    ``job_canceled``, and nothing of it may come after; ``cancel`` should return at
    once. The contract plugin checks all of it and reports where your stack differs.

    Signals (each carries the kind's name and the job id first):
        job_started(kind, job_id)
        job_progressed(kind, job_id, WorkerProgress)
        job_batch_progressed(kind, job_id, current, total, item)
        partial_delivered(kind, job_id, payload)
        job_finished(kind, job_id, result)
        job_failed(kind, job_id, exception)
        job_canceled(kind, job_id)
        active_count_changed(count)
    """

    job_started = Signal(str, str)
    job_progressed = Signal(str, str, object)
    job_batch_progressed = Signal(str, str, int, int, str)
    partial_delivered = Signal(str, str, object)
    job_finished = Signal(str, str, object)
    job_failed = Signal(str, str, object)
    job_canceled = Signal(str, str)
    active_count_changed = Signal(int)
    # Reports made off the stack's thread, carried to it in order: (signal, arguments).
    _reported = Signal(object)

    def __init__(self, app: App, parent: QObject | None = None) -> None:
        """Make the stack for ``app``'s kinds.

        Args:
            app: The declarations whose kinds this stack runs.
            parent: The QObject that owns the stack (the JobService).
        """
        super().__init__(parent)
        self.app = app
        self._lock = threading.Lock()
        self._in_transit = 0
        self._reported.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # --- what a stack implements ---------------------------------------------------------

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start a job of ``kind`` with these arguments and return its id.

        Args:
            kind: The declared kind; ``kind.legacy`` adapts the app's worker class.
            args: The job's positional arguments, as given to ``JobService.start``.
            kwargs: The job's keyword arguments.

        Returns:
            The job's id, starting with ``kind.prefix`` and ``_``.

        Raises:
            RuntimeError: The stack refused the job (say why in the message).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement start().")

    def cancel(self, job_id: str) -> bool:
        """Ask the job to stop and return at once; return False if no such job is active."""
        raise NotImplementedError(f"{type(self).__name__} must implement cancel().")

    def active_job_ids(self) -> list[str]:
        """Return the ids of jobs this stack still counts as active."""
        raise NotImplementedError(f"{type(self).__name__} must implement active_job_ids().")

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Block until every job has ended or ``timeout_ms`` passed; return True if all ended.

        By the time it returns True, every job has sent its terminal event (see
        ``deliver_reports`` for reports still on their way from other threads).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement wait_for_all().")

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job and wait up to ``timeout_ms``; return True if all ended."""
        raise NotImplementedError(f"{type(self).__name__} must implement shutdown().")

    # --- what a stack may override -------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Return a JSON-friendly description of the active jobs."""
        ids = self.active_job_ids()
        return {"active_worker_count": len(ids), "active_worker_ids": ids}

    def _start_batch(
        self,
        kind: WorkerKind,
        items: Iterator[tuple[Any, ...]],
        batch: Batch[Any],
        max_pending: int,
    ) -> str | None:
        """Start a batch natively and return its id, or None to run it one job per item.

        None, the default, has the service start one job per item through ``start``, a
        window at a time, as an app writes it by hand.
        """
        return None

    def is_active(self, job_id: str) -> bool:
        """Return True if ``job_id`` is one of this stack's active jobs."""
        return job_id in self.active_job_ids()

    def active_count(self) -> int:
        """Return how many jobs this stack counts as active."""
        return len(self.active_job_ids())

    # --- reporting, with the payloads every stack sends ---------------------------------

    def report_started(self, job_id: str) -> None:
        """Send ``job_started`` for ``job_id``.

        On the stack's thread it goes out at once, ahead of what other threads reported
        before: a manager that says so after ``thread.start()`` may be behind the job's
        own first reports (a quick job, a busy machine), and a job starts before it ends.
        """
        self._report(self.job_started, self._kind_name(job_id), job_id, first=True)

    def report_progress(self, job_id: str, value: object) -> None:
        """Send ``job_progressed`` with ``value`` as a WorkerProgress.

        The kind's ``LegacyWorker(progress_of=...)`` converts it when declared, else
        ``workerkit._progress.progress_of`` (a number, or an object with a percentage).
        """
        kind = self.app.of_job(job_id)
        convert = (kind.legacy.progress_of if kind.legacy else None) or progress_of
        self._report(self.job_progressed, str(kind.name), job_id, convert(value))

    def report_batch(self, job_id: str, current: int, total: int, item: str) -> None:
        """Send ``job_batch_progressed``: item ``current`` of ``total`` is ``item``."""
        self._report(
            self.job_batch_progressed, self._kind_name(job_id), job_id, current, total, item
        )

    def report_partial(self, job_id: str, payload: object) -> None:
        """Send ``partial_delivered`` with ``payload``."""
        self._report(self.partial_delivered, self._kind_name(job_id), job_id, payload)

    def report_finished(self, job_id: str, result: object) -> None:
        """Send ``job_finished`` with the job's result."""
        self._report(self.job_finished, self._kind_name(job_id), job_id, result)

    def report_failed(self, job_id: str, error: object) -> None:
        """Send ``job_failed`` with ``error`` as an exception (a message becomes WorkerError)."""
        self._report(self.job_failed, self._kind_name(job_id), job_id, as_exception(error))

    def report_canceled(self, job_id: str) -> None:
        """Send ``job_canceled``."""
        self._report(self.job_canceled, self._kind_name(job_id), job_id)

    def report_count(self) -> None:
        """Send ``active_count_changed`` with the number of active jobs."""
        self._report(self.active_count_changed, self.active_count())

    def deliver_reports(self) -> None:
        """Send now the reports made on other threads that are still on their way.

        Call it from ``wait_for_all`` and ``shutdown`` (on the GUI thread) before they
        return, so every job that ended has sent its terminal event.
        """
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)

    def _report(self, signal: SignalInstance, *args: object, first: bool = False) -> None:
        # On the stack's own thread: first send what other threads reported before (unless
        # this goes ``first``), then this at once. From another thread: queue it to the
        # stack's thread, in order.
        if QThread.currentThread() == self.thread():
            with self._lock:
                in_transit = self._in_transit
            if in_transit and not first:
                self.deliver_reports()
            signal.emit(*args)
            return
        with self._lock:
            self._in_transit += 1
        self._reported.emit((signal, args))

    def _deliver(self, report: tuple[SignalInstance, tuple[object, ...]]) -> None:
        with self._lock:
            self._in_transit -= 1
        signal, args = report
        signal.emit(*args)

    def _kind_name(self, job_id: str) -> str:
        return str(self.app.of_job(job_id).name)
