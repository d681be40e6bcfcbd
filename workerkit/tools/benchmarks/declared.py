"""Run a kind's declared workload on one stack through JobService, timed on the GUI thread.

The app is loaded from its spec; the workload's setup runs once, its ``make`` once per
job before timing, one untimed warm-up job runs, then the jobs run ``in_flight`` at a
time. Each job's latency runs from ``start()`` to its terminal event handled here.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Slot

from workerkit._app import App, load_app
from workerkit._kind import Workload
from workerkit._service import JobService
from workerkit.tools.benchmarks.apps import JOB_ENDS, find_workload
from workerkit.tools.benchmarks.harness import EventBench, JobEvent
from workerkit.tools.benchmarks.workloads import Metrics, latency_metrics

__all__ = ["KindBench", "run_declared"]

Call = tuple[tuple[Any, ...], dict[str, Any]]

# With no job running, a refused start is tried again after this long.
_RETRY_MS = 10


class KindBench(EventBench):
    """Own a JobService that routes one kind to the stack; record that kind's terminal events."""

    def __init__(self, app: App, kind: str, stack: str) -> None:
        super().__init__(stack)
        self.kind = kind
        self.service = JobService(app, stacks={kind: stack}, parent=self)
        self.service.job_finished.connect(self._on_finished)
        self.service.job_failed.connect(self._on_failed)
        self.service.job_canceled.connect(self._on_canceled)

    def start(self, call: Call) -> str:
        """Start one job of the kind with ``call``'s arguments; return its id."""
        args, kwargs = call
        return self.service.start(self.kind, *args, **kwargs).id

    def active_count(self) -> int:
        """Return how many jobs the JobService counts as active."""
        return self.service.active_count()

    def shut_down(self, timeout_ms: int) -> bool:
        """Shut the JobService down; return True if every job ended."""
        return self.service.shutdown(timeout_ms)

    @Slot(str, str, object)
    def _on_finished(self, _kind: str, job_id: str, result: object) -> None:
        self._record(job_id, "finished", result)

    @Slot(str, str, object)
    def _on_failed(self, _kind: str, job_id: str, error: object) -> None:
        self._record(job_id, "failed", str(error))

    @Slot(str, str)
    def _on_canceled(self, _kind: str, job_id: str) -> None:
        self._record(job_id, "canceled", None)


def run_declared(
    spec: str,
    key: str,
    stack: str,
    *,
    size: int,
    work: Path,
    timeout_s: float,
    cleanup: ExitStack,
) -> Metrics:
    """Run the workload ``key`` (``kind/name``) of the app at ``spec`` with ``size`` jobs."""
    app = load_app(spec)
    kind, workload = find_workload(app, key)
    prepared = _prepare(workload, work, size, cleanup)
    warm_up, *calls = [workload.arguments(size, prepared) for _ in range(size + 1)]
    bench = KindBench(app, kind.name, stack)
    cleanup.callback(bench.close)
    bench.run_job(lambda: bench.start(warm_up), timeout_s)
    driver = _Driver(bench, calls, workload.in_flight)
    bench.heartbeat.start()
    started = time.perf_counter()
    driver.pump()
    bench.wait_until(driver.done, timeout_s, f"{size} {kind.name} jobs to end")
    bench.heartbeat.finish()
    return {
        "wall_ms": (driver.last_end - started) * 1000,
        **latency_metrics(driver.latencies),
        "jobs": size,
        **{event: driver.ended[event] for event in JOB_ENDS},
        "refused_starts": driver.refused,
        **bench.heartbeat.metrics(),
    }


def _prepare(workload: Workload, work: Path, size: int, cleanup: ExitStack) -> Any:
    """Run the workload's setup once; enter what it returns if that is a context manager."""
    if workload.setup is None:
        return None
    prepared = workload.setup(work, size)
    if isinstance(prepared, AbstractContextManager):
        return cleanup.enter_context(prepared)
    return prepared


class _Driver:
    """Keep up to ``in_flight`` jobs running; time each from its start to its terminal event.

    A refused start (legacy ids collide within a second, D5) is counted and tried again
    when the next job ends, or shortly if none is running.
    """

    def __init__(self, bench: KindBench, calls: list[Call], in_flight: int | None) -> None:
        self.bench = bench
        self.waiting = deque(calls)
        self.total = len(calls)
        self.limit = in_flight or self.total
        self.sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self.running = self.refused = 0
        self.latencies: list[float] = []
        self.ended: Counter[str] = Counter()
        self.last_end = 0.0
        bench.on_event(self._on_event)

    def done(self) -> bool:
        """Return True once every job has ended."""
        return len(self.latencies) >= self.total

    def pump(self) -> None:
        """Start waiting jobs until ``in_flight`` run; stop at a refused start."""
        while self.waiting and self.running < self.limit:
            sent = time.perf_counter()
            try:
                job_id = self.bench.start(self.waiting[0])
            except RuntimeError:
                self.refused += 1
                if not self.running:
                    QTimer.singleShot(_RETRY_MS, self.bench, self.pump)
                return
            self.waiting.popleft()
            # Legacy ids repeat, so one id may stand for several jobs, ended in start order.
            self.sent[job_id].append(sent)
            self.running += 1
        self.bench.heartbeat.sample()

    def _on_event(self, event: JobEvent) -> None:
        sent = self.sent.get(event.job_id)
        if not sent:
            return  # not a timed job, or a second terminal event of one that ended
        self.latencies.append((event.at - sent.popleft()) * 1000)
        self.ended[event.event] += 1
        self.running -= 1
        self.last_end = event.at
        if self.waiting:
            # Start the next ones from the event loop, not from inside the stack's handler.
            QTimer.singleShot(0, self.bench, self.pump)
