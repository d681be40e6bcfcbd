"""The signals object of a backend's jobs: one QObject, owned on the GUI side, for every job."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

__all__ = ["CANCELED", "FAILED", "FINISHED", "JobSignals"]

FINISHED, FAILED, CANCELED = 0, 1, 2


class JobSignals(QObject):
    """Carry every job's events from pool threads to the GUI thread, keyed by job id.

    A QRunnable cannot own its signals object safely: if the pool deletes the runnable
    while a queued emission is still pending, the receiver sees a dead sender. One
    object per backend, created on the GUI thread and parented to the backend, outlives
    every job, and costs no QObject and no connections per job.
    """

    progressed = Signal(str, object)
    batch_progressed = Signal(str, int, int, str)
    partial_delivered = Signal(str, object)
    # (job id, FINISHED | FAILED | CANCELED, result or error message or None)
    ended = Signal(str, int, object)
