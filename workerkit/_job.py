"""A job you can hold: what ``JobService.start`` returns.

The handle carries the job's id and kind, its state, its result or exception, ``cancel()``
and ``wait()``, and per-job signals (``started``, ``progressed``, ``partial_delivered``,
``finished``, ``failed``, ``canceled``). Its signals live on a small QObject made on first
use and owned by the service on the GUI thread; it is deleted when the job ends, so a
handle holds no Qt object past its job's end, and a handle nobody uses costs no QObject.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import (
    QDeadlineTimer,
    QEventLoop,
    QObject,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
    Slot,
)

from workerkit._errors import JobCanceled, JobPending

if TYPE_CHECKING:
    from workerkit._progress import WorkerProgress
    from workerkit._service import JobService

__all__ = ["Job", "JobState"]

R = TypeVar("R")


def wait_until(done: Callable[[], bool], timeout_ms: int) -> bool:
    """Run a local event loop until ``done()`` or ``timeout_ms`` passed; return ``done()``.

    The loop checks ``done()`` every millisecond. Its timer is stopped and disconnected
    before this returns: a connected slot that refers to the loop would otherwise keep
    the loop (a C++ object Python's collector cannot see into) and the timer alive, and
    the timer firing every millisecond for the rest of the process.
    """
    if done():
        return True
    loop = QEventLoop()
    deadline = QDeadlineTimer(max(0, timeout_ms))

    def check() -> None:
        if done() or deadline.hasExpired():
            loop.quit()

    poll = QTimer(loop)
    poll.timeout.connect(check)
    poll.start(1)
    try:
        loop.exec()
    finally:
        poll.stop()
        poll.timeout.disconnect(check)
    return done()


class JobState(enum.Enum):
    """Where a job is: running (queued or at work), or how it ended."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"


class _JobEvents(QObject):
    """One job's signals, emitted on the GUI thread; made on first use, deleted at the end."""

    started = Signal()
    progressed = Signal(object)
    partial_delivered = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    canceled = Signal()

    def __init__(self, job: Job[Any], service: JobService | None) -> None:
        super().__init__(service)
        self._job = job
        self._service = service
        if service is not None:
            service._handle_listens(True)
        self.started_sent = False
        self.ended_sent = False
        # Connections are made after this object exists: say what already happened once
        # the caller is back in the event loop (the job started inside start()).
        self._replay.connect(self._on_replay, Qt.ConnectionType.QueuedConnection)
        self._replay.emit()

    _replay = Signal()

    def send_started(self) -> None:
        """Emit ``started`` if it has not been emitted yet."""
        if not self.started_sent:
            self.started_sent = True
            self.started.emit()

    @Slot()
    def _on_replay(self) -> None:
        self.send_started()
        job = self._job
        if job.done:
            job._send_end(self)


class _Handle:
    """What a job's and a batch's handles share: id, kind, state, outcome, cancel, wait."""

    __slots__ = ("__weakref__", "_outcome", "_service", "_state", "id", "kind")

    def __init__(self, service: JobService, handle_id: str, kind: str) -> None:
        self.id = handle_id
        self.kind = kind
        # Weak: a handle kept by the caller must not keep a deleted service's wrapper alive.
        self._service = weakref.ref(service)
        self._state = JobState.RUNNING
        self._outcome: object = None

    @property
    def state(self) -> JobState:
        """Return where it is: running, finished, failed or canceled."""
        return self._state

    @property
    def done(self) -> bool:
        """Return True once it has ended, however it ended."""
        return self._state is not JobState.RUNNING

    def cancel(self) -> bool:
        """Ask it to stop and return at once; False if it is no longer active."""
        service = self._service()
        return service is not None and service.cancel(self.id)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Run the event loop until it ends or ``timeout_ms`` passed; True if it ended.

        For scripts and tests; a GUI connects to the signals instead.
        """
        return wait_until(lambda: self.done, timeout_ms)

    def _finished_outcome(self, pending: str) -> object:
        """Return the outcome of a finished end; raise how else it ended, or ``pending``."""
        if self._state is JobState.FINISHED:
            return self._outcome
        if self._state is JobState.FAILED:
            raise self._outcome  # type: ignore[misc]
        if self._state is JobState.CANCELED:
            raise JobCanceled()
        raise JobPending(pending)


def emit_end(events: Any, state: JobState, outcome: object) -> None:
    """Emit the one terminal signal of ``state`` on ``events`` (finished, failed, canceled)."""
    if state is JobState.FINISHED:
        events.finished.emit(outcome)
    elif state is JobState.FAILED:
        events.failed.emit(outcome)
    else:
        events.canceled.emit()


class Job(_Handle, Generic[R]):
    """A job started by ``JobService.start``: its id, kind, state, outcome and signals.

    A Job compares equal to its id and hashes like it, and ``str(job)`` is the id: code
    written when ``start`` returned the id, such as ``service.cancel(job_id)``, comparing
    it with the ids the service-wide signals carry, or using it as a dict key, works
    unchanged (``job.id`` is the plain string, for ``str`` methods).

    Every signal is emitted on the GUI thread. ``started`` comes first (in the event-loop
    turn after the signals are first used), ``progressed`` carries a WorkerProgress,
    ``partial_delivered`` a partial result, and exactly one of ``finished`` (the result),
    ``failed`` (the exception) and ``canceled`` ends it. A connection made after the job
    ended still hears how it ended, once. The service keeps a running job's handle, so
    ``service.start(...).finished.connect(slot)`` needs no reference of its own.
    """

    # Slots: a burst holds a handle per job in flight, so no per-handle dict.
    __slots__ = ("_events",)

    def __init__(self, service: JobService, job_id: str, kind: str) -> None:
        """Make the handle of the job ``job_id`` of ``kind`` that ``service`` started."""
        super().__init__(service, job_id, kind)
        self._events: _JobEvents | None = None

    def __repr__(self) -> str:
        return f"Job({self.id!r}, kind={self.kind!r}, state={self._state.value})"

    def __str__(self) -> str:
        return self.id

    def __format__(self, spec: str) -> str:
        return format(self.id, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Job):
            return self.id == other.id
        return self.id == other if isinstance(other, str) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    # --- state ---------------------------------------------------------------------------

    @property
    def error(self) -> BaseException | None:
        """Return the exception the job failed with, or None."""
        failed = self._state is JobState.FAILED
        return self._outcome if failed else None  # type: ignore[return-value]

    def result(self) -> R:
        """Return the job's result.

        Returns:
            What the job's work returned.

        Raises:
            JobPending: The job has not ended yet (wait for ``finished`` or call ``wait``).
            JobCanceled: The job was canceled.
            BaseException: The exception the job failed with, raised again.
        """
        return self._finished_outcome(  # type: ignore[return-value]
            f"Job {self.id} ({self.kind}) has not ended yet; connect to its finished signal "
            "or call job.wait() before asking for its result."
        )

    # --- signals -------------------------------------------------------------------------

    @property
    def started(self) -> SignalInstance:
        """The job started (sent once, first)."""
        return self._signals().started

    @property
    def progressed(self) -> SignalInstance:
        """The job reported progress: a WorkerProgress."""
        return self._signals().progressed

    @property
    def partial_delivered(self) -> SignalInstance:
        """The job delivered a partial result."""
        return self._signals().partial_delivered

    @property
    def finished(self) -> SignalInstance:
        """The job finished: its result."""
        return self._signals().finished

    @property
    def failed(self) -> SignalInstance:
        """The job failed: the exception (type, message and ``__traceback__``)."""
        return self._signals().failed

    @property
    def canceled(self) -> SignalInstance:
        """The job was canceled."""
        return self._signals().canceled

    def _signals(self) -> _JobEvents:
        if self._events is None:
            self._events = _JobEvents(self, self._service())
        return self._events

    # --- called by the service, on the GUI thread ---------------------------------------

    def _progressed(self, progress: WorkerProgress) -> None:
        events = self._events
        if events is not None:
            events.send_started()
            events.progressed.emit(progress)

    def _partial(self, payload: object) -> None:
        events = self._events
        if events is not None:
            events.send_started()
            events.partial_delivered.emit(payload)

    def _end(self, state: JobState, outcome: object) -> None:
        self._state, self._outcome = state, outcome
        events, self._events = self._events, None
        if events is not None:
            events.send_started()
            self._send_end(events)

    def _send_end(self, events: _JobEvents) -> None:
        if events.ended_sent:
            return
        events.ended_sent = True
        emit_end(events, self._state, self._outcome)
        # The job is over: its signals object goes (no Qt object outlives a job).
        if events._service is not None:
            events._service._handle_listens(False)
            events._service = None
        events.deleteLater()
        if self._events is events:
            self._events = None
