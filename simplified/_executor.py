"""A concurrent.futures Executor that runs on the job's QThreadPool, so asyncio adds no threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from PySide6.QtCore import QRunnable, QThreadPool

__all__ = ["PoolExecutor"]

R = TypeVar("R")


class PoolExecutor(ThreadPoolExecutor):
    """Run ``asyncio.to_thread`` work on a QThreadPool instead of asyncio's own threads.

    It subclasses ThreadPoolExecutor only because ``loop.set_default_executor``
    accepts nothing else; it never starts a thread of its own. When the pool has
    no free thread the call runs at once on the caller's thread: queueing would
    deadlock a pool whose threads all run event loops waiting on such calls.
    """

    def __init__(self, pool: QThreadPool) -> None:
        super().__init__(max_workers=1)
        self._pool = pool

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        """Schedule ``fn(*args, **kwargs)`` and return its future."""
        future: Future[R] = Future()
        call = _Call(future, partial(fn, *args, **kwargs))
        # tryStart() with a plain callable returns garbage and drops the call when the
        # pool is full (PySide6 6.11); with a QRunnable it answers truthfully.
        if not self._pool.tryStart(call):
            call.run()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Do nothing: the pool belongs to the backend, which drains it."""


class _Call(QRunnable):
    """Run one call and settle its future."""

    def __init__(self, future: Future[Any], call: Callable[[], Any]) -> None:
        super().__init__()
        self._future = future
        self._call = call

    def run(self) -> None:
        """Run the call; Qt calls this on a pool thread, so it cannot be renamed."""
        if not self._future.set_running_or_notify_cancel():
            return
        try:
            self._future.set_result(self._call())
        except BaseException as exc:
            self._future.set_exception(exc)
