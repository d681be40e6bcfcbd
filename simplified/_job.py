"""A job: one work function run on a pool thread, reporting exactly one terminal event."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from PySide6.QtCore import QThreadPool
from workerkit.simplified._coroutine import run_coroutine
from workerkit.simplified._fanout import map_ahead, ordered_map
from workerkit.simplified._signals import (
    BATCH,
    CANCELED,
    FAILED,
    FINISHED,
    PARTIAL,
    PROGRESS,
    QUIET_S,
    JobSignals,
)
from workerkit.simplified._throttle import ProgressThrottle
from workerkit.simplified._token import CancelToken, JobCanceled

from workerkit._progress import WorkerProgress

__all__ = ["Job", "PoolControl", "Work"]

T = TypeVar("T")
R = TypeVar("R")


class PoolControl:
    """Give the work function what it may touch: cancellation, progress, partials, the pool.

    The pool stack's ``workerkit.PoolControl``.
    """

    __slots__ = ("_batch", "_progress", "_quiet_until", "_signals", "job_id", "pool", "token")

    def __init__(
        self, job_id: str, signals: JobSignals, token: CancelToken, pool: QThreadPool
    ) -> None:
        self.job_id = job_id
        self.token = token
        self.pool = pool
        self._signals = signals
        # Made on first use: most jobs of a burst report no progress at all.
        self._progress: ProgressThrottle | None = None
        self._batch: ProgressThrottle | None = None
        self._quiet_until = 0.0

    @property
    def is_canceled(self) -> bool:
        """Return True once the job was asked to stop."""
        return self.token.is_canceled

    def check(self) -> None:
        """Raise JobCanceled if the job was canceled."""
        self.token.raise_if_canceled()

    def on_cancel(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Run ``hook`` (quick, thread-safe) on cancel to interrupt a blocking call."""
        return self.token.on_cancel(hook)

    def progress(
        self,
        percentage: int,
        message: str,
        current_item: str = "",
        processed_count: int = 0,
        total_count: int = 0,
    ) -> None:
        """Report progress; values closer than the throttle interval are coalesced."""
        if self._progress is None:
            self._progress = ProgressThrottle()
        step = WorkerProgress(percentage, message, current_item, processed_count, total_count)
        self._send(PROGRESS, self._progress.admit(step))

    def batch(self, current: int, total: int, filename: str) -> None:
        """Report a batch step, coalesced like progress."""
        if self._batch is None:
            self._batch = ProgressThrottle()
        step = WorkerProgress(100 * current // max(total, 1), filename, filename, current, total)
        self._send(BATCH, self._batch.admit(step))

    def partial(self, payload: object) -> None:
        """Deliver a partial result to the GUI thread now."""
        self._post(PARTIAL, payload)

    def map(self, items: Sequence[T], fn: Callable[[T], R]) -> Iterator[tuple[T, R | Exception]]:
        """Yield ``(item, fn(item) or its exception)`` in order, ``fn`` run on the pool."""
        return ordered_map(self.pool, self.token, items, fn)

    def map_ahead(
        self, items: Sequence[T], fn: Callable[[T], R], ahead: int
    ) -> AsyncGenerator[tuple[T, R | Exception], None]:
        """In an async job: yield ``(item, fn(item) or its exception)``, ``ahead`` at most."""
        return map_ahead(self.pool, self.token, items, fn, ahead)

    def run_async(self, main: Callable[[], Coroutine[Any, Any, R]]) -> R:
        """Run ``main()`` on an asyncio loop in this thread; a cancel cancels it."""
        return run_coroutine(self, main)

    @contextmanager
    def lend_thread(self) -> Iterator[None]:
        """Let the pool start another thread while this one only waits (on sockets, say)."""
        self.pool.releaseThread()
        try:
            yield
        finally:
            self.pool.reserveThread()

    def flush(self) -> None:
        """Send any progress held back by the throttles."""
        for event, throttle in ((BATCH, self._batch), (PROGRESS, self._progress)):
            if throttle is not None:
                self._send(event, throttle.release())

    def _send(self, event: int, step: WorkerProgress | None) -> None:
        # Progress of a job younger than QUIET_S wakes nobody: a quick job's progress is
        # handled with its result (a flicker nobody could read, like QProgressDialog's
        # minimumDuration), a slower one's within QUIET_S by the mailbox's sweep.
        if step is not None:
            self._signals.post(self.job_id, event, step, quiet=time.monotonic() < self._quiet_until)

    def _post(self, event: int, payload: object) -> None:
        self._signals.post(self.job_id, event, payload)


# A job's work: called as work(control, *args, **kwargs) on a pool thread.
Work = Callable[..., Any]


class Job(PoolControl):
    """Run ``work`` on a pool thread and post one terminal event, whatever the work raises.

    The job is its own control: the work gets it as its ``JobControl``. A burst keeps a
    job per submission alive until it runs, so a job is one object with slots (no second
    object, closure or dict per job).
    """

    __slots__ = ("_args", "_kwargs", "_work")

    def __init__(
        self,
        job_id: str,
        signals: JobSignals,
        token: CancelToken,
        pool: QThreadPool,
        work: Work,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        super().__init__(job_id, signals, token, pool)
        self._work = work
        self._args = args
        self._kwargs = kwargs or None  # most jobs have none: keep no empty dict

    @property
    def control(self) -> PoolControl:
        """Return what the work is given as its control: the job itself."""
        return self

    def run(self) -> None:
        """Run the work here, on the pool thread that took the job from its queue."""
        control: PoolControl = self
        control._quiet_until = time.monotonic() + QUIET_S
        try:
            outcome, payload = self._outcome(control)
        finally:
            control.token.end()
        control._post(outcome, payload)

    def _outcome(self, control: PoolControl) -> tuple[int, object]:
        try:
            control.check()
            result = self._work(control, *self._args, **(self._kwargs or {}))
            control.flush()
            control.check()
        except JobCanceled as canceled:
            return CANCELED, canceled.committed
        except BaseException as exc:
            # BaseException too: a leaked CancelledError or a SystemExit in the work must
            # still end the job, or it would stay in flight forever.
            return FAILED, exc
        return FINISHED, result
