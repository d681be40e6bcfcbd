"""What a pool function is given first: the job's control (cancellation, progress, a pool map).

A kind's simplified side is ``def work(control: JobControl, *args) -> result`` (or
``async def``), run on a pool thread. Type your functions against this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

__all__ = ["JobControl"]

T = TypeVar("T")
R = TypeVar("R")


class JobControl(Protocol):
    """The job a pool function runs as: ask it whether to stop, tell it how far you are.

    ``check()`` raises ``workerkit.JobCanceled`` once the job was canceled: let it
    propagate (the job then ends ``canceled``, never as a failure).
    """

    @property
    def job_id(self) -> str:
        """Return the job's id."""
        ...

    @property
    def is_canceled(self) -> bool:
        """Return True once the job was asked to stop."""
        ...

    def check(self) -> None:
        """Raise JobCanceled if the job was canceled; call it between steps."""
        ...

    def on_cancel(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Run ``hook`` (quick, thread-safe) on cancel to interrupt a blocking call.

        Returns:
            A function that removes the hook again.
        """
        ...

    def progress(
        self,
        percentage: int,
        message: str,
        current_item: str = "",
        processed_count: int = 0,
        total_count: int = 0,
    ) -> None:
        """Report progress; values closer together than the throttle interval coalesce."""
        ...

    def batch(self, current: int, total: int, filename: str) -> None:
        """Report that item ``current`` of ``total`` (``filename``) is being processed."""
        ...

    def partial(self, payload: object) -> None:
        """Deliver a partial result to the GUI thread (never after a cancel)."""
        ...

    def map(self, items: Sequence[T], fn: Callable[[T], R]) -> Iterator[tuple[T, R | Exception]]:
        """Yield ``(item, fn(item) or the exception it raised)`` in input order.

        ``fn`` runs on the pool's threads, this one included, so one job never takes more
        threads than the pool has; a cancel stops handing out items.
        """
        ...

    def map_ahead(
        self, items: Sequence[T], fn: Callable[[T], R], ahead: int
    ) -> AsyncGenerator[tuple[T, R | Exception], None]:
        """In an ``async def`` job: yield ``(item, fn(item) or its exception)`` in order.

        ``fn`` runs on other pool threads, at most ``ahead`` results waiting unconsumed;
        close it (``contextlib.aclosing``) to stop the helpers.
        """
        ...

    def run_async(self, main: Callable[[], Coroutine[Any, Any, R]]) -> R:
        """Run ``main()`` to its end on an asyncio loop in this job's thread.

        For a synchronous pool function with an I/O-bound part; a cancel cancels the
        coroutine's task, and ``JobCanceled`` comes out. (A kind whose pool function is
        an ``async def`` runs on such a loop already.)
        """
        ...

    def lend_thread(self) -> AbstractContextManager[None]:
        """Return a context in which this job's thread does not count against the pool.

        While the job only waits (on sockets, say), the pool may start another thread for
        the helpers of ``map``/``map_ahead``; the slot is taken back on leaving.
        """
        ...
