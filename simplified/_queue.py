"""Where jobs wait for a pool thread: one deque, drained by one runnable per busy thread."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QRunnable, QThreadPool, QTimer

if TYPE_CHECKING:
    from workerkit.simplified._batch import Runner
    from workerkit.simplified._job import Job

__all__ = ["JobQueue"]


class JobQueue:
    """Queue jobs for a QThreadPool; start a drain runnable only while threads are short of one.

    Every QThreadPool.start() releases the GIL and wakes a thread, so a burst of starts
    from the GUI thread pays one thread switch per job against the busy pool threads. Here
    a burst costs one start per pool thread, and a job still waiting is taken back with
    no Qt call at all. The first job of an event-loop turn starts at once; the jobs
    queued after it in the same turn start once the GUI thread is back in its event
    loop (or at ``kick()``): a pool thread running them during a burst of starts would
    take the GIL at each of the GUI thread's signal emissions (an emission releases it)
    and stall the burst.
    """

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self._limit = max(1, pool.maxThreadCount())
        self._jobs: deque[Job | Runner] = deque()
        self._lock = threading.Lock()
        self._drains = 0
        self._kick_due = False

    def put(self, job: Job | Runner) -> None:
        """Queue ``job``; it runs on the pool after the jobs queued before it. GUI thread only."""
        with self._lock:
            self._jobs.append(job)
            now = self._drains == 0 and not self._kick_due
            self._drains += now
            due = not now and not self._kick_due and self._drains < self._limit
            self._kick_due |= due
        if now:
            self._pool.start(_Drain(self))
        elif due:
            # Bound to the pool: a kick still due when the pool is destroyed is dropped.
            QTimer.singleShot(0, self._pool, self.kick)

    def kick(self) -> None:
        """Start the drains the queued jobs are short of, now."""
        with self._lock:
            self._kick_due = False
            count = min(self._limit - self._drains, len(self._jobs))
            self._drains += count
        for _ in range(count):
            self._pool.start(_Drain(self))

    def requeue(self, job: Job | Runner) -> None:
        """Put ``job`` back at the end of the queue; only from a job the queue is running.

        The calling drain is still alive, so it (or a kick) picks the job up again.
        """
        with self._lock:
            self._jobs.append(job)

    def take_back(self, job: Job) -> bool:
        """Remove ``job`` if no thread has taken it yet; return True if removed."""
        with self._lock:
            try:
                self._jobs.remove(job)
            except ValueError:
                return False
            return True

    def next_job(self) -> Job | Runner | None:
        """Return the next job to run, or None (and retire the caller's drain) when empty."""
        with self._lock:
            # While starts are still coming in this event-loop turn, leave the rest to
            # the kick, so no pool thread competes with them for the GIL.
            if self._jobs and not self._kick_due:
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
