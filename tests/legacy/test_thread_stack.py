"""The careful QThread-per-job stack: the legacy side of an app without a manager of its own.

Every worker here is written in a shape real apps use (``shapes.py``); each test names
the breakage it catches.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread
from pytestqt.qtbot import QtBot

from workerkit import JobService
from workerkit._errors import WorkerError
from workerkit._progress import WorkerProgress
from workerkit.testing._recorder import EventLog
from workerkit.testing._threads import qthreads_alive

from . import shapes

WAIT_MS = 10_000
# A cancel() that returns within this has not waited for the job.
NON_BLOCKING_S = 0.05
THREAD_NAMES = ("QThread", "ErrorTextWorker")


@pytest.fixture
def service(qtbot: QtBot) -> Iterator[JobService]:
    """Return a JobService running every kind of the shapes app on the careful stack."""
    made = JobService(shapes.app, stacks=dict.fromkeys(shapes.app.names, "legacy"))
    yield made
    made.shutdown(5000)
    qtbot.waitUntil(lambda: qthreads_alive(THREAD_NAMES) == 0, timeout=WAIT_MS)
    made.deleteLater()


@pytest.fixture
def log(service: JobService) -> EventLog:
    """Record every event of the service, with the thread it arrived on."""
    return EventLog(service)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Hold a worker inside its work until the test opens the gate (opened at teardown too)."""
    event = threading.Event()
    yield event
    event.set()


def run_to_end(qtbot: QtBot, log: EventLog, job_id: str) -> list[str]:
    """Wait for the job's terminal event, watch a moment longer, return the job's event names."""
    qtbot.waitUntil(lambda: bool(log.terminal(job_id)), timeout=WAIT_MS)
    qtbot.wait(100)  # an observation window for anything that would follow the end
    return [e.name for e in log.of(job_id)]


def payload(log: EventLog, job_id: str, name: str) -> Any:
    """Return the first payload value of the job's ``name`` event."""
    return next(e.payload[0] for e in log.of(job_id) if e.name == name)


def test_thread_stack_finishes_a_moved_qobject_worker_with_its_result(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if the result is lost, the events arrive off order or off the GUI thread."""
    job_id = service.start("result", 7)
    names = run_to_end(qtbot, log, job_id)
    assert names == [
        "job_started",
        "job_progressed",
        "partial_delivered",
        "job_progressed",
        "job_finished",
    ]
    assert payload(log, job_id, "job_finished") == 7
    assert all(e.on_gui_thread for e in log.of(job_id))
    assert not service.is_active(job_id)


def test_thread_stack_progress_is_a_worker_progress_keeping_the_raw_value(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if a worker's int progress reaches the GUI as an int (one handler per stack)."""
    job_id = service.start("result", 1)
    run_to_end(qtbot, log, job_id)
    progress = [e.payload[0] for e in log.of(job_id) if e.name == "job_progressed"]
    assert progress == [WorkerProgress(50, ""), WorkerProgress(100, "")]
    assert [p.raw for p in progress] == [50, 100]


def test_thread_stack_error_signal_fails_the_job_with_a_worker_error(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if an error string reaches job_failed as a string, or the job also finishes."""
    job_id = service.start("result", RuntimeError("disk full"))
    names = run_to_end(qtbot, log, job_id)
    assert names[-1] == "job_failed" and names.count("job_failed") == 1
    error = payload(log, job_id, "job_failed")
    assert isinstance(error, WorkerError)
    assert str(error) == "failed: disk full" and error.reported == "failed: disk full"


def test_thread_stack_runs_a_qthread_subclass_and_reads_errors_in_its_result(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if a QThread subclass is not its own thread, or an error result counts as success."""
    good, bad = service.start("error_text", "abc"), service.start("error_text", "")
    assert run_to_end(qtbot, log, good)[-1] == "job_finished"
    assert payload(log, good, "job_finished") == "ABC"
    assert run_to_end(qtbot, log, bad)[-1] == "job_failed"
    error = payload(log, bad, "job_failed")
    assert isinstance(error, WorkerError) and str(error) == "Error: empty input"


def test_thread_stack_exception_carried_by_finished_fails_the_job(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if a finished(Exception) is delivered as a result instead of a failure."""
    ok, broken = service.start("error_in_result", 3), service.start("error_in_result", -1)
    assert run_to_end(qtbot, log, ok)[-1] == "job_finished"
    assert run_to_end(qtbot, log, broken)[-1] == "job_failed"
    error = payload(log, broken, "job_failed")
    assert isinstance(error, ValueError) and str(error) == "negative: -1"


@pytest.mark.parametrize(
    ("shape", "argument", "result"),
    [
        # A result signal beside a bare finished, and a run slot with another name.
        pytest.param("two_signals", 21, 42, id="result_signal_and_renamed_run_slot"),
        # A run method that returns its result (run="execute").
        pytest.param("returning", 9, 81, id="run_method_returns_its_result"),
    ],
)
def test_thread_stack_worker_shape_finishes_with_its_result(
    qtbot: QtBot, service: JobService, log: EventLog, shape: str, argument: int, result: int
) -> None:
    """Fails if the shape's result is ignored, its run slot not found, or its job never ends."""
    job_id = service.start(shape, argument)
    assert run_to_end(qtbot, log, job_id)[-1] == "job_finished"
    assert payload(log, job_id, "job_finished") == result


def test_thread_stack_run_method_that_raises_fails_with_the_exception(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if an exception escaping the run slot leaves the job running forever."""
    job_id = service.start("raising")
    assert run_to_end(qtbot, log, job_id)[-1] == "job_failed"
    error = payload(log, job_id, "job_failed")
    assert isinstance(error, KeyError) and error.args == ("missing",)


def test_thread_stack_cancel_returns_at_once_and_ends_canceled(
    qtbot: QtBot, service: JobService, log: EventLog, gate: threading.Event
) -> None:
    """Fails on a cancel that waits for the worker, or one reported as the worker's error."""
    job_id = service.start("result", 5, gate)
    qtbot.waitUntil(lambda: len(log.of(job_id)) >= 2, timeout=WAIT_MS)
    started = time.perf_counter()
    assert service.cancel(job_id)
    blocked = time.perf_counter() - started
    gate.set()
    names = run_to_end(qtbot, log, job_id)
    assert blocked < NON_BLOCKING_S, f"cancel() kept the GUI thread {blocked:.3f} s"
    assert names[-1] == "job_canceled" and "job_failed" not in names, names
    assert not service.cancel(job_id)


def test_thread_stack_partial_undelivered_at_cancel_never_arrives(
    qtbot: QtBot, service: JobService, log: EventLog, gate: threading.Event
) -> None:
    """Fails if a partial still queued when the job is canceled reaches the GUI."""
    done = threading.Event()
    job_id = service.start("result", 5, gate, done)
    gate.set()
    assert done.wait(WAIT_MS / 1000)  # every signal is queued; none handled yet
    assert service.cancel(job_id)
    names = run_to_end(qtbot, log, job_id)
    assert "partial_delivered" not in names
    assert names[-1] == "job_canceled"


def test_thread_stack_workers_own_canceled_signal_ends_the_job_canceled(
    qtbot: QtBot, service: JobService, log: EventLog, gate: threading.Event
) -> None:
    """Fails if a worker's own canceled signal is not the job's end (the job would hang)."""
    job_id = service.start("own_canceled", gate)
    qtbot.waitUntil(lambda: service.is_active(job_id), timeout=WAIT_MS)
    assert service.cancel(job_id)
    assert run_to_end(qtbot, log, job_id) == ["job_started", "job_canceled"]


def test_thread_stack_cancel_interrupts_a_worker_polling_the_thread(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if cancel does not call requestInterruption(): the worker would count 30 s."""
    running = threading.Event()
    job_id = service.start("interrupt", running)
    assert running.wait(WAIT_MS / 1000)
    assert service.cancel(job_id)
    assert run_to_end(qtbot, log, job_id)[-1] == "job_canceled"


def test_thread_stack_worker_that_stops_without_a_signal_still_ends_canceled(
    qtbot: QtBot, service: JobService, log: EventLog, gate: threading.Event
) -> None:
    """Fails if a worker returning silently on cancel (LoRAIro 2025's base) stays active."""
    job_id = service.start("silent", gate)
    assert service.cancel(job_id)
    gate.set()
    assert run_to_end(qtbot, log, job_id) == ["job_started", "job_canceled"]
    assert service.active_count() == 0


def test_thread_stack_writing_kind_completed_before_a_late_cancel_finishes(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if a completed write is reported canceled (the GUI would think nothing is stored)."""
    done = threading.Event()
    job_id = service.start("writing", 11, None, done)
    assert done.wait(WAIT_MS / 1000)
    assert service.cancel(job_id)  # the job has not been seen to end yet
    assert run_to_end(qtbot, log, job_id)[-1] == "job_finished"
    assert payload(log, job_id, "job_finished") == 11


def test_thread_stack_each_latest_wins_job_supersedes_the_one_before(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if a latest-wins job does not cancel the running one, or only the first of them."""
    gates = [threading.Event(), threading.Event()]
    older = [service.start("latest", n, gate) for n, gate in enumerate(gates)]
    newest = service.start("latest", 2)
    for gate in gates:
        gate.set()
    for job_id in older:
        assert run_to_end(qtbot, log, job_id)[-1] == "job_canceled"
    assert run_to_end(qtbot, log, newest)[-1] == "job_finished"
    assert payload(log, newest, "job_finished") == 2


def test_thread_stack_ids_are_unique_for_jobs_started_together(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails on time-based ids: two jobs started in one second would share an id."""
    ids = [service.start("result", n) for n in range(20)]
    assert len(set(ids)) == 20
    for job_id in ids:
        qtbot.waitUntil(lambda job_id=job_id: bool(log.terminal(job_id)), timeout=WAIT_MS)
    assert [payload(log, j, "job_finished") for j in ids] == list(range(20))


def test_thread_stack_releases_thread_and_worker_once_the_thread_finished(
    qtbot: QtBot, service: JobService, log: EventLog
) -> None:
    """Fails if a job's worker, QThread or relay outlives it (a leak per job)."""
    first = service.start("result", 0)  # the stack itself is made on first use
    run_to_end(qtbot, log, first)
    before = _live(QThread), _live(QObject)
    jobs = [service.start("result", n) for n in range(5)]
    for job_id in jobs:
        run_to_end(qtbot, log, job_id)
    assert not any(ref() for ref in shapes.ResultWorker.made[-5:])
    assert (_live(QThread), _live(QObject)) == before


def _live(cls: type) -> int:
    gc.collect()
    return sum(isinstance(o, cls) for o in gc.get_objects())


def test_thread_stack_shutdown_is_bounded_and_truthful(
    qtbot: QtBot, service: JobService, log: EventLog, gate: threading.Event
) -> None:
    """Fails on a shutdown that waits past its timeout, terminates, or says True too early."""
    job_id = service.start("own_canceled", threading.Event())  # ignores nothing: stops on cancel
    stuck = service.start("silent", gate)  # its cancel is only seen once the gate opens
    started = time.perf_counter()
    ended = service.stack("legacy").shutdown(300)
    took = time.perf_counter() - started
    assert not ended and took < 1.0, (ended, took)
    assert service.is_active(stuck) and not service.is_active(job_id)
    gate.set()
    assert run_to_end(qtbot, log, stuck)[-1] == "job_canceled"
    assert service.stack("legacy").wait_for_all(WAIT_MS)
