"""Contracts 4, 5 and 11: what a cancel reports, that it does not block, and repeated cancels."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.service import WorkerService

from .conftest import (
    LONG_MS,
    NON_BLOCKING_S,
    QUIET_MS,
    SIGNAL_WORDS,
    Defect,
    Event,
    EventLog,
    LongSearch,
    Scenarios,
    call_cancel,
    dispose,
    kind_stack_params,
    spin_for,
    spin_until,
    stack_params,
)

pytestmark = pytest.mark.timeout(120)

ERROR_AFTER_CANCELED = Defect(
    "D2", "the job raises at its next cancellation check and reports an error after canceled"
)
STAYS_ACTIVE = Defect(
    "D1", "a job canceled after its last check stays in active_workers; no all_workers_finished"
)
CANCELED_AGAIN = Defect(
    "D1", "the canceled job stays active, so a second cancel reports canceled a second time"
)
BLOCKING = Defect("D3", "cancel waits on the GUI thread until the job reaches its next check")
FIRST_PROGRESS_QUERY_S = 0.5
FIRST_PROGRESS_BOUND_S = 0.15
FIRST_PROGRESS_TRIALS = 3
OPEN_DELAY_S = 0.05


class SlowToOpenStore(ImageStore):
    """An ImageStore whose first connection in each thread takes 50 ms, as on a slow disk."""

    def __init__(self, path: Path) -> None:
        self._opened = threading.local()
        super().__init__(path)

    def connection(self) -> sqlite3.Connection:
        """Return the thread's connection, the first time after a delay."""
        if not getattr(self._opened, "done", False):
            self._opened.done = True
            threading.Event().wait(OPEN_DELAY_S)
        return super().connection()


@pytest.fixture
def slow_to_open_store(search_db: Path) -> Iterator[ImageStore]:
    """Return a store on the big search library whose connections open slowly."""
    with SlowToOpenStore(search_db) as store:
        yield store


@pytest.mark.parametrize(
    ("kind", "stack"),
    kind_stack_params({"registration": ERROR_AFTER_CANCELED, "thumbnail": ERROR_AFTER_CANCELED}),
)
def test_cancel_reports_canceled_not_error(scenarios: Scenarios, kind: str, stack: str) -> None:
    run = scenarios.canceled(kind, stack)
    word = SIGNAL_WORDS[kind]
    assert run.cancels[0].returned is True, run.describe()
    assert run.named(f"{word}_canceled"), run.describe()
    assert run.named(f"{word}_error", "job_failed") == [], run.describe()
    assert run.named(f"{word}_finished", "job_finished") == [], run.describe()


@pytest.mark.parametrize(
    ("kind", "stack"), kind_stack_params({"search": STAYS_ACTIVE, "annotation": STAYS_ACTIVE})
)
def test_canceled_job_is_no_longer_active_and_all_workers_finished_fires(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.canceled(kind, stack)
    terminal = run.terminal()
    assert terminal, run.describe()
    assert (terminal[0].active_then, terminal[0].count_then) == (False, 0), run.describe()
    assert (run.active_after, run.count_after) == (False, 0), run.describe()
    finished = run.named("all_workers_finished")
    assert len(finished) == 1, run.describe()
    assert finished[0].at >= terminal[0].at, run.describe()
    # all_workers_finished must agree with the count: it follows the change to zero.
    before = run.events[run.events.index(finished[0]) - 1]
    assert (before.name, before.args) == ("active_worker_count_changed", (0,)), run.describe()


# Legacy thumbnails pass: the GUI thread cannot run at all while the job makes a QPixmap (see
# test_gui_event_loop_keeps_running_while_a_job_is_in_its_long_step, D6), so it can only
# cancel between two images, and then waits for one small image at most (an xfail, D3, when
# a loaded machine stretches that wait past the bound).
@pytest.mark.parametrize(
    ("kind", "stack"),
    kind_stack_params({"registration": BLOCKING, "search": BLOCKING, "annotation": BLOCKING}),
)
def test_cancel_returns_without_blocking_the_gui_thread(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.canceled(kind, stack)
    call = run.cancels[0]
    assert call.returned is True, run.describe()
    if stack == "legacy" and call.seconds >= NON_BLOCKING_S:
        # The legacy cancel always waits for the thread: a thumbnail job's wait is short,
        # but a loaded machine can stretch it past the bound.
        pytest.xfail(f"{BLOCKING.code}: {BLOCKING.reason}; {call.seconds * 1000:.0f} ms")
    assert call.seconds < NON_BLOCKING_S, (
        f"cancel kept the GUI thread for {call.seconds * 1000:.0f} ms while the job was inside "
        f"its long step; {run.describe()}"
    )


@pytest.mark.parametrize("stack", stack_params(BLOCKING))
def test_search_cancel_interrupts_the_running_query(
    scenarios: Scenarios, long_search: LongSearch, stack: str
) -> None:
    run = scenarios.canceled("search", stack)
    terminal = run.terminal()
    assert [e.name for e in terminal] == ["job_canceled"], run.describe()
    latency = terminal[0].at - run.cancels[0].started
    bound = min(0.25, long_search.seconds / 3)
    assert latency < bound, (
        f"canceled came {latency * 1000:.0f} ms after the cancel call; the query alone takes "
        f"{long_search.seconds * 1000:.0f} ms, so it was not interrupted; {run.describe()}"
    )


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D3",
            "cancel waits for the query (or, caught by the check, reports an error: D2)",
            also=("D2",),
        )
    ),
)
def test_search_canceled_at_its_first_progress_ends_promptly(
    slow_to_open_store: ImageStore,
    make_service: Callable[..., WorkerService],
    long_search: LongSearch,
    stack: str,
) -> None:
    # The first progress comes just before the query starts, here while the job's thread
    # opens its connection: a cancel then must still stop the query. Each trial runs on a
    # new service, so on a new thread; the first failure ends them.
    conditions = long_search.shortened(FIRST_PROGRESS_QUERY_S)
    for trial in range(1, FIRST_PROGRESS_TRIALS + 1):
        service = make_service(slow_to_open_store, stack)
        ends, latency = _cancel_at_first_progress(service, conditions)
        assert [e.name for e in ends] == ["job_canceled"] and latency < FIRST_PROGRESS_BOUND_S, (
            f"trial {trial}: {[e.brief() for e in ends]} {latency * 1000:.0f} ms after the "
            f"cancel; the query alone takes about {FIRST_PROGRESS_QUERY_S * 1000:.0f} ms"
        )
        dispose(service)


def _cancel_at_first_progress(
    service: WorkerService, conditions: SearchConditions
) -> tuple[list[Event], float]:
    """Start a search, cancel it from the slot of its first progress; return how it ended."""
    log = EventLog(service)
    canceled_at: list[float] = []

    def cancel_now(job_id: str, _progress: object) -> None:
        if not canceled_at:
            canceled_at.append(time.perf_counter())
            service.cancel_search(job_id)

    service.worker_progress_updated.connect(cancel_now)
    job_id = service.start_search(conditions)
    assert spin_until(lambda: bool(log.terminal(job_id)), LONG_MS), f"{job_id} never ended"
    spin_for(20)
    ends = log.terminal(job_id)
    return ends, ends[0].at - canceled_at[0]


@pytest.mark.parametrize(
    ("kind", "stack"),
    kind_stack_params(
        {
            "registration": ERROR_AFTER_CANCELED,
            "search": CANCELED_AGAIN,
            "thumbnail": ERROR_AFTER_CANCELED,
            "annotation": CANCELED_AGAIN,
        }
    ),
)
def test_cancel_twice_reports_one_canceled_event(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.canceled_twice(kind, stack)
    word = SIGNAL_WORDS[kind]
    assert run.cancels[0].returned is True, run.describe()
    assert [e.name for e in run.terminal()] == ["job_canceled"], run.describe()
    assert [e.name for e in run.kind_terminal()] == [f"{word}_canceled"], run.describe()


@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_cancel_after_finish_returns_false_and_reports_nothing(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.finished(kind, stack)
    assert run.late_cancel is not None and run.late_cancel.returned is False, run.describe()
    assert run.events_after_late_cancel == [], (
        f"within {QUIET_MS} ms of the late cancel: "
        f"{[e.brief() for e in run.events_after_late_cancel]}"
    )


@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_cancel_of_an_unknown_id_returns_false_and_reports_nothing(
    make_service: Callable[..., WorkerService], store: ImageStore, kind: str, stack: str
) -> None:
    service = make_service(store, stack)
    log = EventLog(service)
    assert call_cancel(service, kind, f"{Kind(kind).prefix}_unknown").returned is False
    spin_for(100)
    assert log.events == []
