"""Start a burst of annotation jobs on STACK; measure OS threads and terminal events (contract 7).

Usage: contract_burst.py STACK DB JOBS. Every job annotates the smallest JPEG of DB with the local
annotator. Prints one JSON line: how many starts were refused, how many jobs reached a
terminal event, and the peak number of OS threads above the count before the burst,
sampled after every start and by a 5 ms timer. A hang (D11) is the caller's watchdog's
to report: this script then prints nothing.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QThread, QTimer
from PySide6.QtGui import QGuiApplication

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

KINDS = ("registration", "search", "thumbnail", "annotation")
DEADLINE_MS = 60_000


def thread_count() -> int:
    """Return how many OS threads this process has now."""
    return len(os.listdir("/proc/self/task"))


class Burst:
    """Start the jobs, count their terminal events and sample the thread count."""

    def __init__(self, service: WorkerService, image_id: int, jobs: int) -> None:
        self.service = service
        self.image_id = image_id
        self.jobs = jobs
        self.started: list[str] = []
        self.refusals: list[str] = []
        self.attempted = 0
        self.ends: Counter[str] = Counter()
        self.baseline = thread_count()
        self.peak = self.baseline
        self.all_ended = threading.Event()
        service.job_finished.connect(lambda job_id, _result: self.end(job_id))
        service.job_failed.connect(lambda job_id, _message: self.end(job_id))
        service.job_canceled.connect(self.end)

    def end(self, job_id: str) -> None:
        """Count a terminal event of ``job_id``."""
        self.ends[job_id] += 1
        if len(self.ends) == len(set(self.started)) and self.attempted == self.jobs:
            self.all_ended.set()

    def sample(self) -> None:
        """Note the thread count if it is a new peak."""
        self.peak = max(self.peak, thread_count())

    def start_all(self) -> None:
        """Start every job at once, as a GUI would on a burst of requests."""
        for _ in range(self.jobs):
            try:
                self.started.append(self.service.start_annotation([self.image_id], ["local"]))
            except RuntimeError as refused:
                self.refusals.append(str(refused))
            self.attempted += 1
            self.sample()

    def report(self, seconds: float, timed_out: bool) -> dict[str, object]:
        """Return the measurement."""
        return {
            "stack": self.service.stack_for("annotation"),
            "jobs": self.jobs,
            "started": len(self.started),
            "distinct_ids": len(set(self.started)),
            "refused": len(self.refusals),
            "first_refusal": self.refusals[0] if self.refusals else None,
            "terminal": sum(1 for job_id in set(self.started) if self.ends[job_id]),
            "more_than_one_terminal": sum(1 for count in self.ends.values() if count > 1),
            "baseline_threads": self.baseline,
            "peak_threads": self.peak,
            "extra_threads": self.peak - self.baseline,
            "pool_limit": QThread.idealThreadCount(),
            "seconds": round(seconds, 3),
            "timed_out": timed_out,
        }


def main() -> int:
    """Run the burst and print the measurement; exit 0 if the script got to the end."""
    stack, db, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app = QGuiApplication(sys.argv[:1])
    store = ImageStore(db)
    # The smallest JPEG (decoded in draft mode): the burst is about scheduling, not decoding.
    jpegs = [r for r in store.search(SearchConditions()) if r.format == "JPEG"]
    image_id = min(jpegs, key=lambda r: r.width * r.height).id
    service = WorkerService(store, stacks=dict.fromkeys(KINDS, stack))
    burst = Burst(service, image_id, jobs)
    loop = QEventLoop()
    sampler = QTimer(loop)
    sampler.timeout.connect(burst.sample)
    sampler.timeout.connect(lambda: burst.all_ended.is_set() and loop.quit())
    sampler.start(5)
    deadline = QTimer(loop)
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(DEADLINE_MS)
    started = time.perf_counter()
    burst.start_all()
    loop.exec()
    sampler.stop()
    timed_out = not burst.all_ended.is_set()
    print(json.dumps(burst.report(time.perf_counter() - started, timed_out)), flush=True)
    service.shutdown(10_000)
    store.close()
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
