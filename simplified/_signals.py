"""The events of a backend's jobs: one queue, owned on the GUI side, drained in batches."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

__all__ = [
    "BATCH",
    "CANCELED",
    "FAILED",
    "FINISHED",
    "ITEM",
    "ITEM_FAILED",
    "PARTIAL",
    "PROGRESS",
    "JobSignals",
]

# ITEM / ITEM_FAILED: one item of a batch ended (payload: its index and result or error).
FINISHED, FAILED, CANCELED, PROGRESS, BATCH, PARTIAL, ITEM, ITEM_FAILED = range(8)
# Events of which only the latest value matters.
COALESCED = frozenset({PROGRESS, BATCH})
# How long one drain may hold the GUI thread before it yields to the event loop.
DRAIN_BUDGET_S = 0.008
# The longest a quiet event waits for the sweep (also how long a job's progress is quiet).
QUIET_S = 0.05

Handler = Callable[[str, int, object], None]


@dataclass(slots=True)
class _Event:
    """One queued event; its payload may be replaced while it waits (a newer progress)."""

    job_id: str
    event: int
    payload: object


class JobSignals(QObject):
    """Carry every job's events from pool threads to the GUI thread, in order, keyed by job id.

    Pool threads append to a deque and wake the GUI thread with one queued signal only
    when it is not already woken: a signal emission releases the GIL, so under load each
    one costs a thread switch on both sides. A progress value still waiting behind
    nothing else of its job is replaced by the next one, so a GUI thread that fell behind
    handles the latest value only. A quiet event wakes nobody: it is handled with the
    next event that does, or by the sweep, a GUI-thread timer, within ``QUIET_S``. The
    QObject is created on the GUI thread and parented to the backend, so it outlives
    every job (a QRunnable must not own it).
    """

    woken = Signal()

    def __init__(
        self,
        handle: Handler,
        busy: Callable[[], object],
        parent: QObject | None = None,
        drained: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._handle = handle
        # Called after each drain: a batch's results handled in it go out as one list.
        self._drained = drained
        self._busy = busy
        self._events: deque[_Event] = deque()
        # Per job id, its last event still queued: the one a new progress value may replace.
        self._last: dict[str, _Event] = {}
        self._lock = threading.Lock()
        self._awake = False
        self.woken.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._sweep = QTimer(self)
        self._sweep.setSingleShot(True)
        self._sweep.setInterval(round(QUIET_S * 1000))
        self._sweep.timeout.connect(self._swept)

    def post(self, job_id: str, event: int, payload: object = None, *, quiet: bool = False) -> None:
        """Queue one event for the GUI thread, waking it unless ``quiet``; from any thread."""
        with self._lock:
            last = self._last.get(job_id)
            if last is not None and last.event == event and event in COALESCED:
                last.payload = payload
                return
            entry = _Event(job_id, event, payload)
            self._events.append(entry)
            self._last[job_id] = entry
            if quiet:
                return
            wake, self._awake = not self._awake, True
        if wake:
            self.woken.emit()

    def watch(self) -> None:
        """Sweep quiet events up every ``QUIET_S`` while ``busy()``; call on the GUI thread."""
        if not self._sweep.isActive():
            self._sweep.start()

    def drain(self, budget_s: float | None = None) -> bool:
        """Handle queued events here, for at most ``budget_s``; return True if none are left."""
        # Under the lock: a post's test-and-set of the flag in between would leave it set
        # with no drain coming, and every later post would skip its wake.
        with self._lock:
            self._awake = False
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        try:
            while (entry := self._next()) is not None:
                self._handle(entry.job_id, entry.event, entry.payload)
                if deadline is not None and time.perf_counter() > deadline:
                    return not self._events
            return True
        finally:
            if self._drained is not None:
                self._drained()

    def _next(self) -> _Event | None:
        with self._lock:
            if not self._events:
                return None
            entry = self._events.popleft()
            if self._last.get(entry.job_id) is entry:
                del self._last[entry.job_id]
            return entry

    @Slot()
    def _drain(self) -> None:
        if not self.drain(DRAIN_BUDGET_S):
            # Yield to timers and input, then go on.
            with self._lock:
                self._awake = True
            self.woken.emit()

    @Slot()
    def _swept(self) -> None:
        self._drain()
        if self._busy():
            self._sweep.start()
