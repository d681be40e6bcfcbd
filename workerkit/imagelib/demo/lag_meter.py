"""Event-loop lag: how late a 50 ms heartbeat timer fires on the GUI thread."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal, Slot

__all__ = ["HEARTBEAT_MS", "WINDOW_MS", "EventLoopLagMeter"]

HEARTBEAT_MS = 50
WINDOW_MS = 1000


class EventLoopLagMeter(QObject):
    """Measure the GUI event loop's lag as the lateness of a heartbeat, max over the last second.

    A timer's timeout is an event like any other: while a slot or a blocking call
    holds the GUI thread, the heartbeat waits, and its lateness is the stall.
    """

    measured = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)
        self._clock = QElapsedTimer()
        self._last_ms = 0
        self._samples: deque[tuple[int, int]] = deque()
        self.beats = 0

    @property
    def max_lag_ms(self) -> float:
        """Return the largest lateness seen in the last second, in milliseconds."""
        return float(max((late for _, late in self._samples), default=0))

    def start(self) -> None:
        """Start the heartbeat; the first lateness is measured one interval from now."""
        self._clock.start()
        self._last_ms = 0
        self._samples.clear()
        self._timer.start()

    def stop(self) -> None:
        """Stop the heartbeat."""
        self._timer.stop()

    @Slot()
    def _beat(self) -> None:
        now = self._clock.elapsed()
        lateness = max(0, now - self._last_ms - HEARTBEAT_MS)
        self._last_ms = now
        self._samples.append((now, lateness))
        while self._samples and self._samples[0][0] < now - WINDOW_MS:
            self._samples.popleft()
        self.beats += 1
        self.measured.emit(self.max_lag_ms)
