"""What a workload measures besides wall time: GUI lag, threads, memory, signals."""

from __future__ import annotations

import time

import psutil
from PySide6.QtCore import QObject, Qt, QTimer, Slot

from workerkit.imagelib.service import WorkerService
from workerkit.testing._threads import qthreads_alive
from workerkit.tools.benchmarks.stats import percentile

__all__ = ["HEARTBEAT_MS", "Heartbeat", "SignalCounter", "qthreads_alive"]

HEARTBEAT_MS = 5
_MB = 1024 * 1024


class Heartbeat(QObject):
    """Tick every 5 ms on the GUI thread; record the gaps, the thread count and the RSS.

    A gap longer than the interval is time the GUI event loop could not run a
    timer: the lag a user would feel. Threads and RSS are sampled on each tick,
    so a blocked GUI thread also samples less, which the wall-clock gaps show.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process = psutil.Process()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._tick)
        self.gaps_ms: list[float] = []
        self.base_threads = self._process.num_threads()
        self.base_rss = self._process.memory_info().rss
        self.peak_threads = self.base_threads
        self.peak_rss = self.base_rss
        self._last = 0.0

    def rebase_memory(self) -> None:
        """Take the current RSS as the baseline; the thread baseline stays at creation."""
        self.base_rss = self.peak_rss = self._process.memory_info().rss

    def start(self) -> None:
        """Start ticking; gaps and RSS growth are counted from now."""
        self.rebase_memory()
        self.gaps_ms.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        """Stop ticking and take a last sample."""
        self._timer.stop()
        self.sample()

    def finish(self) -> None:
        """Stop ticking and count the time since the last tick as a gap too.

        A stall at the very end of a run then counts, and a run shorter than one
        interval still has a gap: its whole length.
        """
        self._tick()
        self.stop()

    def sample(self) -> None:
        """Record the thread count and RSS now."""
        self.peak_threads = max(self.peak_threads, self._process.num_threads())
        self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)

    def metrics(self) -> dict[str, float | None]:
        """Return the lag, thread and memory figures of the ticks so far."""
        return {
            "lag_max_ms": max(self.gaps_ms, default=None),
            "lag_p99_ms": percentile(self.gaps_ms, 0.99),
            "peak_threads_added": float(self.peak_threads - self.base_threads),
            "peak_rss_growth_mb": (self.peak_rss - self.base_rss) / _MB,
        }

    @Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps_ms.append((now - self._last) * 1000)
        self._last = now
        self.sample()


class SignalCounter(QObject):
    """Count every WorkerService signal delivered to the GUI thread.

    The counter is a QObject on the GUI thread with bound slots, so Qt queues
    each emission to this thread whatever thread emitted it.
    """

    def __init__(self, service: WorkerService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.count = 0
        for name in _SERVICE_SIGNALS:
            getattr(service, name).connect(self._on_any)
        service.worker_progress_updated.connect(self._on_two)
        service.thumbnails_loaded.connect(self._on_two)
        service.job_finished.connect(self._on_two)
        service.job_failed.connect(self._on_two)
        service.worker_batch_progress.connect(self._on_four)
        service.active_worker_count_changed.connect(self._on_int)
        service.all_workers_finished.connect(self._on_none)

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0

    @Slot(object)
    def _on_any(self, _value: object) -> None:
        self.count += 1

    @Slot(object, object)
    def _on_two(self, _first: object, _second: object) -> None:
        self.count += 1

    @Slot(str, int, int, str)
    def _on_four(self, _job: str, _current: int, _total: int, _name: str) -> None:
        self.count += 1

    @Slot(int)
    def _on_int(self, _count: int) -> None:
        self.count += 1

    @Slot()
    def _on_none(self) -> None:
        self.count += 1


# The one-argument signals: the kind signals of the original facade and job_canceled.
_SERVICE_SIGNALS: tuple[str, ...] = (
    *(
        f"{word}_{event}"
        for word in ("batch_registration", "search", "thumbnail", "annotation")
        for event in ("started", "finished", "error", "canceled")
    ),
    "job_canceled",
)
