"""Wait on the GUI thread for one job's terminal event, with a bounded event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QEventLoop, QObject, QTimer

if TYPE_CHECKING:
    from workerkit.imagelib.service import WorkerService

__all__ = ["JobOutcome", "JobTimeoutError", "wait_for_job"]


class JobTimeoutError(TimeoutError):
    """Raised when a job sends no terminal event in time."""


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """Hold how a job ended: its terminal event and its payload."""

    job_id: str
    event: Literal["finished", "failed", "canceled"]
    payload: object = None


def wait_for_job(service: WorkerService, job_id: str, timeout_s: float = 60.0) -> JobOutcome:
    """Run an event loop until ``job_id`` finishes, fails or is canceled; return how it ended."""
    outcomes: list[JobOutcome] = []
    guard = QObject()
    loop = QEventLoop(guard)
    timer = QTimer(guard)
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)

    def record(event: Literal["finished", "failed", "canceled"], jid: str, payload: object) -> None:
        if jid == job_id and not outcomes:
            outcomes.append(JobOutcome(jid, event, payload))
            loop.quit()

    connections = [
        (service.job_finished, lambda jid, r: record("finished", jid, r)),
        (service.job_failed, lambda jid, m: record("failed", jid, m)),
        (service.job_canceled, lambda jid: record("canceled", jid, None)),
    ]
    for signal, slot in connections:
        signal.connect(slot)
    try:
        timer.start(int(timeout_s * 1000))
        loop.exec()
    finally:
        for signal, slot in connections:
            signal.disconnect(slot)
        timer.stop()
    if not outcomes:
        raise JobTimeoutError(
            f"Job {job_id} sent no finished, failed or canceled event within {timeout_s:.0f} s."
        )
    return outcomes[0]
