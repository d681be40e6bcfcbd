"""The scale rows: N no-op jobs run each way a user could run them, one process per cell.

``python -m workerkit.tools.benchmarks.scale --variant bulk --size 10000`` runs one cell in
this process and prints ``WORKERKIT-SCALE {json}``; ``measure_scale`` runs every cell in
its own process under a watchdog, so a cell that hangs or crashes is reported as such.
Each cell runs inside a running event loop with a 5 ms heartbeat timer on the GUI thread,
as an app would: the heartbeat's longest gap is the longest stall a user would feel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "QUICK_SCALE_SIZES",
    "SCALE_METHOD",
    "SCALE_SIZES",
    "VARIANTS",
    "ScaleCell",
    "measure_scale",
    "scale_markdown",
]

# Full run: all three sizes; quick run: the first two.
SCALE_SIZES = (1_000, 10_000, 100_000)
QUICK_SCALE_SIZES = SCALE_SIZES[:2]
VARIANTS = ("bulk", "one-by-one", "raw", "superqt", "legacy")
# The careful QThread-per-job stack starts a thread per job: past this size it is not run.
LEGACY_MAX = 10_000
# superqt's start() waits for a 1 ms timer per job in a running loop, and grows worse than
# linearly (103 s for 50,000 on this machine): past this size it is not run.
PEER_MAX = 10_000
_MARK = "WORKERKIT-SCALE "
SCALE_METHOD = (
    "- scale: N no-op jobs (a pool function or a QObject worker that returns None), each "
    "cell in a fresh process, submitted from a timer inside a running event loop with "
    "a 5 ms heartbeat timer on the GUI thread. bulk: `JobService.map` on the simplified "
    "stack; one-by-one: a loop of `JobService.start` on it; raw: the research note's "
    "QRunnable with a GUI-owned signals object on `QThreadPool.globalInstance()`; superqt: "
    "`create_worker(...).start()` per job; legacy: a loop of `start` on the careful "
    "QThread-per-job stack. Wall: submit to the last result handled; longest GUI stall: "
    "the heartbeat's longest interval; submit call: the time inside the submitting call; "
    "RSS growth per 1,000 jobs: peak RSS growth over the run, per 1,000 jobs."
)
_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ScaleCell:
    """One (variant, size) cell: its metrics, or why it has none."""

    variant: str
    size: int
    status: str  # ok, hung, crashed, skipped
    metrics: dict[str, float]
    note: str = ""


def measure_scale(
    sizes: Sequence[int],
    say: Callable[[str], None],
    watchdog_s: float = 300.0,
    variants: Sequence[str] = VARIANTS,
) -> list[ScaleCell]:
    """Run every variant at every size, each in a fresh process; return the cells."""
    cells: list[ScaleCell] = []
    for size in sizes:
        for variant in variants:
            cell = _run_cell(variant, size, watchdog_s)
            took = cell.metrics.get("wall_s")
            shown = f"{took:.2f} s" if took is not None else cell.note
            say(f"  scale {size:>7,} {variant:<10} {cell.status:<7} {shown}")
            cells.append(cell)
    return cells


def _run_cell(variant: str, size: int, watchdog_s: float) -> ScaleCell:
    limit = {"legacy": LEGACY_MAX, "superqt": PEER_MAX}.get(variant)
    if limit is not None and size > limit:
        return ScaleCell(variant, size, "skipped", {}, f"not run above {limit:,} jobs")
    command = [sys.executable, "-m", __name__, "--variant", variant, "--size", str(size)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=watchdog_s, env=env)
    except subprocess.TimeoutExpired:
        return ScaleCell(
            variant, size, "hung", {}, f"killed by the watchdog after {watchdog_s:.0f} s"
        )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_MARK):
            return ScaleCell(variant, size, "ok", json.loads(line[len(_MARK) :]))
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return ScaleCell(variant, size, "crashed", {}, f"exit {done.returncode}: {tail[:160]}")


def scale_markdown(cells: Sequence[ScaleCell]) -> list[str]:
    """Return the scale table: one row per (size, variant), every column."""
    lines = [
        "| jobs | way | wall | longest GUI stall | p99 heartbeat gap | submit call | "
        "peak RSS | RSS growth per 1,000 jobs | outcome |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        m = cell.metrics
        if cell.status != "ok":
            lines.append(
                f"| {cell.size:,} | {cell.variant} | - | - | - | - | - | - | {cell.note} |"
            )
            continue
        lines.append(
            f"| {cell.size:,} | {cell.variant} | {m['wall_s']:.2f} s | {m['lag_max_ms']:.0f} ms | "
            f"{m['lag_p99_ms']:.1f} ms | {m['submit_ms']:.0f} ms | {m['peak_rss_mb']:.0f} MB | "
            f"{m['rss_growth_per_1000_mb']:.3f} MB | ok |"
        )
    return lines


# --- one cell, in this process --------------------------------------------------------------


def run_cell(variant: str, size: int) -> dict[str, float]:
    """Run ``size`` no-op jobs the ``variant`` way inside a running loop; return the metrics."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication

    from workerkit.tools.benchmarks.probes import Heartbeat

    app = QGuiApplication.instance() or QGuiApplication([])
    runner = _RUNNERS[variant](size)
    heartbeat = Heartbeat()
    timing: dict[str, float] = {}

    def submit() -> None:
        timing["started"] = time.perf_counter()
        runner.submit(lambda: _finished(timing, app))
        timing["submitted"] = time.perf_counter()

    heartbeat.rebase_memory()
    heartbeat.start()
    QTimer.singleShot(50, submit)  # in the running loop, as a click would
    app.exec()
    heartbeat.stop()
    runner.close()
    metrics = heartbeat.metrics()
    growth = metrics["peak_rss_growth_mb"] or 0.0
    return {
        "wall_s": timing["ended"] - timing["started"],
        "submit_ms": (timing["submitted"] - timing["started"]) * 1000,
        "lag_max_ms": metrics["lag_max_ms"] or 0.0,
        "lag_p99_ms": metrics["lag_p99_ms"] or 0.0,
        "peak_rss_mb": heartbeat.peak_rss / _MB,
        "rss_growth_per_1000_mb": growth * 1000 / size,
        "jobs": float(runner.done),
    }


def _finished(timing: dict[str, float], app: Any) -> None:
    timing["ended"] = time.perf_counter()
    app.quit()


class _Runner:
    """Submit ``size`` no-op jobs one way and call back once every one has ended."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.done = 0
        self._on_done: Callable[[], None] = lambda: None

    def submit(self, on_done: Callable[[], None]) -> None:
        """Submit every job; call ``on_done`` on the GUI thread when all have ended."""
        raise NotImplementedError

    def count(self, ended: int = 1) -> None:
        """Count jobs that ended; call the callback after the last."""
        self.done += ended
        if self.done == self.size:
            self._on_done()

    def close(self) -> None:
        """Release what the runner made."""


def _noop(_control: Any, _n: int) -> None:
    return None


def _kind_app() -> Any:
    from PySide6.QtCore import QObject, Signal, Slot

    from workerkit import App, LegacyWorker, WorkerKind

    class NoopWorker(QObject):
        """A legacy worker that does nothing and says so."""

        finished = Signal(object)

        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

        @Slot()
        def run(self) -> None:
            self.finished.emit(None)

    kind = WorkerKind(
        name="noop", legacy=LegacyWorker(NoopWorker, error=None, cancel=None), simplified=_noop
    )
    return kind, App("scale", [kind])


class _Service(_Runner):
    def __init__(self, size: int, stack: str) -> None:
        super().__init__(size)
        from workerkit import JobService

        self.kind, app = _kind_app()
        self.service = JobService(app, stacks={"noop": stack})
        self.service.stack(stack)  # made (and its modules imported) before the clock starts

    def close(self) -> None:
        self.service.shutdown(10_000)


class _Bulk(_Service):
    def __init__(self, size: int) -> None:
        super().__init__(size, "simplified")

    def submit(self, on_done: Callable[[], None]) -> None:
        self._on_done = on_done
        batch = self.service.map(self.kind, range(self.size))
        batch.results_delivered.connect(lambda results: self.count(len(results)))


class _OneByOne(_Service):
    def __init__(self, size: int, stack: str = "simplified") -> None:
        super().__init__(size, stack)

    def submit(self, on_done: Callable[[], None]) -> None:
        self._on_done = on_done
        self.service.job_finished.connect(lambda *_: self.count())
        for n in range(self.size):
            self.service.start(self.kind, n)


class _Legacy(_OneByOne):
    def __init__(self, size: int) -> None:
        super().__init__(size, "legacy")


class _Raw(_Runner):
    """The research note's pattern: a QRunnable, a GUI-owned signals object, the global pool."""

    def submit(self, on_done: Callable[[], None]) -> None:
        from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

        class Signals(QObject):
            finished = Signal(object)

        class Job(QRunnable):
            def __init__(self, signals: Signals, n: int) -> None:
                super().__init__()
                self.signals = signals
                self.n = n

            def run(self) -> None:
                _noop(None, self.n)
                self.signals.finished.emit(None)

        self._on_done = on_done
        self.signals = Signals()
        self.signals.finished.connect(lambda _result: self.count())
        pool = QThreadPool.globalInstance()
        for n in range(self.size):
            pool.start(Job(self.signals, n))

    def close(self) -> None:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(10_000)


class _Superqt(_Runner):
    """superqt's ``create_worker`` per job, as its users write it."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        import superqt.utils  # imported before the clock starts

        self._create = superqt.utils.create_worker

    def submit(self, on_done: Callable[[], None]) -> None:
        create_worker = self._create
        self._on_done = on_done
        for n in range(self.size):
            worker = create_worker(_noop, None, n, _start_thread=False)
            worker.returned.connect(lambda _result: self.count())
            worker.start()

    def close(self) -> None:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(10_000)


_RUNNERS: dict[str, Callable[[int], _Runner]] = {
    "bulk": _Bulk,
    "one-by-one": _OneByOne,
    "raw": _Raw,
    "superqt": _Superqt,
    "legacy": _Legacy,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one cell and print its metrics as one line; return 0."""
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}", description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args(argv)
    print(_MARK + json.dumps(run_cell(args.variant, args.size)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
