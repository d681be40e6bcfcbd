"""Spread per-item work over the pool's threads and hand results back in input order."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TypeVar

from PySide6.QtCore import QThreadPool
from workerkit.simplified.token import CancelToken

__all__ = ["map_ahead", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


class _Shared:
    """Hold the items still to claim and the results not yet handed back."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.next_index = 0
        self.results: dict[int, object] = {}
        self.ready = threading.Condition()

    def claim(self) -> int | None:
        with self.ready:
            if self.next_index >= self.count:
                return None
            self.next_index += 1
            return self.next_index - 1

    def put(self, index: int, outcome: object) -> None:
        with self.ready:
            self.results[index] = outcome
            self.ready.notify_all()

    def wake(self) -> None:
        with self.ready:
            self.ready.notify_all()


def ordered_map(
    pool: QThreadPool, token: CancelToken, items: Sequence[T], fn: Callable[[T], R]
) -> Generator[tuple[T, R | Exception], None, None]:
    """Yield ``(item, fn(item) or the exception it raised)`` in input order.

    The calling pool thread works too, so the job never holds more threads than
    the pool allows and never waits on a pool busy with other jobs. The price:
    a cancel takes effect once the item in this thread's hands is done. Handing
    the slot back while waiting (``releaseThread``) would cut that, but lets a
    burst of jobs grow the pool without bound.
    """
    shared = _Shared(len(items))
    for _ in range(max(min(pool.maxThreadCount() - 1, len(items) - 1), 0)):
        pool.start(lambda: _drain(shared, token, items, fn))
    remove_hook = token.on_cancel(shared.wake)
    try:
        for index, item in enumerate(items):
            yield item, _outcome(shared, token, items, fn, index)
    finally:
        remove_hook()


def _outcome(
    shared: _Shared, token: CancelToken, items: Sequence[T], fn: Callable[[T], R], index: int
) -> R | Exception:
    while True:
        with shared.ready:
            token.raise_if_canceled()
            if index in shared.results:
                return shared.results.pop(index)  # type: ignore[return-value]
        claimed = shared.claim()
        if claimed is not None:
            shared.put(claimed, _apply(fn, items[claimed]))
            continue
        with shared.ready:
            while index not in shared.results and not token.is_canceled:
                shared.ready.wait()


def _drain(shared: _Shared, token: CancelToken, items: Sequence[T], fn: Callable[[T], R]) -> None:
    # stop_requested: the job was canceled or has ended (it failed, or stopped consuming).
    while not token.stop_requested and (claimed := shared.claim()) is not None:
        shared.put(claimed, _apply(fn, items[claimed]))


def _apply(fn: Callable[[T], R], item: T) -> R | Exception:
    try:
        return fn(item)
    except Exception as exc:
        return exc


class _Window:
    """Let helpers claim items at most ``ahead`` past what the consumer took; close to stop."""

    def __init__(self, count: int, ahead: int) -> None:
        self.count = count
        self.next_index = 0
        self.limit = min(ahead, count)
        self.closed = False
        self.changed = threading.Condition()

    def claim(self) -> int | None:
        with self.changed:
            while not self.closed and self.next_index >= self.limit:
                if self.next_index >= self.count:
                    return None
                self.changed.wait()
            if self.closed:
                return None
            self.next_index += 1
            return self.next_index - 1

    def took_one(self) -> None:
        with self.changed:
            self.limit = min(self.limit + 1, self.count)
            self.changed.notify()

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()


async def map_ahead(
    pool: QThreadPool, token: CancelToken, items: Sequence[T], fn: Callable[[T], R], ahead: int
) -> AsyncGenerator[tuple[T, R | Exception], None]:
    """Yield ``(item, fn(item) or its exception)`` in order, ``fn`` run on other pool threads.

    For a coroutine on the job's private loop, which then only awaits: the CPU work
    never blocks its sockets, and at most ``ahead`` results wait unconsumed (prepared
    requests are large). Close it (``contextlib.aclosing``) to stop the helpers.
    """
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[R | Exception]] = [loop.create_future() for _ in items]
    window = _Window(len(items), ahead)

    def drain() -> None:
        while not token.stop_requested and (claimed := window.claim()) is not None:
            outcome = _apply(fn, items[claimed])
            # A closed loop means the job has ended: nobody waits for this any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, futures[claimed], outcome)

    for _ in range(max(min(pool.maxThreadCount(), len(items)), 1)):
        pool.start(drain)
    try:
        for item, future in zip(items, futures, strict=True):
            outcome = await future
            window.took_one()
            yield item, outcome
    finally:
        window.close()


def _settle(future: asyncio.Future[R], outcome: R) -> None:
    if not future.done():
        future.set_result(outcome)
