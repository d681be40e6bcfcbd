"""The GUI-thread side of a workload: the service under test, job events and bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot

from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.service import WorkerService
from workerkit.tools.benchmarks.probes import Heartbeat, SignalCounter, qthreads_alive

__all__ = ["Bench", "EventBench", "JobEvent", "WorkloadError", "WorkloadTimeout", "spin"]

# How long close() lets ended jobs' threads wind down before shutting the service down.
_DRAIN_S = 3.0


class WorkloadError(RuntimeError):
    """A workload could not run to the end; the message says what happened."""


class WorkloadTimeout(WorkloadError):
    """A wait inside a workload ran out of time."""


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One terminal event of a job, as the GUI thread handled it."""

    job_id: str
    event: str
    at: float
    payload: object = None


@dataclass(slots=True)
class _Waiter:
    condition: Callable[[], bool]
    loop: QEventLoop


def spin(seconds: float, parent: QObject) -> None:
    """Run the GUI event loop for ``seconds`` (timers and queued signals keep flowing)."""
    loop = QEventLoop(parent)
    QTimer.singleShot(max(0, int(seconds * 1000)), loop, loop.quit)
    loop.exec()
    loop.deleteLater()


@dataclass(slots=True)
class _State:
    events: list[JobEvent] = field(default_factory=list)
    hooks: list[Callable[[JobEvent], None]] = field(default_factory=list)
    waiter: _Waiter | None = None


class EventBench(QObject):
    """Record a service's terminal job events on the GUI thread and wait for them.

    Subclasses own the service and feed its terminal events to ``_record``; every
    helper object has this QObject as parent, so nothing outlives the workload.
    """

    def __init__(self, stack: str) -> None:
        super().__init__()
        self.stack = stack
        self.heartbeat = Heartbeat(self)
        self._state = _State()

    @property
    def events(self) -> list[JobEvent]:
        """Return the terminal events handled so far, oldest first."""
        return self._state.events

    def on_event(self, hook: Callable[[JobEvent], None]) -> Callable[[], None]:
        """Call ``hook`` for every terminal event as it is handled; return its remover."""
        self._state.hooks.append(hook)
        return lambda: self._state.hooks.remove(hook)

    def wait_until(
        self, condition: Callable[[], bool], timeout_s: float, what: str, *, poll: bool = False
    ) -> None:
        """Run the event loop until ``condition()`` holds after a job event; raise on timeout.

        With ``poll`` the condition is also checked every 5 ms, for conditions that no
        job event signals; measured waits do not poll, so no extra timer runs.
        """
        if condition():
            return
        loop = QEventLoop(self)
        timer = QTimer(loop)
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        poller = QTimer(loop)

        def quit_if_met() -> None:
            if condition():
                loop.quit()

        poller.timeout.connect(quit_if_met)
        self._state.waiter = _Waiter(condition, loop)
        try:
            timer.start(int(timeout_s * 1000))
            if poll:
                poller.start(5)
            loop.exec()
        finally:
            self._state.waiter = None
            loop.deleteLater()
        if not condition():
            raise WorkloadTimeout(
                f"Waited {timeout_s:g} s for {what} on the {self.stack} stack, but it did not "
                "happen; the stack may be stuck (run with a larger watchdog to tell)."
            )

    def run_job(self, start: Callable[[], str], timeout_s: float) -> tuple[str, JobEvent]:
        """Start a job and wait for its first terminal event; return its id and that event."""
        since = len(self._state.events)
        job_id = start()
        return job_id, self.wait_for_job(job_id, timeout_s, since)

    def wait_for_job(self, job_id: str, timeout_s: float, since: int) -> JobEvent:
        """Wait for the first terminal event of ``job_id`` after event number ``since``."""
        self.wait_until(
            lambda: self.first_event(job_id, since) is not None, timeout_s, f"job {job_id}"
        )
        event = self.first_event(job_id, since)
        assert event is not None
        return event

    def first_event(self, job_id: str, since: int) -> JobEvent | None:
        """Return the first terminal event of ``job_id`` after event number ``since``.

        Legacy job ids repeat (one per kind and second, D5), so an id alone does not
        tell a job's events from those of an earlier job with the same id.
        """
        return next((e for e in self._state.events[since:] if e.job_id == job_id), None)

    def close(self, timeout_ms: int = 10_000) -> bool:
        """Let ended jobs' threads wind down, then shut the service down; True if all ended.

        Legacy QThreads quit through a signal queued to this thread, so the event
        loop must run for them to stop, as it would in an application.
        """
        deadline = time.monotonic() + _DRAIN_S
        while time.monotonic() < deadline and (self.active_count() or qthreads_alive()):
            spin(0.01, self)
        return self.shut_down(timeout_ms)

    def active_count(self) -> int:
        """Return how many jobs the service counts as active."""
        raise NotImplementedError

    def shut_down(self, timeout_ms: int) -> bool:
        """Shut the service down; return True if every job ended."""
        raise NotImplementedError

    def _record(self, job_id: str, event: str, payload: object) -> None:
        record = JobEvent(job_id, event, time.perf_counter(), payload)
        self._state.events.append(record)
        for hook in self._state.hooks:
            hook(record)
        waiter = self._state.waiter
        if waiter is not None and waiter.condition():
            waiter.loop.quit()


class Bench(EventBench):
    """Own a WorkerService on one stack, record its terminal events and wait for them."""

    def __init__(self, store: ImageStore, stack: str) -> None:
        super().__init__(stack)
        self.store = store
        self.service = WorkerService(
            store, stacks=dict.fromkeys((k.value for k in Kind), stack), parent=self
        )
        self.signals = SignalCounter(self.service, self)
        self.service.job_finished.connect(self._on_finished)
        self.service.job_failed.connect(self._on_failed)
        self.service.job_canceled.connect(self._on_canceled)

    def active_count(self) -> int:
        """Return how many jobs the WorkerService counts as active."""
        return self.service.get_active_worker_count()

    def shut_down(self, timeout_ms: int) -> bool:
        """Shut the WorkerService down; return True if every job ended."""
        return self.service.shutdown(timeout_ms)

    @Slot(str, object)
    def _on_finished(self, job_id: str, result: object) -> None:
        self._record(job_id, "finished", result)

    @Slot(str, str)
    def _on_failed(self, job_id: str, message: str) -> None:
        self._record(job_id, "failed", message)

    @Slot(str)
    def _on_canceled(self, job_id: str) -> None:
        self._record(job_id, "canceled", None)
