"""Batches: JobService.map and starmap, on both stacks (one job per item on legacy)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from workerkit import (
    STACKS,
    App,
    BatchSummary,
    JobCanceled,
    JobControl,
    JobService,
    JobState,
    LegacyWorker,
    WorkerError,
    WorkerKind,
)

from .legacy.shapes import ResultWorker
from .test_job_handle import echo, echo_kind

WAIT_MS = 20_000


def add(control: JobControl, left: int, right: int) -> int:
    """Return the sum (two arguments, for starmap)."""
    return left + right


add_kind = type(echo_kind)(name="add", legacy=echo_kind.legacy, simplified=add)
app = App("batches", [echo_kind])


@pytest.fixture(params=STACKS)
def service(request: pytest.FixtureRequest, qtbot: QtBot) -> Iterator[JobService]:
    """Return a service running the echo kind on one stack."""
    made = JobService(app, stacks={"echo": request.param}, max_threads=2)
    yield made
    made.shutdown(5000)


class Collected:
    """Everything a batch delivered, in the order it arrived."""

    def __init__(self, batch: Any) -> None:
        self.results: list[tuple[int, Any]] = []
        self.failures: list[tuple[int, BaseException]] = []
        self.deliveries = 0
        self.ends: list[str] = []
        batch.results_delivered.connect(self._on_results)
        batch.item_failed.connect(lambda index, error: self.failures.append((index, error)))
        batch.finished.connect(lambda summary: self.ends.append("finished"))
        batch.failed.connect(lambda error: self.ends.append("failed"))
        batch.canceled.connect(lambda: self.ends.append("canceled"))

    def _on_results(self, results: list[tuple[int, Any]]) -> None:
        self.deliveries += 1
        self.results.extend(results)


def test_batch_map_delivers_every_result_once_with_its_index(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if a result is lost, doubled, or carries the wrong index."""
    values = [f"v{n}" for n in range(40)]
    batch = service.map(echo_kind, values)
    seen = Collected(batch)
    assert batch.total == 40 and batch.state is JobState.RUNNING
    with qtbot.waitSignal(batch.finished, timeout=WAIT_MS) as finished:
        pass
    assert sorted(seen.results) == list(enumerate(values))
    assert finished.args == [BatchSummary(finished=40, failed=0)] == [batch.summary()]
    assert (batch.done_count, batch.failed_count, seen.ends) == (40, 0, ["finished"])


def test_batch_item_failure_ends_that_item_only(qtbot: QtBot, service: JobService) -> None:
    """Fails if one item's exception ends the batch, or is lost, or counted as a result."""
    values: list[object] = [1, KeyError("bad"), 3]
    batch = service.map(echo_kind, values)
    seen = Collected(batch)
    assert batch.wait(WAIT_MS)
    assert sorted(seen.results) == [(0, 1), (2, 3)]
    [(index, error)] = seen.failures
    expected = WorkerError if service.stack_for("echo") == "legacy" else KeyError
    assert index == 1 and isinstance(error, expected) and "bad" in str(error)
    assert batch.summary() == BatchSummary(finished=2, failed=1)


def test_batch_starmap_passes_each_tuple_as_the_arguments(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if starmap passes the tuple as one argument (or map splits an item)."""
    gate = threading.Event()
    gate.set()
    batch = service.starmap(echo_kind, [("a", gate), ("b", gate)])
    seen = Collected(batch)
    assert batch.wait(WAIT_MS)
    assert sorted(seen.results) == [(0, "a"), (1, "b")]
    strings = service.map(echo_kind, ["ab", "cd"])  # one argument each, not characters
    seen_strings = Collected(strings)
    assert strings.wait(WAIT_MS)
    assert sorted(seen_strings.results) == [(0, "ab"), (1, "cd")]


def test_batch_reads_its_items_only_as_fast_as_they_are_delivered(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if the iterable is read ahead of the bound while the GUI thread falls behind
    (a whole dataset's results held in memory)."""
    read: list[int] = []

    def items() -> Iterator[int]:
        for n in itertools.count():
            read.append(n)
            yield n

    batch = service.map(echo_kind, items(), max_pending=4, window=2)
    seen = Collected(batch)
    qtbot.waitUntil(lambda: len(read) >= 2, timeout=WAIT_MS)
    # A GUI thread busy elsewhere: instant items, and no drain of their results meanwhile.
    threading.Event().wait(0.3)
    ahead = len(read) - len(seen.results)
    with qtbot.waitSignal(batch.canceled, timeout=WAIT_MS):  # end it before any assert
        assert batch.cancel()
    assert ahead <= 4, f"{ahead} items read and not delivered, while at most 4 may be"
    assert batch.total is None
    assert batch.state is JobState.CANCELED and seen.ends == ["canceled"]
    with pytest.raises(JobCanceled):
        batch.summary()


def test_batch_cancel_returns_at_once_and_nothing_arrives_after_it(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if results that were on their way when cancel() returned still arrive."""
    batch = service.map(echo_kind, range(100_000), window=2)
    seen = Collected(batch)
    qtbot.waitUntil(lambda: len(seen.results) >= 3, timeout=WAIT_MS)
    # Items keep ending on the pool while the GUI thread is here: some are on their way.
    threading.Event().wait(0.05)
    assert batch.cancel()
    delivered = len(seen.results)
    with qtbot.waitSignal(batch.canceled, timeout=WAIT_MS):
        pass
    qtbot.wait(100)
    assert len(seen.results) == delivered < 100_000
    assert seen.ends == ["canceled"] and not batch.cancel()
    qtbot.waitUntil(lambda: service.active_count() == 0, timeout=WAIT_MS)


def test_batch_whose_iterable_raises_fails_with_that_exception(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if an exception from the caller's iterable is swallowed or kills a thread."""

    def items() -> Iterator[str]:
        yield "fine"
        raise OSError("the folder went away")

    batch = service.map(echo_kind, items())
    seen = Collected(batch)
    with qtbot.waitSignal(batch.failed, timeout=WAIT_MS) as failed:
        pass
    assert isinstance(failed.args[0], OSError) and seen.results == [(0, "fine")]
    assert batch.state is JobState.FAILED


def test_batch_of_nothing_finishes(qtbot: QtBot, service: JobService) -> None:
    """Fails if an empty batch never ends."""
    batch = service.map(echo_kind, [])
    with qtbot.waitSignal(batch.finished, timeout=WAIT_MS) as finished:
        pass
    assert finished.args == [BatchSummary(0, 0)]


@pytest.mark.parametrize(("option", "value"), [("max_pending", 0), ("window", -1)])
def test_batch_refuses_a_bound_below_one(service: JobService, option: str, value: int) -> None:
    """Fails if a bound that could never run an item is accepted."""
    with pytest.raises(ValueError, match=rf"{option} must be at least 1, not {value}"):
        service.map(echo_kind, [1], **{option: value})


@pytest.mark.parametrize("stop", ["cancel_all", "shutdown"])
def test_batch_ends_canceled_when_the_service_stops_everything(
    qtbot: QtBot, service: JobService, stop: str
) -> None:
    """Fails if cancel_all() or shutdown() cancels a batch's running items but the batch
    goes on starting the next ones (a batch fed one job per item)."""
    batch = service.map(echo_kind, range(100_000), window=2)
    seen = Collected(batch)
    qtbot.waitUntil(lambda: len(seen.results) >= 2, timeout=WAIT_MS)
    with qtbot.waitSignal(batch.canceled, timeout=WAIT_MS):
        if stop == "cancel_all":
            service.cancel_all()
        else:
            assert service.shutdown(WAIT_MS)
    qtbot.waitUntil(lambda: service.active_count() == 0, timeout=WAIT_MS)
    qtbot.wait(100)
    assert service.active_count() == 0, "the batch started items after it was canceled"
    assert seen.ends == ["canceled"] and len(seen.results) < 100_000


def _refusing_worker(value: object, gate: threading.Event | None = None) -> ResultWorker:
    """Build the echo worker, or refuse as a legacy manager refuses a start (LoRAIro's D5)."""
    if value == "refused":
        raise RuntimeError(f"a job for {value!r} is already running")
    return ResultWorker(value, gate)


refusing_kind = WorkerKind(
    name="echo",
    legacy=LegacyWorker(
        ResultWorker, factory=_refusing_worker, progress="progress_updated", partial="partial_ready"
    ),
    simplified=echo,
)


@pytest.fixture
def refusing_service(qtbot: QtBot) -> Iterator[JobService]:
    """Return a service whose legacy stack refuses to start the items valued "refused"."""
    made = JobService(App("refusals", [refusing_kind]), stacks={"echo": "legacy"}, max_threads=2)
    yield made
    made.shutdown(5000)


def test_batch_item_the_stack_refuses_fails_that_item_only(
    qtbot: QtBot, refusing_service: JobService
) -> None:
    """Fails if a stack's refusal to start one item escapes from the feeder into the event
    loop (losing the rest of the batch) instead of being that item's failure."""
    batch = refusing_service.map(refusing_kind, ["a", "refused", "b", "refused"])
    seen = Collected(batch)
    with qtbot.waitSignal(batch.finished, timeout=WAIT_MS) as finished:
        pass
    assert sorted(seen.results) == [(0, "a"), (2, "b")]
    assert [index for index, _ in seen.failures] == [1, 3]
    assert all(isinstance(error, RuntimeError) for _, error in seen.failures)
    assert finished.args == [BatchSummary(finished=2, failed=2)]


def test_batch_of_refused_items_lets_the_event_loop_run_between_turns(
    qtbot: QtBot, refusing_service: JobService
) -> None:
    """Fails if the feeder works through every refused item in one event-loop turn: a stack
    that refuses every start would then freeze the GUI thread for the whole batch."""
    size = 20_000
    batch = refusing_service.map(refusing_kind, itertools.repeat("refused", size))
    seen = Collected(batch)
    done_at_next_turn: list[int] = []

    def probe_next_turn() -> None:
        # Called inside the feeder's turn (first refusal); runs when that turn returns.
        if not done_at_next_turn:
            done_at_next_turn.append(-1)
            QTimer.singleShot(0, lambda: done_at_next_turn.append(batch.done_count))

    batch.item_failed.connect(probe_next_turn)
    qtbot.waitUntil(lambda: len(seen.failures) == size, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(done_at_next_turn) == 2, timeout=WAIT_MS)
    assert done_at_next_turn[1] < size, "the first turn went through the whole batch"
