"""How a job of the app's WorkerManager ended: one terminal event per job."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["CancelReason", "Outcome", "TerminalEvent"]


class Outcome(Enum):
    """How a job ended, as the manager saw it."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class CancelReason(Enum):
    """Why a job was asked to stop."""

    USER_REQUESTED = "user_requested"
    REPLACED = "replaced"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class TerminalEvent:
    """The one fact the manager reports when a job ends.

    ``result`` is set when it succeeded, ``error`` when it failed, ``cancel_reason``
    when someone asked it to stop (whatever its outcome).
    """

    worker_id: str
    outcome: Outcome
    result: object = None
    error: str | None = None
    cancel_reason: CancelReason | None = None
