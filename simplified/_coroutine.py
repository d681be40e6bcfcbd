"""Run a coroutine on a private asyncio loop in the job's pool thread; a cancel cancels it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from workerkit.simplified._executor import PoolExecutor
from workerkit.simplified._token import JobCanceled

if TYPE_CHECKING:
    from workerkit.simplified._job import PoolControl

__all__ = ["run_coroutine"]

R = TypeVar("R")

# The loop looks at the job's token this often instead of being woken by the canceling
# thread: a wake writes to the loop's socket, which releases the GIL, and the woken loop
# thread then kept the GUI thread waiting in cancel() for up to ~1.3 ms.
CANCEL_POLL_S = 0.01


def run_coroutine(control: PoolControl, main: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """Run ``main()`` to completion here; raise JobCanceled if the job is canceled meanwhile."""
    loop = asyncio.new_event_loop()
    # asyncio.to_thread would start threads of its own; run those calls on the job's pool.
    loop.set_default_executor(PoolExecutor(control.pool))
    try:
        task = loop.create_task(main())
        _cancel_when_canceled(loop, control, task)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            raise JobCanceled from None
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _cancel_when_canceled(
    loop: asyncio.AbstractEventLoop, control: PoolControl, task: asyncio.Task[Any]
) -> None:
    """Cancel ``task`` within CANCEL_POLL_S of the job's cancel, from the loop itself."""

    def check() -> None:
        if control.is_canceled:
            task.cancel()
        elif not task.done():
            loop.call_later(CANCEL_POLL_S, check)

    loop.call_later(CANCEL_POLL_S, check)
