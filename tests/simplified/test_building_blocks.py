"""The simplified stack's parts: token, throttle, event mailbox, fan-out, executor."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import pytest
from PySide6.QtCore import QThreadPool
from workerkit.simplified import _job as job_module
from workerkit.simplified._coroutine import run_coroutine
from workerkit.simplified._executor import PoolExecutor
from workerkit.simplified._fanout import map_ahead, ordered_map
from workerkit.simplified._job import Job, PoolControl
from workerkit.simplified._queue import JobQueue
from workerkit.simplified._signals import (
    CANCELED,
    FINISHED,
    PARTIAL,
    PROGRESS,
    QUIET_S,
    JobSignals,
)
from workerkit.simplified._throttle import ProgressThrottle
from workerkit.simplified._token import CancelToken, JobCanceled

from workerkit._progress import WorkerProgress

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pool() -> Iterator[QThreadPool]:
    """Return a private pool of two threads, drained at teardown."""
    made = QThreadPool()
    made.setMaxThreadCount(2)
    yield made
    made.waitForDone(10_000)


def test_cancel_token_runs_hooks_once_and_raises() -> None:
    token = CancelToken()
    calls: list[str] = []
    token.on_cancel(lambda: calls.append("hook"))
    remove = token.on_cancel(lambda: calls.append("removed"))
    remove()
    token.raise_if_canceled()
    token.cancel()
    token.cancel()
    assert calls == ["hook"]
    assert token.is_canceled
    with pytest.raises(JobCanceled):
        token.raise_if_canceled()


def test_cancel_token_hook_added_after_cancel_runs_at_once() -> None:
    token = CancelToken()
    token.cancel()
    calls: list[int] = []
    token.on_cancel(lambda: calls.append(1))
    assert calls == [1]


def test_progress_throttle_coalesces_but_always_sends_the_final_value() -> None:
    throttle = ProgressThrottle(interval_s=3600)
    steps = [WorkerProgress(percentage, "working") for percentage in range(100)]
    steps.append(WorkerProgress(100, "done"))
    sent = [step.percentage for step in steps if throttle.admit(step) is not None]
    assert sent == [0, 100]
    assert throttle.release() is None, "a value sent is not held back as well"


def test_progress_throttle_release_returns_the_held_value_once() -> None:
    throttle = ProgressThrottle(interval_s=3600)
    assert throttle.admit(WorkerProgress(10, "a")) is not None
    assert throttle.admit(WorkerProgress(42, "b")) is None
    held = throttle.release()
    assert held is not None and held.percentage == 42
    assert throttle.release() is None


Handled = list[tuple[str, int, object]]


def _mailbox() -> tuple[JobSignals, Handled]:
    handled: Handled = []
    return JobSignals(lambda *event: handled.append(event), lambda: False), handled


def test_job_signals_hand_a_behind_gui_thread_only_the_latest_progress(qapp) -> None:
    signals, handled = _mailbox()
    for value in (5, 10, 50):
        signals.post("a", PROGRESS, value)
    signals.post("b", PROGRESS, 1)
    signals.post("a", PROGRESS, 100)
    signals.post("a", FINISHED, "done")
    signals.drain()
    assert handled == [("a", PROGRESS, 100), ("b", PROGRESS, 1), ("a", FINISHED, "done")]


def test_job_signals_never_move_progress_past_another_event_of_its_job(qapp) -> None:
    signals, handled = _mailbox()
    for event, payload in [(PROGRESS, 1), (PARTIAL, "p"), (PROGRESS, 2), (PROGRESS, 3)]:
        signals.post("a", event, payload)
    signals.post("a", CANCELED)
    signals.post("a", PROGRESS, 4)
    signals.drain()
    assert [(e, p) for _, e, p in handled] == [
        (PROGRESS, 1),
        (PARTIAL, "p"),
        (PROGRESS, 3),
        (CANCELED, None),
        (PROGRESS, 4),
    ]


def test_job_signals_never_replace_a_progress_already_handled(qapp) -> None:
    signals, handled = _mailbox()
    signals.post("a", PROGRESS, 1)
    signals.drain()
    signals.post("a", PROGRESS, 2)
    signals.post("a", FINISHED)
    signals.drain()
    assert handled == [("a", PROGRESS, 1), ("a", PROGRESS, 2), ("a", FINISHED, None)]


def test_job_signals_quiet_event_waits_for_the_next_wake(qtbot) -> None:
    signals, handled = _mailbox()
    woken: list[None] = []
    signals.woken.connect(lambda: woken.append(None))
    signals.post("a", PROGRESS, 10, quiet=True)
    signals.post("a", PROGRESS, 50, quiet=True)
    qtbot.wait(2 * int(QUIET_S * 1000))  # no sweep: the mailbox was never watched
    assert (woken, handled) == ([], [])
    signals.post("a", FINISHED, "done")
    qtbot.waitUntil(lambda: len(handled) == 2, timeout=5000)
    assert handled == [("a", PROGRESS, 50), ("a", FINISHED, "done")]


def test_job_signals_sweep_handles_a_quiet_event_while_busy(qtbot) -> None:
    handled: Handled = []
    signals = JobSignals(lambda *event: handled.append(event), lambda: True)
    signals.watch()
    signals.post("a", PROGRESS, 10, quiet=True)
    qtbot.waitUntil(lambda: handled == [("a", PROGRESS, 10)], timeout=5000)
    signals.post("a", PROGRESS, 20, quiet=True)  # the sweep goes on while busy
    qtbot.waitUntil(lambda: len(handled) == 2, timeout=5000)


class _NotingLock:
    """A lock that notes when the main (GUI) thread goes to take it."""

    def __init__(self, noted: threading.Event) -> None:
        self._lock = threading.Lock()
        self._noted = noted

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._noted.set()
        self._lock.acquire()

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()


class _Interleaved(JobSignals):
    """Pause a pool thread's post between reading and setting the wake flag until the GUI moves.

    The GUI thread "moves" when it writes the flag or goes for the lock, whichever the
    mailbox does first as its drain begins.
    """

    def __init__(self, handled: Handled) -> None:
        self.reading, self.gui_moved = threading.Event(), threading.Event()
        self._flag = False
        super().__init__(lambda *event: handled.append(event), lambda: False)
        self._lock = _NotingLock(self.gui_moved)  # type: ignore[assignment]

    @property  # type: ignore[override]
    def _awake(self) -> bool:
        value = self._flag
        if threading.current_thread() is not threading.main_thread():
            self.reading.set()
            assert self.gui_moved.wait(10)
        return value

    @_awake.setter
    def _awake(self, value: bool) -> None:
        self._flag = value
        if threading.current_thread() is threading.main_thread():
            self.gui_moved.set()


def test_job_signals_wake_is_not_lost_to_a_post_racing_the_drain(qtbot) -> None:
    handled: Handled = []
    signals = _Interleaved(handled)
    signals.post("a", FINISHED)  # wakes: a drain is queued
    signals.gui_moved.clear()
    poster = threading.Thread(target=signals.post, args=("b", FINISHED))
    poster.start()
    assert signals.reading.wait(10)
    qtbot.waitUntil(lambda: len(handled) == 2, timeout=5000)  # the queued drain runs
    poster.join(10)
    signals.post("c", FINISHED)  # must wake: no drain is queued any more, no sweep runs
    qtbot.waitUntil(lambda: len(handled) == 3, timeout=5000)


class _Recorder:
    """Stand in for a job's mailbox: record what is posted and whether it wakes the GUI."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, bool]] = []

    def post(
        self, _job_id: str, event: int, _payload: object = None, *, quiet: bool = False
    ) -> None:
        self.posts.append((event, quiet))


def _report_twice(control: PoolControl) -> None:
    control.progress(10, "started")
    control.progress(100, "done")


@pytest.mark.parametrize(("quiet_s", "quiet"), [(3600.0, True), (0.0, False)])
def test_job_progress_is_quiet_only_while_the_job_is_young(
    monkeypatch: pytest.MonkeyPatch, quiet_s: float, quiet: bool
) -> None:
    monkeypatch.setattr(job_module, "QUIET_S", quiet_s)
    mailbox = _Recorder()
    pool = QThreadPool.globalInstance()
    Job("a", mailbox, CancelToken(), pool, _report_twice, (), {}).run()  # type: ignore[arg-type]
    assert mailbox.posts == [(PROGRESS, quiet), (PROGRESS, quiet), (FINISHED, False)]


class _Blocking:
    """Stand in for a job: block its pool thread until released."""

    def __init__(self, release: threading.Event) -> None:
        self._release = release

    def run(self) -> None:
        assert self._release.wait(10)


def test_job_queue_feeds_one_thread_until_the_event_loop_runs(qtbot, pool: QThreadPool) -> None:
    queue, release = JobQueue(pool), threading.Event()
    try:
        for _ in range(4):
            queue.put(_Blocking(release))  # type: ignore[arg-type]
        assert pool.activeThreadCount() == 1, "a burst of starts must not feed every thread"
        qtbot.waitUntil(lambda: pool.activeThreadCount() == 2, timeout=5000)
    finally:
        release.set()
    assert pool.waitForDone(10_000)


def test_job_queue_kick_starts_the_missing_drains_at_once(pool: QThreadPool) -> None:
    queue, release = JobQueue(pool), threading.Event()
    try:
        queue.put(_Blocking(release))  # type: ignore[arg-type]
        queue.put(_Blocking(release))  # type: ignore[arg-type]
        queue.kick()  # as wait_for_all() does, with no event loop running
        assert pool.activeThreadCount() == 2
    finally:
        release.set()
    assert pool.waitForDone(10_000)


def test_ordered_map_keeps_input_order_and_uses_the_pool(pool: QThreadPool) -> None:
    threads: set[str] = set()
    lock = threading.Lock()

    def square(n: int) -> int:
        with lock:
            threads.add(threading.current_thread().name)
        return n * n

    results = list(ordered_map(pool, CancelToken(), list(range(200)), square))
    assert results == [(n, n * n) for n in range(200)]
    assert len(threads) >= 1


def test_ordered_map_returns_exceptions_in_place(pool: QThreadPool) -> None:
    def check(n: int) -> int:
        if n % 3 == 0:
            raise ValueError(f"bad {n}")
        return n

    results = list(ordered_map(pool, CancelToken(), [1, 3, 4, 6], check))
    assert [item for item, _ in results] == [1, 3, 4, 6]
    assert [type(outcome).__name__ for _, outcome in results] == [
        "int",
        "ValueError",
        "int",
        "ValueError",
    ]


def test_ordered_map_stops_when_canceled(pool: QThreadPool) -> None:
    token = CancelToken()
    seen: list[int] = []

    def work(n: int) -> int:
        if n == 5:
            token.cancel()
        return n

    with pytest.raises(JobCanceled):
        for item, _ in ordered_map(pool, token, list(range(10_000)), work):
            seen.append(item)
    assert len(seen) < 10_000


def test_ordered_map_works_when_the_pool_is_busy(pool: QThreadPool) -> None:
    release = threading.Event()
    for _ in range(2):
        pool.start(lambda: release.wait(10))
    try:
        results = list(ordered_map(pool, CancelToken(), [1, 2, 3], lambda n: n + 1))
    finally:
        release.set()
    assert results == [(1, 2), (2, 3), (3, 4)]


class _Counted:
    """A per-item function that counts its calls and the threads it ran on."""

    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, n: int) -> int:
        with self._lock:
            self.calls += 1
            self.threads.add(threading.get_ident())
        return n * n


def test_map_ahead_yields_in_order_from_other_threads(pool: QThreadPool) -> None:
    square = _Counted()

    async def consume() -> list[tuple[int, int | Exception]]:
        return [pair async for pair in map_ahead(pool, CancelToken(), range(100), square, 8)]

    assert asyncio.run(consume()) == [(n, n * n) for n in range(100)]
    assert threading.get_ident() not in square.threads


def test_map_ahead_keeps_at_most_ahead_results_waiting(pool: QThreadPool) -> None:
    square, ahead = _Counted(), 4
    started_at_each_yield: list[int] = []

    async def consume() -> None:
        async for index, _ in map_ahead(pool, CancelToken(), range(300), square, ahead):
            started_at_each_yield.append(square.calls - index)

    asyncio.run(consume())
    # Helpers may have claimed the items the consumer has taken plus ``ahead`` more.
    assert max(started_at_each_yield) <= ahead + 1, started_at_each_yield


def test_map_ahead_closed_early_stops_its_helpers(pool: QThreadPool) -> None:
    square, ahead = _Counted(), 4

    async def consume() -> None:
        async with aclosing(map_ahead(pool, CancelToken(), range(10_000), square, ahead)) as pairs:
            async for index, _ in pairs:
                if index == 3:
                    # Let the helpers use up their window and wait for the consumer.
                    while square.calls < index + 1 + ahead:
                        await asyncio.sleep(0.001)
                    break

    asyncio.run(consume())
    assert pool.waitForDone(10_000), "a helper still waits for the consumer after close"
    assert square.calls == 3 + 1 + ahead


def test_pool_executor_runs_to_thread_on_the_pool_or_inline(pool: QThreadPool) -> None:
    async def main() -> list[str]:
        asyncio.get_running_loop().set_default_executor(PoolExecutor(pool))
        return await asyncio.gather(
            *(asyncio.to_thread(lambda: threading.current_thread().name) for _ in range(8))
        )

    before = {t.name for t in threading.enumerate()}
    names = asyncio.run(main())
    assert len(names) == 8
    # asyncio made no thread of its own: every call ran on a pool thread or inline.
    new = {t.name for t in threading.enumerate()} - before
    assert not any(name.startswith("asyncio") for name in new | set(names))


def test_pool_executor_passes_exceptions_through(pool: QThreadPool) -> None:
    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(PoolExecutor(pool))
        await asyncio.to_thread(lambda: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        asyncio.run(main())


def test_coroutine_cancel_reaches_its_loop_without_a_wake_from_the_canceler(
    monkeypatch: pytest.MonkeyPatch, pool: QThreadPool
) -> None:
    wakers: list[threading.Thread] = []
    original = asyncio.BaseEventLoop.call_soon_threadsafe

    def recording(self: asyncio.BaseEventLoop, *args: Any, **kwargs: Any) -> Any:
        wakers.append(threading.current_thread())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "call_soon_threadsafe", recording)
    token, entered, outcome = CancelToken(), threading.Event(), []
    control = PoolControl("j", _Recorder(), token, pool)  # type: ignore[arg-type]

    async def main() -> None:
        entered.set()
        await asyncio.sleep(30)

    def run() -> None:
        try:
            run_coroutine(control, main)
        except JobCanceled:
            outcome.append("canceled")

    job_thread = threading.Thread(target=run)
    job_thread.start()
    assert entered.wait(10)
    token.cancel()
    job_thread.join(10)
    assert outcome == ["canceled"]
    # A wake writes to the loop's socket (releasing the GIL): the canceling GUI thread
    # then waits for the loop thread.
    assert threading.main_thread() not in wakers, "cancel() woke the job's loop itself"
