"""Contract 6: a search replaced by a newer one never delivers its result.

Two moments of replacement: (a) the old search is still inside its query when the new one
starts; (b) its query has returned and its finished signal is queued to the GUI thread,
not yet handled, when the new one starts. (b) needs to know, on a blocked GUI thread, when
the old job's thread is done; the public way used here is the store the service is built
with (a subclass that reports when the watched query returned), plus the operating
system's view of the threads, which shows when the job's thread has gone quiet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.service import WorkerService
from workerkit.testing._threads import wait_until_other_threads_idle

from .conftest import (
    LONG_MS,
    LONG_STEP_CPU_S,
    QUIET_MS,
    CpuMeter,
    Defect,
    EventLog,
    LongSearch,
    Run,
    spin_for,
    spin_until,
    stack_params,
)

pytestmark = pytest.mark.timeout(120)

NEWER = SearchConditions(limit=5)


class ReportingStore(ImageStore):
    """An ImageStore that sets an event, in the job's thread, once a watched search returned."""

    def __init__(self, path: Path, watched: SearchConditions) -> None:
        super().__init__(path)
        self.watched = watched
        self.returned = threading.Event()

    def search(self, conditions: SearchConditions) -> list[ImageRecord]:
        """Search, then tell the waiting GUI thread if this was the watched search."""
        records = super().search(conditions)
        if conditions == self.watched:
            self.returned.set()
        return records


@pytest.fixture
def reporting_store(search_db: Path, long_search: LongSearch) -> Iterator[ReportingStore]:
    """Return a store on the big search library that reports when the long search returned."""
    with ReportingStore(search_db, long_search.conditions) as store:
        yield store


@pytest.mark.parametrize("stack", stack_params())
def test_search_replaced_while_running_never_delivers(
    search_store: ImageStore,
    make_service: Callable[..., WorkerService],
    long_search: LongSearch,
    stack: str,
) -> None:
    service = make_service(search_store, stack)
    log = EventLog(service)
    meter = CpuMeter()
    _start_late_in_a_second()
    replaced = service.start_search(long_search.conditions)
    assert spin_until(lambda: meter.seconds() >= LONG_STEP_CPU_S, LONG_MS)
    assert log.terminal(replaced) == [], "the long search ended before it could be replaced"
    newer = service.start_search(NEWER)
    _settle(log, newer)
    _assert_only_the_newer_delivered(log, stack, replaced, newer)


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect("D8", "the replaced search's queued finished is delivered after the new one started")
    ),
)
def test_search_replaced_after_its_query_returned_never_delivers(
    reporting_store: ReportingStore,
    make_service: Callable[..., WorkerService],
    long_search: LongSearch,
    stack: str,
) -> None:
    service = make_service(reporting_store, stack)
    log = EventLog(service)
    _start_late_in_a_second()
    replaced = service.start_search(long_search.conditions)
    # The GUI thread blocks here, so nothing the job sends is handled until the new search
    # has started: the job's finished is queued, not lost.
    assert reporting_store.returned.wait(30), "the long search never returned"
    assert wait_until_other_threads_idle(10), "the job's thread never went quiet"
    newer = service.start_search(NEWER)
    assert log.terminal(replaced) == []
    _settle(log, newer)
    _assert_only_the_newer_delivered(log, stack, replaced, newer)


def _start_late_in_a_second() -> None:
    # Legacy ids are per second (D5, shown by its own test). The replaced search starts late
    # in a second and the new one at least a query later, so their ids differ and this test
    # is about delivery, not about id collisions.
    assert spin_until(lambda: 0.80 <= time.time() % 1 < 0.95, 2_000)


def _settle(log: EventLog, newer: str) -> None:
    assert spin_until(lambda: bool(log.terminal(newer)), LONG_MS), "the new search never ended"
    spin_for(QUIET_MS)


def _assert_only_the_newer_delivered(log: EventLog, stack: str, replaced: str, newer: str) -> None:
    story = Run("search", stack, replaced, log.events).describe()
    delivered = [result.filter_conditions for result in log.results("search")]
    assert delivered == [NEWER], f"search_finished delivered {delivered}; {story}"
    assert [e.name for e in log.terminal(replaced)] == ["job_canceled"], story
    assert [e.name for e in log.terminal(newer)] == ["job_finished"], story
