"""The events of a backend's jobs: one queue, owned on the GUI side, drained in batches."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

__all__ = ["BATCH", "CANCELED", "FAILED", "FINISHED", "PARTIAL", "PROGRESS", "JobSignals"]

FINISHED, FAILED, CANCELED, PROGRESS, BATCH, PARTIAL = range(6)
# How long one drain may hold the GUI thread before it yields to the event loop.
DRAIN_BUDGET_S = 0.008

Handler = Callable[[str, int, object], None]


class JobSignals(QObject):
    """Carry every job's events from pool threads to the GUI thread, in order, keyed by job id.

    Pool threads append to a deque and wake the GUI thread with one queued signal only
    when it is not already woken: a signal emission releases the GIL, so under load each
    one costs a thread switch on both sides. The QObject is created on the GUI thread
    and parented to the backend, so it outlives every job (a QRunnable must not own it).
    """

    woken = Signal()

    def __init__(self, handle: Handler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handle = handle
        self._events: deque[tuple[str, int, object]] = deque()
        self._awake = False
        self.woken.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def post(self, job_id: str, event: int, payload: object = None) -> None:
        """Queue one event for the GUI thread; callable from any thread."""
        self._events.append((job_id, event, payload))
        if not self._awake:
            self._awake = True
            self.woken.emit()

    def drain(self, budget_s: float | None = None) -> bool:
        """Handle queued events here, for at most ``budget_s``; return True if none are left."""
        self._awake = False
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        events = self._events
        while events:
            self._handle(*events.popleft())
            if deadline is not None and time.perf_counter() > deadline:
                return not events
        return True

    @Slot()
    def _drain(self) -> None:
        if not self.drain(DRAIN_BUDGET_S):
            # Yield to timers and input, then go on.
            self._awake = True
            self.woken.emit()
