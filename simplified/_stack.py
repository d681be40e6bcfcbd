"""The simplified stack: one QThreadPool, one registry of in-flight jobs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QThreadPool
from workerkit.simplified._batch import BatchSource, Runner
from workerkit.simplified._coroutine import run_coroutine
from workerkit.simplified._job import Job, PoolControl, Work
from workerkit.simplified._queue import JobQueue
from workerkit.simplified._signals import (
    BATCH,
    CANCELED,
    FAILED,
    FINISHED,
    ITEM,
    ITEM_FAILED,
    PARTIAL,
    PROGRESS,
    JobSignals,
)
from workerkit.simplified._token import CancelToken

from workerkit._batch import BatchSummary
from workerkit._progress import WorkerProgress
from workerkit._stack import Stack, new_job_id

if TYPE_CHECKING:
    from workerkit._app import App
    from workerkit._batch import Batch
    from workerkit._kind import WorkerKind

__all__ = ["SimplifiedStack"]

logger = logging.getLogger(__name__)

# How long destroying a busy backend waits for its pool before giving up on it.
DRAIN_TIMEOUT_MS = 10_000
# Pools (and their jobs' signals) of destroyed backends whose jobs did not stop in time.
_ORPHANS: list[QObject] = []


class _InFlight(Job):
    """A job as its backend keeps it until its terminal event is handled (one object a job)."""

    __slots__ = ("kind", "partials")

    def __init__(
        self,
        kind: WorkerKind,
        job_id: str,
        signals: JobSignals,
        pool: QThreadPool,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        super().__init__(job_id, signals, CancelToken(), pool, _work_of(kind), args, kwargs)
        self.kind = kind
        self.partials: list[Any] | None = None


class _BatchInFlight(PoolControl):
    """A batch as its stack keeps it: the control its items share, and their results."""

    __slots__ = ("failed", "finished", "handle", "kind", "partials", "results", "source")

    def __init__(
        self,
        kind: WorkerKind,
        job_id: str,
        signals: JobSignals,
        pool: QThreadPool,
        source: BatchSource,
        batch: Batch[Any],
    ) -> None:
        super().__init__(job_id, signals, CancelToken(), pool)
        self.kind = kind
        self.source = source
        self.handle = batch
        self.partials = None
        # Results handled in the current drain, delivered as one list when it ends.
        self.results: list[tuple[int, Any]] = []
        self.finished = 0
        self.failed = 0
        self.token.on_cancel(source.cancel)

    def summary(self) -> BatchSummary:
        """Return the counts of the items that ended."""
        return BatchSummary(self.finished, self.failed)


class SimplifiedStack(Stack):
    """Run each kind's pool function as a QRunnable on one QThreadPool, cancel cooperatively."""

    def __init__(
        self,
        app: App,
        parent: QObject | None = None,
        *,
        max_threads: int | None = None,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__(app, parent)
        # A shared pool (shadow candidates) belongs to its owner, which drains it.
        self._owns_pool = pool is None
        self.pool = pool or QThreadPool(self)
        if self._owns_pool:
            self.pool.setMaxThreadCount(max_threads or QThread.idealThreadCount())
        self._queue = JobQueue(self.pool)
        self._jobs: dict[str, _InFlight] = {}
        self._current: dict[str, str] = {}
        self._batches: dict[str, _BatchInFlight] = {}
        self._signals = JobSignals(
            self._on_event, self._jobs.__len__, self, drained=self._deliver_batches
        )
        # destroyed() fires before Qt deletes the pool (a child), whose destructor would
        # wait for Python jobs while holding the GIL: cancel and drain here instead.
        self.destroyed.connect(
            _drain_on_destroy(self._jobs, self.pool if self._owns_pool else None, self._signals)
        )

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Queue a job of ``kind`` on the pool and return its id at once."""
        if kind.latest_wins and (previous := self._current.get(kind.name)) is not None:
            self.cancel(previous)
        job_id = new_job_id(kind)
        job = _InFlight(kind, job_id, self._signals, self.pool, args, kwargs)
        self._jobs[job_id] = job
        if kind.latest_wins:
            self._current[kind.name] = job_id
        self._queue.put(job)
        self._signals.watch()
        self.job_started.emit(kind.name, job_id)
        self.active_count_changed.emit(len(self._jobs))
        return job_id

    def _start_batch(
        self,
        kind: WorkerKind,
        items: Iterator[tuple[Any, ...]],
        batch: Batch[Any],
        max_pending: int,
    ) -> str:
        """Queue a batch: a runner per pool thread pulls its items; return its id at once."""
        job_id = new_job_id(kind)
        runners = max(1, self.pool.maxThreadCount())
        source = BatchSource(items, max_pending, runners)
        entry = _BatchInFlight(kind, job_id, self._signals, self.pool, source, batch)
        self._jobs[job_id] = entry  # type: ignore[assignment]
        self._batches[job_id] = entry
        work = _work_of(kind)
        for _ in range(runners):
            self._queue.put(Runner(entry, work, source, self._queue))
        self._signals.watch()
        self.job_started.emit(kind.name, job_id)
        self.active_count_changed.emit(len(self._jobs))
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Set the job's cancel flag and return at once; False if it is not in flight.

        A job still waiting in the pool's queue is taken back and reported canceled now,
        instead of when the pool reaches it.
        """
        entry = self._jobs.get(job_id)
        if entry is None:
            return False
        errors = entry.token.cancel()
        if errors:
            logger.error("cancel hooks of %s raised: %s", job_id, "; ".join(errors))
        if self._queue.take_back(entry):
            self._settle(job_id, CANCELED, None)
        return True

    def active_job_ids(self) -> list[str]:
        """Return the ids of jobs whose terminal event has not been handled yet."""
        return list(self._jobs)

    def is_active(self, job_id: str) -> bool:
        """Return True while ``job_id`` is in flight."""
        return job_id in self._jobs

    def active_count(self) -> int:
        """Return how many jobs are in flight."""
        return len(self._jobs)

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Wait for the pool to go idle, then deliver the jobs' queued terminal events."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            self._queue.kick()  # jobs queued since the event loop last ran
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            # A batch's runners wait for the GUI thread to take results: drain meanwhile.
            done = self.pool.waitForDone(min(remaining, 20) if self._batches else remaining)
            self._signals.drain()
            if done or remaining == 0:
                return done

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job and wait up to ``timeout_ms`` for the pool; never terminate a thread."""
        for job_id in list(self._jobs):
            self.cancel(job_id)
        return self.wait_for_all(timeout_ms)

    def summary(self) -> dict[str, Any]:
        """Describe the pool and the jobs in flight."""
        return {
            "active_worker_count": len(self._jobs),
            "active_worker_ids": list(self._jobs),
            "max_threads": self.pool.maxThreadCount(),
            "pool_active_threads": self.pool.activeThreadCount(),
            "workers": {
                job_id: {"kind": str(entry.kind.name), "canceled": entry.token.is_canceled}
                for job_id, entry in self._jobs.items()
            },
        }

    def _on_event(self, job_id: str, event: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        if entry is None:
            return
        if job_id in self._batches:
            self._on_batch_event(self._batches[job_id], event, payload)
            return
        name = entry.kind.name
        if event == PROGRESS:
            self.job_progressed.emit(name, job_id, payload)
        elif event == BATCH:
            step: Any = payload
            self.job_batch_progressed.emit(
                name, job_id, step.processed_count, step.total_count, step.current_item
            )
        elif event == PARTIAL:
            self._deliver_partial(entry, job_id, payload)
        else:
            self._settle(job_id, event, payload)

    def _on_batch_event(self, entry: _BatchInFlight, event: int, payload: Any) -> None:
        if event == ITEM:
            entry.results.append(payload)
        elif event == ITEM_FAILED:
            self._deliver_batch(entry)  # the results before it go first
            entry.source.delivered(1)
            if not entry.token.is_canceled:
                entry.failed += 1
                entry.handle._item_failed(*payload)
        elif event in (FINISHED, FAILED, CANCELED):
            self._deliver_batch(entry)
            del self._batches[entry.job_id]
            self._settle(entry.job_id, event, payload)
        # An item's own progress or partials are not the batch's: its progress is the count.

    def _deliver_batches(self) -> None:
        for entry in list(self._batches.values()):
            self._deliver_batch(entry)

    def _deliver_batch(self, entry: _BatchInFlight) -> None:
        results, entry.results = entry.results, []
        if not results:
            return
        entry.source.delivered(len(results))
        if entry.token.is_canceled:
            return  # nothing of a canceled batch arrives after cancel() returned
        entry.finished += len(results)
        entry.handle._results(results)
        done, total = entry.finished + entry.failed, entry.handle.total or 0
        progress = WorkerProgress(
            100 * done // total if total else 0, f"{done} done", "", done, total
        )
        self.job_progressed.emit(entry.kind.name, entry.job_id, progress)

    def _deliver_partial(self, entry: _InFlight, job_id: str, payload: object) -> None:
        if entry.token.is_canceled:
            return
        # The hook runs here, on the GUI thread: e.g. QImage -> QPixmap.
        kind = entry.kind
        converted = kind.on_partial(payload) if kind.on_partial else payload
        if kind.assemble is not None:
            entry.partials = entry.partials or []
            entry.partials.append(converted)
        self.partial_delivered.emit(kind.name, job_id, converted)

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.pop(job_id, None)
        if entry is None:
            return
        name = entry.kind.name
        if self._current.get(name) == job_id:
            del self._current[name]
        # A cancel wins over a result or an error that raced it (a superseded job's
        # result is never delivered): the caller was told the cancel was accepted. Not for
        # a writing kind whose work completed: its result says what is now stored.
        won = entry.token.is_canceled and not (entry.kind.writes and outcome == FINISHED)
        if won or outcome == CANCELED:
            if entry.kind.writes and outcome == CANCELED and payload is not None:
                self.partial_delivered.emit(name, job_id, payload)
            self.job_canceled.emit(name, job_id)
        elif outcome == FAILED:
            self.job_failed.emit(name, job_id, payload)
        else:
            batch: Any = entry
            result = (
                batch.summary() if isinstance(batch, _BatchInFlight) else _assembled(entry, payload)
            )
            self.job_finished.emit(name, job_id, result)
        self.active_count_changed.emit(len(self._jobs))


def _work_of(kind: WorkerKind) -> Work:
    function = kind.simplified
    assert function is not None  # checked at declaration
    return _in_coroutine(function) if kind.is_async else function


@cache
def _in_coroutine(function: Work) -> Work:
    """Return ``function``, an async pool function, as one run on the job's own event loop."""

    def work(control: PoolControl, *args: Any, **kwargs: Any) -> Any:
        return run_coroutine(control, partial(function, control, *args, **kwargs))

    return work


def _assembled(entry: _InFlight, result: object) -> object:
    kind = entry.kind
    return kind.assemble(result, entry.partials or []) if kind.assemble else result


def _drain_on_destroy(
    jobs: dict[str, _InFlight], pool: QThreadPool | None, signals: JobSignals
) -> Callable[[], None]:
    def drain() -> None:
        for entry in jobs.values():
            entry.token.cancel()
        if pool is None or pool.waitForDone(DRAIN_TIMEOUT_MS):
            return
        # A job is stuck in a call no cancel reaches. The pool's destructor would wait for
        # it without a bound (holding the GIL the job needs): keep the pool and the signals
        # the job emits on alive, unparented, and let the thread finish on its own.
        logger.error(
            "%d jobs were still running %d ms after their backend was destroyed; "
            "leaving them to finish on their own",
            pool.activeThreadCount(),
            DRAIN_TIMEOUT_MS,
        )
        for orphan in (pool, signals):
            orphan.setParent(None)
            _ORPHANS.append(orphan)

    return drain
