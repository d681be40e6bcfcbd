"""One contract case's service, event log and helpers, on the real Qt event loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QTimer

from workerkit._service import JobService
from workerkit.testing._recorder import EventLog
from workerkit.testing._threads import qt_threads, qthreads_alive

if TYPE_CHECKING:
    from PySide6.QtCore import QObject, QThreadPool

    from workerkit._app import App
    from workerkit._kind import WorkerKind
    from workerkit._shadow import CandidateFactory
    from workerkit._stack import Stack
    from workerkit.testing._contract import Contract, Role

__all__ = ["QUIET_MS", "Harness", "legacy_thread_names", "qt_threads"]

# After a terminal event, this long without a further event of the job counts as "never".
QUIET_MS = 250


def legacy_thread_names(app: App) -> set[str]:
    """Return the OS thread names of the app's legacy jobs: QThread and its worker subclasses."""
    names = {"QThread"}
    for kind in app.kinds:
        if kind.legacy is not None and kind.legacy.is_thread:
            names.add(kind.legacy.worker_class.__name__)
    return names


def _candidate(stack_class: type[Stack]) -> CandidateFactory:
    """Return a shadow candidate factory that builds ``stack_class`` on the shared pool."""

    def build(app: App, pool: QThreadPool, parent: QObject | None) -> Stack:
        return stack_class(app, parent, pool=pool)  # type: ignore[call-arg]

    return build


class Harness:
    """Run jobs of one kind on one stack through a fresh JobService and record its events."""

    def __init__(
        self,
        contract: Contract,
        kind: str,
        stack: str,
        request: Any,
        qtbot: Any,
        workdir: Path,
    ) -> None:
        self.contract, self.stack, self.request, self.qtbot = contract, stack, request, qtbot
        self.kind: WorkerKind = contract.app.kind(kind)
        extra = contract.extra_stacks.get(stack)
        # An extra backend stands in for the simplified stack under its own label, and
        # for the candidate of shadow mode.
        route = "simplified" if extra is not None else stack
        self.stack_name = route
        self.service = JobService(
            contract.app,
            stacks={str(name): route for name in contract.app.names},
            max_threads=contract.max_threads,
            shadow_log=workdir / "shadow.jsonl",
            _shadow_candidate=_candidate(extra) if extra is not None else None,
            _stack_classes={route: extra} if extra is not None else None,
        )
        self.log = EventLog(self.service)
        self._closed = False

    @property
    def other_stack(self) -> str:
        """Return the stack whose jobs run beside this one's when flags are mixed."""
        return "simplified" if self.stack_name == "legacy" else "legacy"

    def start(self, role: Role) -> str:
        """Start the kind's ``role`` sample and return the job id."""
        sample = self.contract.sample(self.kind.name, role, self.request, self.stack)
        return self.service.start(self.kind.name, *sample.args, **sample.kwargs).id

    def wait_terminal(self, job_id: str, timeout_s: float | None = None) -> float:
        """Run the event loop until ``job_id`` sends a terminal event; return when it came."""
        limit = timeout_s if timeout_s is not None else self.contract.terminal_timeout_s
        self.qtbot.waitUntil(lambda: bool(self.log.terminal(job_id)), timeout=int(limit * 1000))
        return self.log.terminal(job_id)[0].at

    def wait_started(self, job_id: str) -> None:
        """Run the event loop until ``job_id`` reported that it started."""
        self.qtbot.waitUntil(
            lambda: any(e.name == "job_started" for e in self.log.of(job_id)), timeout=10_000
        )

    def spin(self, ms: int) -> None:
        """Run the event loop for ``ms`` milliseconds (an input delay, not a synchronisation)."""
        self.qtbot.wait(ms)

    def block(self, ms: int) -> None:
        """Keep the GUI thread busy for ``ms`` milliseconds without running the event loop.

        An input delay, like ``spin``, not a synchronisation: it stands for a GUI thread
        busy with other work while the jobs' events queue up for it.
        """
        threading.Event().wait(ms / 1000)

    def wait_shadow_record(self, job_id: str, timeout_s: float | None = None) -> dict[str, Any]:
        """Run the event loop until the service sent a shadow comparison; return the first.

        Raises:
            AssertionError: None came in time; the message says how ``job_id`` and the
                shadow runner got there.
        """
        from pytestqt.exceptions import TimeoutError as WaitTimedOut  # a qtbot implies it

        limit = timeout_s if timeout_s is not None else self.contract.terminal_timeout_s
        try:
            self.qtbot.waitUntil(lambda: bool(self.log.shadow_records), timeout=int(limit * 1000))
        except WaitTimedOut:
            raise AssertionError(
                f"no shadow comparison within {limit} s; {self.log.story(job_id)}; "
                f"shadow: {self.service.summary()['shadow']}"
            ) from None
        return self.log.shadow_records[0]

    def spin_sampling(self, until: Any, sample: Any, timeout_s: float) -> None:
        """Run the event loop until ``until()``, calling ``sample()`` every 2 ms meanwhile."""
        timer = QTimer()
        timer.setInterval(2)
        timer.timeout.connect(sample)
        timer.start()
        try:
            self.qtbot.waitUntil(until, timeout=int(timeout_s * 1000))
        finally:
            timer.stop()

    def timed_cancel(self, job_id: str) -> tuple[bool, float]:
        """Cancel ``job_id`` and return what cancel() said and how long the GUI thread was in it."""
        started = time.perf_counter()
        returned = self.service.cancel(job_id)
        return returned, time.perf_counter() - started

    def settle(self) -> None:
        """Deliver queued events and deferred deletes."""
        QCoreApplication.sendPostedEvents(None, 0)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def close(self) -> None:
        """Shut the service down, wait until its legacy threads are gone, and delete it; once."""
        if self._closed:
            return
        self._closed = True
        if not self.service.is_shut_down:
            self.service.shutdown(self.contract.shutdown_timeout_ms)
        # Legacy handlers run in the worker threads (the original's lambdas) and quit them
        # through the GUI thread's queue: deleting the service first would crash them.
        names = legacy_thread_names(self.contract.app)
        self.qtbot.waitUntil(lambda: qthreads_alive(names) == 0, timeout=30_000)
        self.service.deleteLater()
        self.settle()
