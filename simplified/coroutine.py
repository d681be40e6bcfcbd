"""Run a coroutine on a private asyncio loop in the job's pool thread; a cancel cancels it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from workerkit.simplified.executor import PoolExecutor
from workerkit.simplified.token import JobCanceled

if TYPE_CHECKING:
    from workerkit.simplified.job import JobControl

__all__ = ["run_coroutine"]

R = TypeVar("R")


def run_coroutine(control: JobControl, main: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """Run ``main()`` to completion here; raise JobCanceled if the job is canceled meanwhile."""
    loop = asyncio.new_event_loop()
    # asyncio.to_thread would start threads of its own; run those calls on the job's pool.
    loop.set_default_executor(PoolExecutor(control.pool))
    try:
        task = loop.create_task(main())
        remove_hook = control.on_cancel(lambda: _cancel_soon(loop, task))
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            raise JobCanceled from None
        finally:
            remove_hook()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _cancel_soon(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    # A closed loop raises RuntimeError here: the job already ended on its own.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(task.cancel)
