"""Record what a JobService reports, per job, from its public signals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LONG_LIMIT", "JobLog", "is_pool_progress"]

LONG_LIMIT = 2_000_000_000
"""A prime limit that takes about a minute to count: a job that only a cancel ends quickly."""


def is_pool_progress(payload: object) -> bool:
    """Return True for a progress value that count_primes reported (it names its count)."""
    return "primes below" in str(getattr(payload, "status_message", ""))


class JobLog:
    """Collect a service's job signals as (event, job_id, payload) tuples, in arrival order."""

    def __init__(self, service: Any) -> None:
        self.events: list[tuple[str, str, object]] = []
        service.job_started.connect(self._recorder("started"))
        service.job_progressed.connect(self._recorder("progressed"))
        service.job_finished.connect(self._recorder("finished"))
        service.job_failed.connect(self._recorder("failed"))
        service.job_canceled.connect(self._recorder("canceled"))

    def _recorder(self, event: str) -> Callable[..., None]:
        def record(_kind: str, job_id: str, payload: object = None) -> None:
            self.events.append((event, job_id, payload))

        return record

    def of(self, job_id: str, *events: str) -> list[object]:
        """Return the payloads of ``job_id``'s events of the given names."""
        return [p for event, jid, p in self.events if jid == job_id and event in events]

    def terminals(self, job_id: str) -> list[str]:
        """Return the names of ``job_id``'s terminal events."""
        terminal = ("finished", "failed", "canceled")
        return [event for event, jid, _ in self.events if jid == job_id and event in terminal]
