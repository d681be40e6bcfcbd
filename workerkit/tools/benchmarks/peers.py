"""The peer: the plumbing and thumbnail workloads written as a superqt user writes them.

Every job is ``create_worker(func, *args, _connect={...})``, which starts a
QRunnable on ``QThreadPool.globalInstance()``; the results reach the GUI thread
through the worker's ``returned`` and ``finished`` signals, handled by slots of
a QObject there. The work, the data and the metric keys are the simplified
workloads' (workloads.py), so each row holds both values. superqt is an optional
extra (``workerkit[peers]``): this module imports it, so only the "peer" stack's
child process loads it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Slot
from PySide6.QtGui import QImage, QPixmap
from superqt.utils import create_worker

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.scanner import scan_library
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.domain.thumbnails import decode_thumbnail
from workerkit.tools.benchmarks.data import THUMBNAIL_PX, Dataset
from workerkit.tools.benchmarks.harness import EventBench, JobEvent, WorkloadError
from workerkit.tools.benchmarks.plan import CHILD_TIMEOUT_SHARE, PEER
from workerkit.tools.benchmarks.workloads import WARMUP_JOBS, Metrics, latency_metrics

__all__ = ["PeerBench", "burst", "roundtrip", "thumbnail"]

Start = Callable[[], None]
Handler = Callable[..., Any]
_FAILURE_CHARS = 300


class PeerBench(EventBench):
    """Start superqt workers on the global pool; record each job's end as a JobEvent.

    ``end`` is the worker signal that ends a job for its user: "returned" when the
    user wants the result, "finished" when the work runs for its effect. A job
    that raises ends with "errored" instead, recorded as a failed job.
    """

    def __init__(self, end: str) -> None:
        super().__init__(PEER)
        if end not in ("returned", "finished"):
            raise ValueError(f"end must be 'returned' or 'finished', not {end!r}.")
        self._end = end
        self.failures: list[str] = []

    def start(
        self, func: Callable[..., object], *args: object, on_result: Handler | None = None
    ) -> None:
        """Start ``func(*args)`` with create_worker; ``on_result`` gets its result first."""
        connect: dict[str, Handler | Sequence[Handler]] = {"errored": self._errored}
        if self._end == "returned":
            connect["returned"] = [on_result, self._returned] if on_result else self._returned
        else:
            connect["finished"] = self._finished
            if on_result is not None:
                connect["returned"] = on_result
        create_worker(func, *args, _connect=connect)

    def ended_jobs(self) -> int:
        """Return how many jobs have ended so far."""
        return len(self.events)

    def active_count(self) -> int:
        """Return how many global pool threads are running a job."""
        return QThreadPool.globalInstance().activeThreadCount()

    def shut_down(self, timeout_ms: int) -> bool:
        """Wait for the global pool's jobs; return True if they all ended."""
        return QThreadPool.globalInstance().waitForDone(timeout_ms)

    def raise_failures(self) -> None:
        """Raise WorkloadError if any job raised, naming the first error."""
        if self.failures:
            raise WorkloadError(
                f"{len(self.failures)} superqt workers raised; first: {self.failures[0]}"
            )

    @Slot(object)
    def _returned(self, result: object) -> None:
        self._record(PEER, "finished", result)

    @Slot()
    def _finished(self) -> None:
        self._record(PEER, "finished", None)

    @Slot(object)
    def _errored(self, error: object) -> None:
        self.failures.append(f"{error!r:.{_FAILURE_CHARS}}")
        if self._end == "returned":
            # No "returned" follows an error, so this is the job's end for its user.
            self._record(PEER, "failed", error)


class _Thumbnails(QObject):
    """The GUI-thread side of the thumbnail view: make a QPixmap of every decoded image."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.pixmaps: list[QPixmap] = []

    @Slot(object)
    def add(self, image: QImage) -> None:
        """Make the decoded image's QPixmap here, on the GUI thread."""
        self.pixmaps.append(QPixmap.fromImage(image))


def roundtrip(data: Dataset, work: Path, cleanup: ExitStack) -> Metrics:
    """Time create_worker -> ``returned`` handled for no-op searches run one after another."""
    store = cleanup.enter_context(ImageStore(data.tiny_db))
    bench = _open(cleanup, "returned")
    conditions = SearchConditions(limit=1)

    def start() -> None:
        bench.start(store.search, conditions)

    total = data.sizes.roundtrip_jobs
    _one_after_another(bench, start, WARMUP_JOBS, _timeout(data))
    bench.heartbeat.start()
    latencies = _one_after_another(bench, start, total, _timeout(data))
    bench.heartbeat.stop()
    return {**latency_metrics(latencies), "jobs": total, **bench.heartbeat.metrics()}


def burst(data: Dataset, work: Path, cleanup: ExitStack) -> Metrics:
    """Start many workers scanning an empty folder at once; time until every one finished."""
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    bench = _open(cleanup, "finished")

    def start() -> None:
        bench.start(scan_library, empty)

    _one_after_another(bench, start, WARMUP_JOBS, _timeout(data))
    total = data.sizes.burst_jobs
    bench.heartbeat.start()
    started = time.perf_counter()
    wall = _all_at_once(bench, [start] * total, _timeout(data)) - started
    bench.heartbeat.stop()
    return {
        "wall_ms": wall * 1000,
        "jobs_per_s": total / wall,
        "jobs": total,
        # create_worker never refuses a start: every job queues on the global pool.
        "refused_starts": 0,
        "failed_jobs": len(bench.failures),
        "pool_size": QThreadPool.globalInstance().maxThreadCount(),
        **bench.heartbeat.metrics(),
    }


def thumbnail(data: Dataset, work: Path, cleanup: ExitStack) -> Metrics:
    """Decode 256 px thumbnails with one worker per image; make each QPixmap on the GUI thread."""
    store = cleanup.enter_context(ImageStore(data.thumbnail_db))
    records = store.get_many(data.thumbnail_ids)
    bench = _open(cleanup, "returned")
    view = _Thumbnails(bench)
    _warm_up(bench, work, data)
    decode = functools.partial(bench.start, decode_thumbnail, on_result=view.add)
    starts = [functools.partial(decode, record, THUMBNAIL_PX, THUMBNAIL_PX) for record in records]
    bench.heartbeat.start()
    started = time.perf_counter()
    wall = _all_at_once(bench, starts, _timeout(data)) - started
    bench.heartbeat.stop()
    return {
        "wall_s": wall,
        "images_per_s": len(records) / wall,
        "images": len(records),
        "loaded": len(view.pixmaps),
        "failed": len(bench.failures),
        **bench.heartbeat.metrics(),
    }


# --- helpers -----------------------------------------------------------------------------


def _open(cleanup: ExitStack, end: str) -> PeerBench:
    """Return a PeerBench that ``cleanup`` closes (it waits for the global pool)."""
    bench = PeerBench(end)
    cleanup.callback(bench.close)
    return bench


def _warm_up(bench: PeerBench, work: Path, data: Dataset) -> None:
    """Scan an empty folder once, so a pool thread and lazy imports exist before timing."""
    empty = work / "warm-up"
    empty.mkdir(exist_ok=True)
    _one_after_another(bench, lambda: bench.start(scan_library, empty), 1, _timeout(data))


def _one_after_another(bench: PeerBench, start: Start, count: int, timeout_s: float) -> list[float]:
    """Start ``count`` jobs, each once the previous one's end was handled; return latencies."""
    latencies: list[float] = []
    sent = [0.0]
    expected = bench.ended_jobs() + count

    def submit() -> None:
        sent[0] = time.perf_counter()
        start()

    def on_event(event: JobEvent) -> None:
        latencies.append((event.at - sent[0]) * 1000)
        if bench.ended_jobs() < expected:
            # Start the next one from the event loop, as a handler that starts work does.
            QTimer.singleShot(0, bench, submit)

    remove_hook = bench.on_event(on_event)
    submit()
    try:
        bench.wait_until(
            lambda: bench.ended_jobs() >= expected, timeout_s, f"{count} superqt workers"
        )
    finally:
        remove_hook()
    bench.raise_failures()
    return latencies


def _all_at_once(bench: PeerBench, starts: Sequence[Start], timeout_s: float) -> float:
    """Start every job now, wait until all have ended; return when the last end was handled."""
    expected = bench.ended_jobs() + len(starts)
    for start in starts:
        start()
    bench.heartbeat.sample()
    bench.wait_until(
        lambda: bench.ended_jobs() >= expected, timeout_s, f"{len(starts)} superqt workers to end"
    )
    return bench.events[-1].at


def _timeout(data: Dataset) -> float:
    # Inside the parent's watchdog, so a stuck wait is reported by the child itself.
    return data.sizes.watchdog_s * CHILD_TIMEOUT_SHARE
