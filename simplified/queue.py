"""Where jobs wait for a pool thread: one deque, drained by one runnable per busy thread."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QRunnable, QThreadPool

if TYPE_CHECKING:
    from workerkit.simplified.job import Job

__all__ = ["JobQueue"]


class JobQueue:
    """Queue jobs for a QThreadPool; start a drain runnable only while threads are short of one.

    Every QThreadPool.start() releases the GIL and wakes a thread, so a burst of starts
    from the GUI thread pays one thread switch per job against the busy pool threads. Here
    a burst costs one start per pool thread, and a job still waiting is taken back with
    no Qt call at all.
    """

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self._limit = max(1, pool.maxThreadCount())
        self._jobs: deque[Job] = deque()
        self._lock = threading.Lock()
        self._drains = 0

    def put(self, job: Job) -> None:
        """Queue ``job``; it runs on the pool after the jobs queued before it."""
        with self._lock:
            self._jobs.append(job)
            start = self._drains < self._limit
            self._drains += start
        if start:
            self._pool.start(_Drain(self))

    def take_back(self, job: Job) -> bool:
        """Remove ``job`` if no thread has taken it yet; return True if removed."""
        with self._lock:
            try:
                self._jobs.remove(job)
            except ValueError:
                return False
            return True

    def next_job(self) -> Job | None:
        """Return the next job to run, or None (and retire the caller's drain) when empty."""
        with self._lock:
            if self._jobs:
                return self._jobs.popleft()
            self._drains -= 1
            return None


class _Drain(QRunnable):
    """Run queued jobs one after another until the queue is empty."""

    def __init__(self, queue: JobQueue) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._queue = queue

    def run(self) -> None:
        """Run the jobs; Qt calls this on a pool thread, so it cannot be renamed."""
        while (job := self._queue.next_job()) is not None:
            job.run()
