"""Cancel a job in a long blocking step or in a tight loop; time the GUI side of the cancel.

Each function makes one cancellation and returns how long the GUI thread spent
inside the cancel call and how long until the job's first terminal event was
handled. Legacy cancels inside a blocking call end in ``QThread.terminate()``,
so the runner gives every run its own process.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.tools.benchmarks.data import Dataset
from workerkit.tools.benchmarks.harness import Bench, spin
from workerkit.tools.benchmarks.workloads import API_KEY, Metrics, open_bench, warm_up

__all__ = ["cancel_http", "cancel_loop", "cancel_sqlite"]

# How long the job runs inside its blocking step or loop before the cancel request.
_SETTLE_S = {"sqlite": 0.3, "http": 0.2, "loop": 0.1}


def cancel_sqlite(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Cancel a search while SQLite runs a caption query of seconds (``Dataset.slow_db``).

    It is the store's own search, one statement of some 10^8 VM steps over a few MB: the
    legacy stack can only cancel around it, the simplified one interrupts it between steps.
    """
    bench = open_bench(cleanup, ImageStore(data.slow_db), stack)
    warm_up(bench, work)
    progress = _ProgressSeen(bench)
    since = len(bench.events)
    job_id = bench.service.start_search(SearchConditions(caption=data.slow_phrase))
    # The first progress signal is sent just before the query starts, on both stacks.
    bench.wait_until(lambda: progress.seen(job_id), 30, "the search to start", poll=True)
    metrics = _cancel(bench, job_id, since, bench.service.cancel_search, "sqlite", data)
    return metrics | {"uncancelled_query_s": data.slow_query_s}


def cancel_http(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Cancel an annotation while its HTTP request waits seconds for the reply."""
    db = shutil.copyfile(data.annotation_db, work / "cancel-http.sqlite")
    # In-process, so the request count can be read; its waits hold no GIL.
    server = cleanup.enter_context(FakeVisionServer(latency=data.sizes.http_cancel_latency_s))
    os.environ.update(WORKERKIT_API_BASE=server.base_url, WORKERKIT_API_KEY=API_KEY)
    bench = open_bench(cleanup, ImageStore(db), stack)
    warm_up(bench, work)
    since = len(bench.events)
    job_id = bench.service.start_annotation(data.annotation_ids[:1], ["http"])
    bench.wait_until(lambda: server.requests >= 1, 30, "the HTTP request", poll=True)
    metrics = _cancel(bench, job_id, since, bench.service.cancel_annotation, "http", data)
    return metrics | {"server_latency_s": data.sizes.http_cancel_latency_s}


def cancel_loop(data: Dataset, stack: str, work: Path, cleanup: ExitStack) -> Metrics:
    """Cancel a registration of the library while it works through the files."""
    bench = open_bench(cleanup, ImageStore(work / "cancel-loop.sqlite"), stack)
    warm_up(bench, work)
    steps: list[str] = []
    bench.service.worker_batch_progress.connect(lambda job, *_: steps.append(job))
    since = len(bench.events)
    job_id = bench.service.start_batch_registration(data.library)
    bench.wait_until(lambda: job_id in steps, 30, "the first file", poll=True)
    cancel = bench.service.cancel_batch_registration
    return _cancel(bench, job_id, since, cancel, "loop", data)


class _ProgressSeen:
    """Remember which jobs have sent a progress signal."""

    def __init__(self, bench: Bench) -> None:
        self._jobs: set[str] = set()
        bench.service.worker_progress_updated.connect(lambda job, _p: self._jobs.add(job))

    def seen(self, job_id: str) -> bool:
        return job_id in self._jobs


def _cancel(
    bench: Bench,
    job_id: str,
    since: int,
    cancel: Callable[[str], bool],
    step: str,
    data: Dataset,
) -> Metrics:
    """Let the job settle into its step, cancel it, and time the GUI side of that."""
    spin(_SETTLE_S[step], bench)
    early = bench.first_event(job_id, since)
    bench.heartbeat.start()
    requested = time.perf_counter()
    accepted = cancel(job_id)
    returned = time.perf_counter()
    event = bench.wait_for_job(job_id, data.sizes.watchdog_s * 0.8, since)
    bench.heartbeat.stop()
    ended_early = early is not None
    return {
        "blocked_ms": (returned - requested) * 1000,
        "latency_ms": None if ended_early else (event.at - requested) * 1000,
        "event": event.event,
        "accepted": accepted,
        "ended_before_cancel": ended_early,
        "lag_max_ms": bench.heartbeat.metrics()["lag_max_ms"],
    }
