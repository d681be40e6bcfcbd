"""The throughput workloads: each drives one stack through the public WorkerService.

Every function runs on the GUI thread of a process with a QGuiApplication, takes
the dataset, the stack name, a private work folder and an ExitStack that tears the
service down after the metrics were reported (a stack may hang there), and returns
flat metrics.
"""

from __future__ import annotations

import functools
import os
import shutil
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QSize, QTimer

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import spawn_fake_server
from workerkit.imagelib.domain.results import (
    AnnotationResult,
    RegistrationResult,
    SearchResult,
    ThumbnailResult,
)
from workerkit.imagelib.domain.store import ImageStore
from workerkit.tools.benchmarks.data import THUMBNAIL_PX, Dataset
from workerkit.tools.benchmarks.harness import Bench, JobEvent, WorkloadError, spin
from workerkit.tools.benchmarks.plan import CHILD_TIMEOUT_SHARE
from workerkit.tools.benchmarks.stats import percentile

__all__ = [
    "API_KEY",
    "Metrics",
    "annotation",
    "burst",
    "latency_metrics",
    "open_bench",
    "registration",
    "roundtrip",
    "search",
    "thumbnail",
    "warm_up",
]

Metrics = dict[str, Any]

T = TypeVar("T")

API_KEY = "workerkit-compare"
WARMUP_JOBS = 5


def roundtrip(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Time submit -> finished handled for no-op searches run one after another."""
    bench = open_bench(cleanup, ImageStore(data.tiny_db), stack)
    conditions = SearchConditions(limit=1)

    def start() -> str:
        return bench.service.start_search(conditions)

    total = data.sizes.roundtrip_jobs
    _one_after_another(bench, [start] * WARMUP_JOBS, _timeout(data))
    bench.heartbeat.start()
    bench.signals.reset()
    latencies = _one_after_another(bench, [start] * total, _timeout(data))
    bench.heartbeat.stop()
    return {
        **latency_metrics(latencies),
        "jobs": total,
        "signals_per_job": bench.signals.count / total,
        **bench.heartbeat.metrics(),
    }


def burst(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Submit many no-op registrations at once and time until every one has ended.

    A refused start (legacy ids collide within a second, D5) is counted and
    retried once the next job has ended, so both stacks run every job.
    """
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    bench = open_bench(cleanup, ImageStore(work / "burst.sqlite"), stack)

    def start() -> str:
        return bench.service.start_batch_registration(empty)

    _one_after_another(bench, [start] * WARMUP_JOBS, _timeout(data))
    # Legacy threads quit through events queued to this thread: let them.
    spin(0.2, bench)
    bench.signals.reset()
    driver = _BurstDriver(bench, start, data.sizes.burst_jobs)
    bench.heartbeat.start()
    started = time.perf_counter()
    driver.pump()
    bench.wait_until(driver.done, _timeout(data), f"{driver.total} jobs to end")
    wall = bench.events[-1].at - started
    bench.heartbeat.stop()
    return {
        "wall_ms": wall * 1000,
        "jobs_per_s": driver.total / wall,
        "jobs": driver.total,
        "refused_starts": driver.refused,
        "failed_jobs": driver.failed,
        "signals": bench.signals.count,
        "pool_size": _pool_size(bench),
        **bench.heartbeat.metrics(),
    }


def registration(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Register the whole library into an empty database."""
    bench = open_bench(cleanup, ImageStore(work / "registration.sqlite"), stack)
    warm_up(bench, work)
    event, wall = _timed_job(
        bench, lambda: bench.service.start_batch_registration(data.library), data
    )
    result = _expect(event, RegistrationResult)
    files = result.registered_count + result.skipped_count + result.error_count
    return {
        "wall_s": wall,
        "files_per_s": files / wall,
        "files": files,
        "registered": result.registered_count,
        "skipped": result.skipped_count,
        "errors": result.error_count,
        "signals": bench.signals.count,
        **bench.heartbeat.metrics(),
    }


def search(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Run the seeded queries one after another over the large database."""
    queries = [SearchConditions.from_dict(q) for q in data.search_queries]
    bench = open_bench(cleanup, ImageStore(data.search_db), stack)
    warm_up(bench, work)
    starts: list[Callable[[], str]] = [
        functools.partial(bench.service.start_search, q) for q in queries
    ]
    bench.heartbeat.start()
    bench.signals.reset()
    started = time.perf_counter()
    latencies = _one_after_another(bench, starts, _timeout(data))
    wall = bench.events[-1].at - started
    bench.heartbeat.stop()
    results = [_expect(e, SearchResult) for e in bench.events[-len(queries) :]]
    return {
        "wall_ms": wall * 1000,
        **latency_metrics(latencies),
        "queries": len(queries),
        "rows_found": sum(len(r.image_metadata) for r in results),
        "signals": bench.signals.count,
        **bench.heartbeat.metrics(),
    }


def thumbnail(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Load 256 px thumbnails of the 1920x1280 benchmark JPEGs in one job."""
    bench = open_bench(cleanup, ImageStore(data.thumbnail_db), stack)
    records = bench.store.get_many(data.thumbnail_ids)
    warm_up(bench, work)
    size = QSize(THUMBNAIL_PX, THUMBNAIL_PX)
    event, wall = _timed_job(
        bench, lambda: bench.service.start_thumbnail_loading(records, size), data
    )
    result = _expect(event, ThumbnailResult)
    return {
        "wall_s": wall,
        "images_per_s": len(records) / wall,
        "images": len(records),
        "loaded": len(result.loaded_thumbnails),
        "failed": result.failed_count,
        "signals": bench.signals.count,
        **bench.heartbeat.metrics(),
    }


def annotation(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Annotate images with the "http" model against the fake API in its own process."""
    db = shutil.copyfile(data.annotation_db, work / "annotation.sqlite")
    base_url = cleanup.enter_context(spawn_fake_server(latency=data.sizes.annotation_latency_s))
    # The service reads the http annotator's settings when it is created.
    os.environ.update(WORKERKIT_API_BASE=base_url, WORKERKIT_API_KEY=API_KEY)
    bench = open_bench(cleanup, ImageStore(db), stack)
    bench.run_job(lambda: bench.service.start_annotation([], ["http"]), _timeout(data))
    ids = data.annotation_ids
    event, wall = _timed_job(bench, lambda: bench.service.start_annotation(ids, ["http"]), data)
    result = _expect(event, AnnotationResult)
    outcomes = [o for per_model in result.results.values() for o in per_model.values()]
    return {
        "wall_s": wall,
        "images": len(ids),
        "errors": sum(not o.ok for o in outcomes),
        "signals": bench.signals.count,
        **bench.heartbeat.metrics(),
    }


def open_bench(cleanup: ExitStack, store: ImageStore, stack: str) -> Bench:
    """Return a Bench on ``store``; ``cleanup`` shuts it down, then closes the store."""
    cleanup.enter_context(store)
    bench = Bench(store, stack)
    cleanup.callback(bench.close)
    return bench


def warm_up(bench: Bench, work: Path) -> None:
    """Run one empty registration, so pool threads and lazy imports exist before timing."""
    empty = work / "warm-up"
    empty.mkdir(exist_ok=True)
    bench.run_job(lambda: bench.service.start_batch_registration(empty), 60)


# --- helpers -----------------------------------------------------------------------------


class _BurstDriver:
    """Submit ``total`` jobs as fast as the service accepts them; count refusals."""

    def __init__(self, bench: Bench, start: Callable[[], str], total: int) -> None:
        self.bench = bench
        self.start = start
        self.total = total
        self.submitted = self.ended = self.refused = self.failed = 0
        self.waiting = False
        bench.on_event(self._on_event)

    def done(self) -> bool:
        return self.ended >= self.total

    def pump(self) -> None:
        while self.submitted < self.total:
            try:
                self.start()
            except RuntimeError:
                # The colliding job is still active, so its terminal event is still to come.
                self.refused += 1
                self.waiting = True
                return
            self.submitted += 1
        self.bench.heartbeat.sample()

    def _on_event(self, event: JobEvent) -> None:
        self.ended += 1
        self.failed += event.event != "finished"
        if self.waiting:
            self.waiting = False
            QTimer.singleShot(0, self.bench, self.pump)


def _one_after_another(
    bench: Bench, starts: list[Callable[[], str]], timeout_s: float
) -> list[float]:
    """Start each job once the previous one's terminal event was handled; return latencies."""
    latencies: list[float] = []
    pending = list(reversed(starts))
    sent = [0.0]
    failures: list[str] = []

    def submit() -> None:
        sent[0] = time.perf_counter()
        pending.pop()()

    def on_event(event: JobEvent) -> None:
        latencies.append((event.at - sent[0]) * 1000)
        if event.event != "finished":
            failures.append(f"{event.job_id} {event.event}: {event.payload}")
        if pending:
            # Start the next one from the event loop, not from inside the stack's handler.
            QTimer.singleShot(0, bench, submit)

    remove_hook = bench.on_event(on_event)
    expected = len(bench.events) + len(starts)
    submit()
    try:
        bench.wait_until(lambda: len(bench.events) >= expected, timeout_s, f"{len(starts)} jobs")
    finally:
        remove_hook()
    if failures:
        raise WorkloadError(f"{len(failures)} jobs did not finish; first: {failures[0]}")
    return latencies


def _timed_job(bench: Bench, start: Callable[[], str], data: Dataset) -> tuple[JobEvent, float]:
    """Start one job with the probes running; return its terminal event and wall time."""
    bench.heartbeat.start()
    bench.signals.reset()
    started = time.perf_counter()
    _job_id, event = bench.run_job(start, _timeout(data))
    bench.heartbeat.stop()
    return event, event.at - started


def _expect(event: JobEvent, kind: type[T]) -> T:
    if event.event != "finished" or not isinstance(event.payload, kind):
        raise WorkloadError(
            f"Expected job {event.job_id} to finish with a {kind.__name__}, but it was "
            f"{event.event}: {event.payload!r:.300}"
        )
    return event.payload


def latency_metrics(latencies: list[float]) -> Metrics:
    """Return the median, p95 and mean of per-job latencies in ms."""
    return {
        "median_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "mean_ms": statistics.fmean(latencies),
    }


def _pool_size(bench: Bench) -> int | None:
    # Only the simplified stack has a pool; its summary names the pool's size.
    return bench.service.stack(bench.stack).summary().get("max_threads")


def _timeout(data: Dataset) -> float:
    # Inside the parent's watchdog, so a stuck wait is reported by the child itself.
    return data.sizes.watchdog_s * CHILD_TIMEOUT_SHARE
