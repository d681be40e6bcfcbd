"""The handle JobService.start returns: id, kind, state, outcome, signals, on both stacks."""

from __future__ import annotations

import gc
import logging
import re
import sys
import threading
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from workerkit import STACKS, App, JobCanceled, JobControl, JobService, LegacyWorker, WorkerKind
from workerkit._app import UnknownKind
from workerkit._errors import JobPending, WorkerError
from workerkit._job import JobState, wait_until
from workerkit._kind import DeclarationError
from workerkit._progress import WorkerProgress
from workerkit._stack import Stack

from .child import run_child
from .legacy.shapes import ResultWorker

WAIT_MS = 10_000
ROOT = Path(__file__).parent.parent


def echo(control: JobControl, value: object, gate: threading.Event | None = None) -> object:
    """Report 50 %, send a partial, wait for the gate, then return the value or raise it."""
    control.progress(50, "")
    control.partial(f"partial of {value}")
    if gate is not None:
        while not gate.wait(0.01):
            control.check()
    control.check()
    if isinstance(value, Exception):
        raise value
    control.progress(100, "")
    return value


echo_kind = WorkerKind(
    name="echo",
    legacy=LegacyWorker(ResultWorker, progress="progress_updated", partial="partial_ready"),
    simplified=echo,
)
app = App("handles", [echo_kind])


@pytest.fixture(params=STACKS)
def service(request: pytest.FixtureRequest, qtbot: QtBot) -> Iterator[JobService]:
    """Return a service running the echo kind on one stack (the careful legacy one or pool)."""
    made = JobService(app, stacks={"echo": request.param})
    yield made
    made.shutdown(5000)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Hold a job inside its work until the test opens it (opened at teardown too)."""
    event = threading.Event()
    yield event
    event.set()


def test_job_handle_is_its_id_and_reports_each_event_in_order(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if the handle's signals are missing, out of order, or carry other payloads."""
    job = service.start(echo_kind, 7)
    assert job == job.id and str(job) == job.id and job.kind == "echo"
    assert job.state is JobState.RUNNING and not job.done
    seen: list[tuple[str, object]] = []
    job.started.connect(lambda: seen.append(("started", None)))
    job.progressed.connect(lambda p: seen.append(("progressed", p)))
    job.partial_delivered.connect(lambda p: seen.append(("partial", p)))
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS) as finished:
        pass
    assert finished.args == [7]
    assert seen[0] == ("started", None)
    assert ("partial", "partial of 7") in seen
    assert [p for name, p in seen if name == "progressed"][-1] == WorkerProgress(100, "")
    assert (job.state, job.result(), job.error) == (JobState.FINISHED, 7, None)
    assert service.job(job.id) is None  # the service forgets it at the end


def test_job_handle_progress_reaches_a_listening_handle_and_the_service_after_it_ends(
    qtbot: QtBot, service: JobService, gate: threading.Event
) -> None:
    """Fails if progress reaches a handle only when it listened first, or the service-wide
    progress stops once no handle listens (handles are fed through a connection made only
    while one has signals)."""
    quiet = service.start(echo_kind, 1)  # never listens: costs no connection
    with qtbot.waitSignal(quiet.finished, timeout=WAIT_MS):
        pass
    listened = service.start(echo_kind, 2, gate)
    with qtbot.waitSignal(listened.progressed, timeout=WAIT_MS) as progressed:
        pass
    assert progressed.args == [WorkerProgress(50, "")]
    gate.set()
    with qtbot.waitSignal(listened.finished, timeout=WAIT_MS):
        pass
    assert service._listeners == 0
    with qtbot.waitSignal(service.job_progressed, timeout=WAIT_MS) as broadcast:
        later = service.start(echo_kind, 3)
    assert broadcast.args[1] == later.id
    assert later.wait(WAIT_MS) and later.result() == 3


def test_job_handle_failed_carries_the_exception(qtbot: QtBot, service: JobService) -> None:
    """Fails if a failure reaches the handle as a string, or result() hides it."""
    job = service.start("echo", KeyError("missing"))
    with qtbot.waitSignal(job.failed, timeout=WAIT_MS) as failed:
        pass
    error = failed.args[0]
    expected = WorkerError if service.stack_for("echo") == "legacy" else KeyError
    assert isinstance(error, expected) and "missing" in str(error)
    assert job.state is JobState.FAILED and job.error is error
    with pytest.raises(type(error)):
        job.result()


def test_job_handle_cancel_ends_it_canceled(
    qtbot: QtBot, service: JobService, gate: threading.Event
) -> None:
    """Fails if cancel() on the handle does not end the job canceled, or result() says otherwise."""
    job = service.start("echo", 1, gate)
    with pytest.raises(JobPending, match=r"has not ended yet; connect to its finished signal"):
        job.result()
    with qtbot.waitSignal(job.canceled, timeout=WAIT_MS):
        assert job.cancel()
        gate.set()  # the legacy worker looks at its stop flag once past the gate
    assert job.state is JobState.CANCELED
    with pytest.raises(JobCanceled):
        job.result()


def test_job_handle_wait_runs_the_event_loop_until_the_end(service: JobService) -> None:
    """Fails if wait() returns before the job ended, or says False for an ended job."""
    job = service.start("echo", "x")
    assert job.wait(WAIT_MS)
    assert job.result() == "x"


def test_job_handle_wait_stops_checking_once_it_returned(qtbot: QtBot) -> None:
    """Fails if wait()'s poll timer goes on firing after it returned (a busy timer per wait)."""
    checks = [0]

    def done() -> bool:
        checks[0] += 1
        return checks[0] >= 3

    assert wait_until(done, WAIT_MS)
    seen = checks[0]
    qtbot.wait(30)
    assert checks[0] == seen


def test_job_handle_waited_on_is_freed_with_its_wait(service: JobService) -> None:
    """Fails if wait() leaves a reference to the handle behind (a handle leaked per wait)."""
    job = service.start("echo", 2)
    assert job.wait(WAIT_MS)
    handle = weakref.ref(job)
    del job
    gc.collect()
    assert handle() is None


def test_job_handle_connected_after_the_end_hears_it_once(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if a late connection never hears the end, or hears it twice."""
    job = service.start("echo", 3)
    assert job.wait(WAIT_MS)
    heard: list[object] = []
    job.finished.connect(heard.append)
    qtbot.waitUntil(lambda: heard == [3], timeout=WAIT_MS)
    qtbot.wait(50)
    assert heard == [3]


class StoppedClockStack(Stack):
    """A stack whose ids come from a clock that has not ticked: every job gets ``echo_1``.

    Its jobs end when the test calls ``finish``, on the GUI thread, in start order.
    """

    def __init__(self, app: App, parent: Any = None) -> None:
        super().__init__(app, parent)
        self.started = self.ended = 0

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Count the job and give it the one id."""
        self.started += 1
        self.job_started.emit(kind.name, "echo_1")
        return "echo_1"

    def finish(self, result: object) -> None:
        """End the oldest job with ``result``."""
        self.ended += 1
        self.job_finished.emit("echo", "echo_1", result)
        self.active_count_changed.emit(self.active_count())

    def cancel(self, job_id: str) -> bool:
        """Refuse: these jobs only finish."""
        return False

    def active_job_ids(self) -> list[str]:
        """Return the one id once per job not finished."""
        return ["echo_1"] * (self.started - self.ended)

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Say whether every job finished."""
        return self.started == self.ended

    def shutdown(self, timeout_ms: int) -> bool:
        """Say whether every job finished."""
        return self.wait_for_all(timeout_ms)


def test_job_handle_a_reused_id_ends_each_handle_in_start_order(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Fails if a stack's reused id hands the first job's end to the second job's handle.

    LoRAIro's 2025 manager makes ids from the clock's seconds: a job started just after
    another one ended, before that end reached the GUI thread, gets the same id.
    """
    service = JobService(App("clock", [echo_kind], legacy_stack=StoppedClockStack))
    stack = service.stack("legacy")
    assert isinstance(stack, StoppedClockStack)
    first = service.start("echo", 1)
    with caplog.at_level(logging.WARNING, logger="workerkit._service"):
        second = service.start("echo", 2)
    assert "gave the new echo job the id 'echo_1'" in caplog.text
    stack.finish(1)
    assert first.state is JobState.FINISHED and first.result() == 1
    assert second.state is JobState.RUNNING and service.job("echo_1") is second
    stack.finish(2)
    assert second.result() == 2 and service.job("echo_1") is None
    assert service.shutdown(1000)


def test_job_handle_a_dropped_handle_and_its_signals_are_freed(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if a handle, or its signals object, outlives its job (a leak per job)."""
    job = service.start("echo", 5)
    events = weakref.ref(job._signals())
    handle = weakref.ref(job)
    del job
    qtbot.waitUntil(lambda: service.active_count() == 0, timeout=WAIT_MS)
    qtbot.wait(20)  # the signals object is deleted later, in the event loop
    gc.collect()
    assert handle() is None and events() is None


def test_job_handle_any_argument_name_works(qtbot: QtBot, service: JobService) -> None:
    """Fails if a job argument named like start()'s own parameter collides with it."""

    def named(control: JobControl, kind: str) -> str:
        return kind

    kind = WorkerKind(name="named", legacy=echo_kind.legacy, simplified=named)
    named_app = App("named", [kind])
    other = JobService(named_app, stacks={"named": "simplified"})
    try:
        assert other.start(kind, kind="chosen").wait(WAIT_MS)
    finally:
        other.shutdown(5000)


def test_job_handle_start_refuses_a_kind_the_app_does_not_declare(service: JobService) -> None:
    """Fails if an undeclared kind object is run (or named by its repr in the error)."""
    stranger = WorkerKind(name="echo", legacy=echo_kind.legacy, simplified=echo)
    with pytest.raises(UnknownKind, match=r"not the declaration handles holds under that name"):
        service.start(stranger, 1)


def test_pool_function_without_the_control_is_refused_at_declaration() -> None:
    """Fails if a pool function that cannot take the control is found only at run time."""

    def count(limit: int) -> int:
        return limit

    with pytest.raises(DeclarationError, match=r"takes limit: int first; its first parameter"):
        WorkerKind(name="count", legacy=echo_kind.legacy, simplified=count)
    with pytest.raises(DeclarationError, match=r"takes no positional parameter"):
        WorkerKind(name="nothing", legacy=echo_kind.legacy, simplified=lambda: 1)


SNIPPET = """
from examples.numbers_app.workers import primes
from workerkit import JobService

def use(service: JobService) -> None:
    job = service.start(primes, 1000)
    reveal_type(job.result())
    service.start(primes, "not a number")
"""


@pytest.mark.timeout(300)
def test_job_handle_types_flow_from_the_declaration(tmp_path: Path) -> None:
    """Fails if a type checker misses a wrong argument type, or loses the result's type."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    # With workerkit/__init__.py listed, mypy reads the real package, not the stub the
    # project's [tool.mypy] path puts first (see .mypy/workerkit/__init__.pyi).
    run = run_child(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
         str(snippet), "workerkit/__init__.py"],
        cwd=ROOT, timeout_s=280,
    )  # fmt: skip
    assert not run.hung, run.describe()
    out = run.stdout
    assert 'Revealed type is "examples.numbers_app.domain.PrimeResult"' in out, out
    assert re.search(r"snippet.py:8: error: .*\"start\" of \"JobService\"", out), out
