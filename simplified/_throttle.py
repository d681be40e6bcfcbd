"""Coalesce a job's progress reports so a fast job cannot flood the GUI event loop."""

from __future__ import annotations

import time

from workerkit._progress import WorkerProgress

__all__ = ["ProgressThrottle"]

DEFAULT_INTERVAL_S = 0.05


class ProgressThrottle:
    """Pass on at most one progress value per interval; the last one and 100% always pass.

    It only decides: the caller sends what it admits. Holding no callback, it makes no
    reference cycle with the job's control, which then goes the moment its job ends.
    """

    __slots__ = ("_interval", "_last_sent", "_pending")

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._interval = interval_s
        self._last_sent = float("-inf")
        self._pending: WorkerProgress | None = None

    def admit(self, progress: WorkerProgress) -> WorkerProgress | None:
        """Return ``progress`` if it is final or the interval has passed; else hold it."""
        now = time.monotonic()
        if progress.is_complete or now - self._last_sent >= self._interval:
            self._pending = None
            self._last_sent = now
            return progress
        self._pending = progress
        return None

    def release(self) -> WorkerProgress | None:
        """Return the value held back, if any, to send now."""
        held, self._pending = self._pending, None
        if held is not None:
            self._last_sent = time.monotonic()
        return held
