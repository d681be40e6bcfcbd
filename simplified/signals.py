"""The signals object of one job: a QObject owned by the GUI side that outlives its runnable."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

__all__ = ["JobSignals"]


class JobSignals(QObject):
    """Carry one job's events from a pool thread to the GUI thread.

    A QRunnable cannot own this object safely: if the pool deletes the runnable
    while a queued emission is still pending, the receiver sees a dead sender.
    The backend creates it on the GUI thread, parents it, and deletes it only
    after the job's terminal event has been handled.
    """

    progressed = Signal(str, object)
    batch_progressed = Signal(str, int, int, str)
    partial_delivered = Signal(str, object)
    finished = Signal(str, object)
    failed = Signal(str, str)
    canceled = Signal(str)
