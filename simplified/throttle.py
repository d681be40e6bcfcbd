"""Coalesce a job's progress reports so a fast job cannot flood the GUI event loop."""

from __future__ import annotations

import time
from collections.abc import Callable

from workerkit.progress import WorkerProgress

__all__ = ["ProgressThrottle"]

DEFAULT_INTERVAL_S = 0.05


class ProgressThrottle:
    """Pass on at most one progress value per interval; the last one and 100% always pass."""

    __slots__ = ("_emit", "_interval", "_last_sent", "_pending")

    def __init__(
        self, emit: Callable[[WorkerProgress], None], interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        self._emit = emit
        self._interval = interval_s
        self._last_sent = float("-inf")
        self._pending: WorkerProgress | None = None

    def report(self, progress: WorkerProgress) -> None:
        """Send ``progress`` now if the interval has passed or it is final; else keep it."""
        now = time.monotonic()
        if progress.is_complete or now - self._last_sent >= self._interval:
            self._send(progress, now)
        else:
            self._pending = progress

    def flush(self) -> None:
        """Send the value held back, if any."""
        if self._pending is not None:
            self._send(self._pending, time.monotonic())

    def _send(self, progress: WorkerProgress, now: float) -> None:
        self._pending = None
        self._last_sent = now
        self._emit(progress)
