"""The careful QThread-per-job stack: ``legacy`` for an app that brings no manager of its own.

Each job gets a new ``QThread``, wired as Qt documents it and as a careful app wires it
by hand: a ``QObject`` worker is moved to the thread and run when it starts (a
``QThread`` subclass is its own thread), its terminal signal quits the thread, and a
per-job relay on the GUI thread receives every signal of the worker, queued, in the
order the worker sent them. A job ends when its thread has finished: then its one
terminal event is sent, nothing of it comes after, and its worker and thread are
released on the GUI thread. ``cancel()`` asks the worker (its cancel method and the
thread's ``requestInterruption()``) and returns at once; nothing here waits on the GUI
thread for a job except ``wait_for_all`` and ``shutdown``, each bounded by its timeout,
and nothing ever calls ``QThread.terminate()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEvent, QObject, Qt, QThread, Signal

from workerkit._errors import WorkerError, as_exception
from workerkit._kind import INTERRUPT
from workerkit._progress import WorkerProgress, progress_of
from workerkit._stack import Stack, new_job_id

if TYPE_CHECKING:
    from workerkit._app import App
    from workerkit._kind import LegacyWorker, WorkerKind

__all__ = ["ThreadStack"]

logger = logging.getLogger(__name__)

FINISHED, FAILED, CANCELED = range(3)
# Jobs of destroyed stacks whose threads still ran: kept until their threads finish, since
# destroying a running QThread aborts the process.
_ORPHANS: set[_ThreadJob] = set()


class ThreadStack(Stack):
    """Run every job on a new QThread, wired as a careful app wires it by hand."""

    def __init__(self, app: App, parent: QObject | None = None) -> None:
        super().__init__(app, parent)
        self._jobs: dict[str, _ThreadJob] = {}
        # Per latest-wins kind, its newest job: the one the next job of the kind supersedes.
        self._current: dict[str, str] = {}
        # Connected to a function that holds no reference to the stack (see _orphan_all).
        self.destroyed.connect(_orphan_all(self._jobs))

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Build the kind's worker with the job's arguments and start it on a new QThread."""
        adapter = kind.legacy
        assert adapter is not None  # checked at declaration
        job_id = new_job_id(kind)
        job = _ThreadJob(self, job_id, kind, adapter.make(*args, **kwargs))
        if kind.latest_wins:
            # The newer job supersedes the running one: asked to stop, it never delivers.
            superseded = self._jobs.get(self._current.get(kind.name, ""))
            if superseded is not None:
                superseded.cancel()
            self._current[kind.name] = job_id
        self._jobs[job_id] = job
        job.launch()
        self.job_started.emit(kind.name, job_id)
        self.active_count_changed.emit(len(self._jobs))
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Ask the job's worker to stop and return at once; False if the job is not active."""
        job = self._jobs.get(job_id)
        if job is None:
            return False
        job.cancel()
        return True

    def active_job_ids(self) -> list[str]:
        """Return the ids of jobs whose threads have not been seen to finish."""
        return list(self._jobs)

    def is_active(self, job_id: str) -> bool:
        """Return True while ``job_id``'s thread has not been seen to finish."""
        return job_id in self._jobs

    def active_count(self) -> int:
        """Return how many jobs are active."""
        return len(self._jobs)

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Wait up to ``timeout_ms`` for every job's thread, then send the ended jobs' events."""
        deadline = QDeadlineTimer(max(0, timeout_ms))
        for job in list(self._jobs.values()):
            if not job.wait(deadline):
                break
        # The relays' queued events (the last progress, the thread's end) are handled here,
        # so every job whose thread ended has sent its terminal event when this returns.
        for job in list(self._jobs.values()):
            QCoreApplication.sendPostedEvents(job, QEvent.Type.MetaCall)
        return not self._jobs

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job and wait up to ``timeout_ms``; True only if every thread ended."""
        for job in list(self._jobs.values()):
            job.cancel()
        return self.wait_for_all(timeout_ms)

    def summary(self) -> dict[str, Any]:
        """Describe the active jobs: worker class, whether its thread runs, whether canceled."""
        return {
            "active_worker_count": len(self._jobs),
            "active_worker_ids": list(self._jobs),
            "workers": {job_id: job.describe() for job_id, job in self._jobs.items()},
        }

    def _ended(self, job: _ThreadJob, outcome: int, payload: object) -> None:
        """Send the job's terminal event and forget it (its thread has finished)."""
        self._jobs.pop(job.job_id, None)
        if self._current.get(job.kind_name) == job.job_id:
            del self._current[job.kind_name]
        if outcome == FINISHED:
            self.job_finished.emit(job.kind_name, job.job_id, payload)
        elif outcome == FAILED:
            self.job_failed.emit(job.kind_name, job.job_id, payload)
        else:
            self.job_canceled.emit(job.kind_name, job.job_id)
        self.active_count_changed.emit(len(self._jobs))


class _ThreadJob(QObject):
    """One job: its worker, its thread, and the GUI-thread end of every signal they send.

    The relay lives on the GUI thread and has no parent, so a stack destroyed while the
    job runs cannot take it (and the running QThread it holds) with it.
    """

    # Sent from the job's thread by the run wrapper: what the run method returned or raised.
    _ran = Signal(int, object)

    def __init__(self, stack: ThreadStack, job_id: str, kind: WorkerKind, worker: Any) -> None:
        super().__init__()
        assert kind.legacy is not None  # checked at declaration
        self.stack: ThreadStack | None = stack
        self.job_id = job_id
        self.kind_name = str(kind.name)
        self.writes = kind.writes
        self.adapter: LegacyWorker = kind.legacy
        self.worker: Any = worker
        self.thread_: QThread | None = worker if self.adapter.is_thread else QThread()
        self.canceled = False
        self._ending: tuple[int, object] | None = None
        self._result: tuple[object] | None = None
        self._settled = False

    # --- GUI thread ----------------------------------------------------------------------

    def launch(self) -> None:
        """Wire the worker to its thread and this relay, then start the thread."""
        worker, thread, adapter = self.worker, self.thread_, self.adapter
        assert thread is not None
        if not adapter.is_thread:
            worker.moveToThread(thread)
            # Direct: the wrapper runs in the new thread, as a slot of the worker would.
            thread.started.connect(self._run_in_thread, Qt.ConnectionType.DirectConnection)
        for name in (adapter.finished, adapter.error, adapter.canceled):
            if name is not None:
                # Direct and to a C++ slot: the thread's loop quits from the worker's own
                # thread as the worker ends, with no Python and no GUI round trip.
                getattr(worker, name).connect(thread.quit, Qt.ConnectionType.DirectConnection)
        self._connect_relay()
        thread.start()

    def cancel(self) -> None:
        """Ask the worker to stop: its cancel method, the thread's interruption, the loop's quit."""
        if self._settled or self.canceled:
            return
        self.canceled = True
        thread = self.thread_
        assert thread is not None
        thread.requestInterruption()
        name = self.adapter.cancel
        if name is not None and name != INTERRUPT:
            try:
                getattr(self.worker, name)()
            except Exception:
                logger.exception("%s.%s() raised", type(self.worker).__name__, name)
        # A worker that stops without a terminal signal still ends its thread: the loop
        # quits as soon as the run method returns.
        thread.quit()

    def wait(self, deadline: QDeadlineTimer) -> bool:
        """Block until the job's thread has finished or ``deadline`` passed."""
        thread = self.thread_
        return thread is None or thread.wait(deadline)

    def describe(self) -> dict[str, Any]:
        """Return the worker's class, whether its thread runs and whether it was canceled."""
        thread = self.thread_
        return {
            "class": type(self.worker).__name__,
            "running": bool(thread is not None and thread.isRunning()),
            "canceled": self.canceled,
        }

    def orphan(self) -> None:
        """Keep this job alive past its destroyed stack until its thread finishes."""
        self.stack = None
        self.cancel()
        _ORPHANS.add(self)

    def _connect_relay(self) -> None:
        worker, adapter = self.worker, self.adapter
        assert self.thread_ is not None
        self._ran.connect(self._on_ran, Qt.ConnectionType.QueuedConnection)
        # This relay lives on the GUI thread: Qt queues every signal the worker sends from
        # its thread to it, in order, and the thread's finished signal comes last.
        slots: dict[str | None, Callable[..., None]] = {
            adapter.finished: self._on_finished,
            adapter.result: self._on_result,
            adapter.error: self._on_error,
            adapter.canceled: self._on_canceled,
            adapter.progress: self._on_progress,
            adapter.batch_progress: self._on_batch,
            adapter.partial: self._on_partial,
        }
        for name, slot in slots.items():
            if name is not None:
                getattr(worker, name).connect(slot)
        self.thread_.finished.connect(self._on_thread_finished)

    def _end(self, outcome: int, payload: object) -> None:
        # The first terminal report wins; the job ends when its thread has finished.
        if self._ending is None:
            self._ending = (outcome, payload)

    def _on_finished(self, *args: object) -> None:
        if self.adapter.result is None:
            self._end(FINISHED, args[0] if args else None)
        else:
            self._end(FINISHED, self._result[0] if self._result is not None else None)

    def _on_result(self, *args: object) -> None:
        self._result = (args[0] if args else None,)

    def _on_error(self, *args: object) -> None:
        self._end(FAILED, as_exception(args[0] if args else None))

    def _on_canceled(self, *_args: object) -> None:
        self._end(CANCELED, None)

    def _on_ran(self, outcome: int, payload: object) -> None:
        self._end(outcome, payload)

    def _on_progress(self, *args: Any) -> None:
        if self.stack is None or self._settled:
            return
        if self.adapter.progress_of is not None:
            progress = self.adapter.progress_of(args[0] if len(args) == 1 else args)
        elif len(args) > 1:  # (percentage, message)
            progress = WorkerProgress(int(args[0]), str(args[1]), raw=args)
        else:
            progress = progress_of(args[0] if args else None)
        self.stack.job_progressed.emit(self.kind_name, self.job_id, progress)

    def _on_batch(self, current: int, total: int, item: str, *_rest: object) -> None:
        if self.stack is not None and not self._settled:
            self.stack.job_batch_progressed.emit(self.kind_name, self.job_id, current, total, item)

    def _on_partial(self, *args: object) -> None:
        # A partial still on its way when the job was canceled is never delivered.
        if self.stack is not None and not self._settled and not self.canceled:
            self.stack.partial_delivered.emit(
                self.kind_name, self.job_id, args[0] if args else None
            )

    def _on_thread_finished(self) -> None:
        if self._settled:
            return
        self._settled = True
        outcome, payload = self._outcome()
        stack, self.stack = self.stack, None
        if stack is not None:
            if outcome == FINISHED and self.adapter.partials_of_result is not None:
                partials = self.adapter.partials_of_result(payload)
                stack.partial_delivered.emit(self.kind_name, self.job_id, partials)
            stack._ended(self, outcome, payload)
        self._release()

    def _outcome(self) -> tuple[int, object]:
        outcome, payload = self._ending if self._ending is not None else (None, None)
        if outcome == FINISHED and self.adapter.error_of_result is not None:
            error = self.adapter.error_of_result(payload)
            if error is not None:
                outcome, payload = FAILED, as_exception(error)
        # A cancel wins over what raced it, as on the pool stack, except a writing kind's
        # completed work: its result says what is now stored.
        if self.canceled and not (outcome == FINISHED and self.writes):
            return CANCELED, None
        if outcome is None:
            return FAILED, WorkerError(
                f"{type(self.worker).__name__}'s thread ended without a result, an error or "
                "a canceled signal"
            )
        return outcome, payload

    def _release(self) -> None:
        # The thread has finished: the worker and the thread can go, here on the GUI thread
        # (a worker deleted in its own thread can deadlock with the GUI thread on the GIL).
        self.worker = None
        self.thread_ = None
        _ORPHANS.discard(self)

    # --- the job's thread ----------------------------------------------------------------

    def _run_in_thread(self) -> None:
        """Call the worker's run method; report what it raised or returned, quit if it is done."""
        worker, thread = self.worker, self.thread_
        assert worker is not None and thread is not None
        try:
            returned = getattr(worker, self.adapter.run)()
        except BaseException as exc:
            self._ran.emit(FAILED, exc)
            thread.quit()
            return
        # A run method that returns its result (instead of sending it) is done; one that
        # returns None and sent nothing keeps the loop running for the signal that will.
        if returned is not None:
            self._ran.emit(FINISHED, returned)
            thread.quit()


def _orphan_all(jobs: dict[str, _ThreadJob]) -> Callable[[], None]:
    def orphan() -> None:
        for job in jobs.values():
            job.orphan()
        jobs.clear()

    return orphan
