"""Record every event of a JobService from a directly connected slot, with its thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from workerkit._service import JobService

__all__ = ["JOB_SIGNALS", "TERMINAL", "Event", "EventLog"]

JOB_SIGNALS = (
    "job_started",
    "job_progressed",
    "job_batch_progressed",
    "partial_delivered",
    "job_finished",
    "job_failed",
    "job_canceled",
)
TERMINAL = frozenset({"job_finished", "job_failed", "job_canceled"})


# eq=False: events are told apart by identity; their payloads need not compare.
@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """One signal the service emitted: its name, kind, job id, payload and thread."""

    name: str
    kind: str
    job_id: str
    payload: tuple[Any, ...]
    thread: threading.Thread
    at: float

    @property
    def on_gui_thread(self) -> bool:
        """Return True if the slot saw this event on the GUI (main) thread."""
        return self.thread is threading.main_thread()

    def brief(self) -> str:
        """Return a short text for assertion messages."""
        shown = [p if isinstance(p, str | int) else type(p).__name__ for p in self.payload]
        return f"{self.name}({', '.join(map(str, shown))})"


class EventLog:
    """Keep every job event, the count events and the shadow comparisons of one service."""

    def __init__(self, service: JobService) -> None:
        self.events: list[Event] = []
        self.counts: list[int] = []
        # When each all_jobs_finished came (perf_counter, like Event.at).
        self.all_finished_at: list[float] = []
        self.shadow_records: list[dict[str, Any]] = []
        # Direct: a plain callable connected from the GUI thread would otherwise be queued
        # to it, hiding the thread the service really emitted on.
        for name in JOB_SIGNALS:
            getattr(service, name).connect(self._recorder(name), Qt.ConnectionType.DirectConnection)
        service.active_count_changed.connect(self.counts.append)
        service.all_jobs_finished.connect(self._on_all_finished)
        service.shadow_compared.connect(self.shadow_records.append)

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(kind: str, job_id: str, *payload: Any) -> None:
            now = time.perf_counter()
            self.events.append(
                Event(name, str(kind), job_id, payload, threading.current_thread(), now)
            )

        return record

    def _on_all_finished(self) -> None:
        self.all_finished_at.append(time.perf_counter())

    @property
    def all_finished(self) -> int:
        """Return how many times the service sent all_jobs_finished."""
        return len(self.all_finished_at)

    def of(self, job_id: str) -> list[Event]:
        """Return the events of ``job_id`` in arrival order."""
        return [e for e in self.events if e.job_id == job_id]

    def terminal(self, job_id: str) -> list[Event]:
        """Return the terminal events (finished, failed, canceled) of ``job_id``."""
        return [e for e in self.of(job_id) if e.name in TERMINAL]

    def after_terminal(self, job_id: str) -> list[Event]:
        """Return the events of ``job_id`` that came after its first terminal event."""
        events = self.of(job_id)
        firsts = [i for i, e in enumerate(events) if e.name in TERMINAL]
        return events[firsts[0] + 1 :] if firsts else []

    def percentages(self, job_id: str) -> list[int]:
        """Return the job's progress percentages (WorkerProgress or a bare number)."""
        values = []
        for event in self.of(job_id):
            if event.name == "job_progressed":
                value = getattr(event.payload[0], "percentage", event.payload[0])
                if isinstance(value, int | float):
                    values.append(int(value))
        return values

    def story(self, job_id: str) -> str:
        """Return the job's events as text, for an assertion message."""
        shown = [e.brief() for e in self.of(job_id)]
        if len(shown) > 30:
            shown = [*shown[:12], f"... {len(shown) - 24} more ...", *shown[-12:]]
        return f"{job_id}: " + "; ".join(shown)
