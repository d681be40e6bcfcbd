"""The live indicators panel: GUI event-loop lag, OS thread count and active jobs."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from workerkit.imagelib.demo.lag_meter import EventLoopLagMeter
from workerkit.imagelib.demo.thread_count import os_thread_count

__all__ = ["THREAD_POLL_MS", "IndicatorPanel"]

THREAD_POLL_MS = 500
# Above these the lag label turns amber, then red: a 100 ms stall is visible to a user.
_NOTICEABLE_MS = 30
_BAD_MS = 100


class IndicatorPanel(QGroupBox):
    """Show the event-loop lag (max over the last second) and the OS thread count, live."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Live indicators", parent)
        self.lag_meter = EventLoopLagMeter(self)
        self.lag_label = QLabel("–", self)
        self.threads_label = QLabel("–", self)
        self.jobs_label = QLabel("0", self)
        self.thread_count = 0
        self._poll = QTimer(self)
        self._poll.setInterval(THREAD_POLL_MS)
        self._poll.timeout.connect(self._count_threads)
        self.lag_meter.measured.connect(self._show_lag)
        layout = QFormLayout(self)
        layout.addRow("GUI lag (max 1 s):", self.lag_label)
        layout.addRow("OS threads:", self.threads_label)
        layout.addRow("Active jobs:", self.jobs_label)

    def start(self) -> None:
        """Start measuring."""
        self.lag_meter.start()
        self._poll.start()
        self._count_threads()

    def stop(self) -> None:
        """Stop measuring."""
        self.lag_meter.stop()
        self._poll.stop()

    @Slot(int)
    def show_active_jobs(self, count: int) -> None:
        """Show how many jobs the service counts as active (legacy keeps canceled ones, D1)."""
        self.jobs_label.setText(str(count))

    @Slot(float)
    def _show_lag(self, lag_ms: float) -> None:
        colour = "#b00020" if lag_ms >= _BAD_MS else "#b36b00" if lag_ms >= _NOTICEABLE_MS else ""
        self.lag_label.setStyleSheet(f"color: {colour}; font-weight: bold;" if colour else "")
        self.lag_label.setText(f"{lag_ms:.0f} ms")

    @Slot()
    def _count_threads(self) -> None:
        self.thread_count = os_thread_count()
        self.threads_label.setText(str(self.thread_count))
