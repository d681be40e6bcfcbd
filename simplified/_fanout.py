"""Spread per-item work over the pool's threads and hand results back in input order."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TypeVar

from PySide6.QtCore import QThreadPool
from workerkit.simplified._token import CancelToken

__all__ = ["map_ahead", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


class _Claims:
    """Hand out item indexes in order, at most ``ahead`` past those taken; hold results."""

    def __init__(self, count: int, ahead: int | None = None) -> None:
        self.count = count
        self.next_index = 0
        self.limit = count if ahead is None else min(ahead, count)
        self.closed = False
        self.results: dict[int, object] = {}
        self.changed = threading.Condition()

    def claim(self) -> int | None:
        with self.changed:
            # Wait while the window is full but items are left; then claim or give up.
            while not self.closed and self.limit <= self.next_index < self.count:
                self.changed.wait()
            if self.closed or self.next_index >= self.count:
                return None
            self.next_index += 1
            return self.next_index - 1

    def put(self, index: int, outcome: object) -> None:
        with self.changed:
            self.results[index] = outcome
            self.changed.notify_all()

    def took_one(self) -> None:
        with self.changed:
            self.limit = min(self.limit + 1, self.count)
            self.changed.notify()

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()


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
    claims = _Claims(len(items))
    for _ in range(max(min(pool.maxThreadCount() - 1, len(items) - 1), 0)):
        pool.start(lambda: _drain(claims, token, items, fn))
    remove_hook = token.on_cancel(claims.close)
    try:
        for index, item in enumerate(items):
            yield item, _outcome(claims, token, items, fn, index)
    finally:
        remove_hook()


def _outcome(
    claims: _Claims, token: CancelToken, items: Sequence[T], fn: Callable[[T], R], index: int
) -> R | Exception:
    while True:
        with claims.changed:
            token.raise_if_canceled()
            if index in claims.results:
                return claims.results.pop(index)  # type: ignore[return-value]
        claimed = claims.claim()
        if claimed is not None:
            claims.put(claimed, _apply(fn, items[claimed]))
            continue
        with claims.changed:
            while index not in claims.results and not token.is_canceled:
                claims.changed.wait()


def _drain(claims: _Claims, token: CancelToken, items: Sequence[T], fn: Callable[[T], R]) -> None:
    # stop_requested: the job was canceled or has ended (it failed, or stopped consuming).
    while not token.stop_requested and (claimed := claims.claim()) is not None:
        claims.put(claimed, _apply(fn, items[claimed]))


def _apply(fn: Callable[[T], R], item: T) -> R | Exception:
    try:
        return fn(item)
    except Exception as exc:
        return exc


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
    claims = _Claims(len(items), ahead)

    def drain() -> None:
        while not token.stop_requested and (claimed := claims.claim()) is not None:
            outcome = _apply(fn, items[claimed])
            # A closed loop means the job has ended: nobody waits for this any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, futures[claimed], outcome)

    for _ in range(max(min(pool.maxThreadCount(), len(items)), 1)):
        pool.start(drain)
    try:
        for item, future in zip(items, futures, strict=True):
            outcome = await future
            claims.took_one()
            yield item, outcome
    finally:
        claims.close()


def _settle(future: asyncio.Future[R], outcome: R) -> None:
    if not future.done():
        future.set_result(outcome)
