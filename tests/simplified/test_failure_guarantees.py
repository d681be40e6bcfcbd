"""What the simplified stack keeps when work goes wrong: each test fails on the old behaviour.

- helpers of a fan-out stop once their job ended, failed or not (they ran on to the end);
- a job whose work raises a BaseException still ends, once (it left no terminal event);
- a cancel hook that raises is reported and the other hooks still run (it skipped them and
  propagated out of cancel());
- a job canceled while still queued ends at once (it waited for a free pool thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from workerkit.simplified.fanout import ordered_map
from workerkit.simplified.job import JobControl
from workerkit.simplified.token import CancelToken

from workerkit.app import App
from workerkit.kind import LegacyWorker, WorkerKind
from workerkit.service import JobService

pytestmark = pytest.mark.timeout(60)

ITEMS = 400


class _Unused(QObject):
    """The legacy side of the test kinds; these tests run only the simplified stack."""

    finished = Signal(object)
    error_occurred = Signal(str)

    @Slot()
    def run(self) -> None:
        """Do nothing."""

    def cancel(self) -> None:
        """Do nothing."""


GATE = threading.Event()


def _raise_system_exit(_control: JobControl) -> None:
    raise SystemExit(3)


def _raise_cancelled_error(_control: JobControl) -> None:
    raise asyncio.CancelledError


def _wait_for_gate(control: JobControl) -> str:
    while not GATE.wait(0.01):
        control.check()
    return "done"


def _kind(name: str, function: Any) -> WorkerKind:
    return WorkerKind(name, LegacyWorker(_Unused), function)


APP = App(
    "failure guarantees",
    [
        _kind("exits", _raise_system_exit),
        _kind("leaks", _raise_cancelled_error),
        _kind("holds", _wait_for_gate),
    ],
)


@pytest.fixture
def service(qtbot: Any) -> Iterator[JobService]:
    """Return a simplified-only service with a one-thread pool."""
    GATE.clear()
    made = JobService(APP, backends=dict.fromkeys(APP.names, "simplified"), max_threads=1)
    yield made
    GATE.set()
    assert made.shutdown(10_000)


def test_fanout_helpers_stop_once_their_job_ended() -> None:
    pool = QThreadPool()
    pool.setMaxThreadCount(3)
    token = CancelToken()
    done: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            done.append(item)
        return sum(range(20_000))

    results = ordered_map(pool, token, list(range(ITEMS)), work)
    next(results)  # the consumer takes one result, then its job fails
    results.close()
    token.end()  # what Job.run does when the job ends for any reason
    assert pool.waitForDone(30_000)
    assert len(done) < ITEMS / 2, f"helpers worked on {len(done)} of {ITEMS} items after the end"


@pytest.mark.parametrize("kind", ["exits", "leaks"])
def test_job_raising_a_base_exception_still_ends_once(
    qtbot: Any, service: JobService, kind: str
) -> None:
    ended: list[tuple[str, str]] = []
    service.job_failed.connect(lambda _k, job_id, message: ended.append(("failed", job_id)))
    service.job_finished.connect(lambda _k, job_id, _r: ended.append(("finished", job_id)))
    with qtbot.waitSignal(service.all_jobs_finished, timeout=10_000):
        job_id = service.start(kind)
    qtbot.wait(100)
    assert ended == [("failed", job_id)]
    assert service.active_count() == 0


def test_raising_cancel_hook_is_reported_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = CancelToken()
    ran: list[str] = []

    def broken() -> None:
        raise OSError("interrupt failed")

    token.on_cancel(broken)
    token.on_cancel(lambda: ran.append("second"))
    errors = token.cancel()
    assert ran == ["second"]
    assert errors == ["OSError: interrupt failed"]
    assert "cancel hook" in caplog.text


def test_cancel_of_a_queued_job_ends_it_at_once(qtbot: Any, service: JobService) -> None:
    canceled: list[str] = []
    service.job_canceled.connect(lambda _k, job_id: canceled.append(job_id))
    running = service.start("holds")
    queued = service.start("holds")  # the one pool thread is busy: this one waits
    qtbot.waitUntil(lambda: service.stack("simplified").pool.activeThreadCount() == 1)
    assert service.cancel(queued)
    # Settled inside cancel(), while the running job still holds the only thread.
    assert canceled == [queued]
    assert service.is_active(running) and not service.is_active(queued)
    GATE.set()
    with qtbot.waitSignal(service.job_finished, timeout=10_000):
        pass
