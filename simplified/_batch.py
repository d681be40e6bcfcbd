"""A batch on the pool: many items of one kind, pulled lazily by a few runners."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from workerkit.simplified._job import PoolControl, Work
from workerkit.simplified._signals import CANCELED, FAILED, FINISHED, ITEM, ITEM_FAILED
from workerkit.simplified._token import JobCanceled

if TYPE_CHECKING:
    from workerkit.simplified._queue import JobQueue

__all__ = ["BatchSource", "Runner"]

# How long one runner keeps its pool thread before it goes to the back of the queue, so
# other jobs (and other batches) get a turn.
SLICE_S = 0.05
# How long a runner runs items before it lets the GIL go once.
YIELD_S = 0.001


class BatchSource:
    """Hand a batch's items to pool threads one at a time, at most ``max_pending`` ahead.

    ``pending`` counts the items taken and not yet delivered to the GUI thread (running,
    or waiting in the event queue): a runner waits while it is at the bound, so a GUI
    thread that falls behind holds at most ``max_pending`` results, whatever the batch's
    size. The iterable is read here, under the lock, only as fast as items are run.
    """

    def __init__(self, items: Iterable[Any], max_pending: int, runners: int) -> None:
        self._items: Iterator[tuple[int, Any]] = enumerate(items)
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._max_pending = max_pending
        self._runners = runners
        self.pending = 0
        self.error: BaseException | None = None
        self._exhausted = False
        self.canceled = False

    def take(self) -> tuple[int, Any] | None:
        """Return the next ``(index, args)``, or None once the batch is over or canceled."""
        with self._lock:
            while self.pending >= self._max_pending and not self.canceled:
                self._room.wait()
            if self.canceled or self._exhausted:
                return None
            try:
                item = next(self._items)
            except StopIteration:
                self._exhausted = True
                return None
            except Exception as exc:  # the caller's iterable raised: the batch fails with it
                self.error, self._exhausted = exc, True
                return None
            self.pending += 1
            return item

    def delivered(self, count: int) -> None:
        """Make room for ``count`` more items; the GUI thread handled their results."""
        with self._lock:
            self.pending -= count
            self._room.notify_all()

    def cancel(self) -> None:
        """Stop handing out items and wake every waiting runner; from any thread."""
        with self._lock:
            self.canceled = True
            self._room.notify_all()

    def runner_ended(self) -> bool:
        """Count one runner out; return True for the last one, which ends the batch."""
        with self._lock:
            self._runners -= 1
            return self._runners == 0


class Runner:
    """Run a batch's items on one pool thread until none are left, a slice at a time.

    The JobQueue runs it like a job; the items share the batch's control (and its
    cancel token), so a cancel reaches every item in flight at once.
    """

    __slots__ = ("_queue", "_source", "_work", "control")

    def __init__(
        self, control: PoolControl, work: Work, source: BatchSource, queue: JobQueue
    ) -> None:
        self.control = control
        self._work = work
        self._source = source
        self._queue = queue

    def run(self) -> None:
        """Run items for one slice; then queue itself again, or end the batch if last."""
        control, source, work = self.control, self._source, self._work
        post = control._signals.post
        job_id = control.job_id
        deadline = time.perf_counter() + SLICE_S
        yield_at = time.perf_counter() + YIELD_S
        while (item := source.take()) is not None:
            index, args = item
            try:
                result = work(control, *args)
            except JobCanceled:
                source.delivered(1)
                break
            except BaseException as exc:  # an item's failure ends that item only
                post(job_id, ITEM_FAILED, (index, exc))
            else:
                post(job_id, ITEM, (index, result))
            now = time.perf_counter()
            if now > deadline:
                self._queue.requeue(self)
                return
            if now > yield_at:
                # Quick items keep this thread in Python: a GUI thread that asked for the
                # GIL would wait out the switch interval (5 ms) each time. Hand it over.
                time.sleep(0)
                yield_at = now + YIELD_S
        if source.runner_ended():
            self._end(post, job_id)

    def _end(self, post: Any, job_id: str) -> None:
        source = self._source
        self.control.token.end()
        if source.canceled:
            post(job_id, CANCELED, None)
        elif source.error is not None:
            post(job_id, FAILED, source.error)
        else:
            post(job_id, FINISHED, None)
