"""The small interface each worker stack implements behind WorkerService."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from workerkit.annotators import Annotator
    from workerkit.requests import JobRequest
    from workerkit.store import ImageStore

__all__ = ["Backend", "JobContext"]


def _default_annotators() -> dict[str, Annotator]:
    from workerkit.annotators import HttpAnnotator, HttpAnnotatorConfig, LocalAnnotator

    return {"local": LocalAnnotator(), "http": HttpAnnotator(HttpAnnotatorConfig.from_env())}


@dataclass(frozen=True, slots=True)
class JobContext:
    """Hold what every job of both stacks works on: the store and the annotators."""

    store: ImageStore
    annotators: Mapping[str, Annotator] = field(default_factory=_default_annotators)
    max_threads: int | None = None

    def annotator(self, name: str) -> Annotator:
        """Return the annotator called ``name`` or raise a ValueError naming the known ones."""
        try:
            return self.annotators[name]
        except KeyError:
            known = ", ".join(sorted(self.annotators))
            raise ValueError(f"Unknown annotator {name!r}: expected one of {known}.") from None


class Backend(QObject):
    """Run jobs on one stack and report their events on the GUI thread.

    Every job id starts with its kind's prefix (``Kind.of_job`` reads it back),
    so the service needs no table of its own to route events.
    """

    name: ClassVar[str] = ""

    job_started = Signal(str)
    job_progressed = Signal(str, object)
    job_batch_progressed = Signal(str, int, int, str)
    job_finished = Signal(str, object)
    job_failed = Signal(str, str)
    job_canceled = Signal(str)
    thumbnails_loaded = Signal(str, object)
    active_count_changed = Signal(int)

    def __init__(self, context: JobContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context

    def start(self, request: JobRequest) -> str:
        """Start a job for ``request`` and return its id; raise RuntimeError if refused."""
        raise NotImplementedError(f"{type(self).__name__} must implement start().")

    def cancel(self, job_id: str) -> bool:
        """Ask the job to stop; return False if no such job is active."""
        raise NotImplementedError(f"{type(self).__name__} must implement cancel().")

    def active_job_ids(self) -> list[str]:
        """Return the ids of jobs this stack still counts as active."""
        raise NotImplementedError(f"{type(self).__name__} must implement active_job_ids().")

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Block until every job has ended or ``timeout_ms`` passed; return True if all ended."""
        raise NotImplementedError(f"{type(self).__name__} must implement wait_for_all().")

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job and wait up to ``timeout_ms``; return True if all ended."""
        raise NotImplementedError(f"{type(self).__name__} must implement shutdown().")

    def summary(self) -> dict[str, Any]:
        """Return a JSON-friendly description of the active jobs."""
        raise NotImplementedError(f"{type(self).__name__} must implement summary().")

    def is_active(self, job_id: str) -> bool:
        """Return True if ``job_id`` is one of this stack's active jobs."""
        return job_id in self.active_job_ids()

    def active_count(self) -> int:
        """Return how many jobs this stack counts as active."""
        return len(self.active_job_ids())


BackendFactory = Callable[[JobContext, QObject | None], Backend]
