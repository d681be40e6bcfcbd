"""Many jobs of one kind as one call: what ``JobService.map`` and ``starmap`` return.

A batch's items are fed to the stack lazily, so neither submission nor delivery holds
the GUI thread for more than a frame, and memory holds only the items in flight plus the
results not yet delivered (``max_pending`` at most). On the simplified stack a few pool
runners pull the items; on any other stack the service starts one job per item, a
window at a time, as the app would have written it. The batch's signals are the same on
both: results arrive in lists, one per delivery, in the order the items ended.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal, SignalInstance

from workerkit._errors import JobCanceled, JobPending
from workerkit._job import JobState, wait_until

if TYPE_CHECKING:
    from workerkit._progress import WorkerProgress
    from workerkit._service import JobService

__all__ = ["Batch", "BatchSummary"]

R = TypeVar("R")


@dataclasses.dataclass(frozen=True, slots=True)
class BatchSummary:
    """How a batch's items ended: the finished and failed counts."""

    finished: int
    failed: int


class _BatchEvents(QObject):
    """One batch's signals, emitted on the GUI thread."""

    progressed = Signal(object)
    results_delivered = Signal(object)
    item_failed = Signal(int, object)
    finished = Signal(object)
    failed = Signal(object)
    canceled = Signal()


class Batch(Generic[R]):
    """Items of one kind submitted as one call: counts, state, ``cancel()`` and signals.

    ``results_delivered`` carries a list of ``(index, result)`` pairs (index: the item's
    position in the iterable), one list per delivery; ``item_failed`` an item's index
    and exception; ``progressed`` a WorkerProgress of items done out of the total (when
    the iterable has a length); exactly one of ``finished`` (a BatchSummary), ``failed``
    (the exception the iterable raised) and ``canceled`` ends it. The batch keeps no
    result: connect ``results_delivered`` before control returns to the event loop.
    """

    __slots__ = (
        "__weakref__",
        "_events",
        "_outcome",
        "_service",
        "_state",
        "done_count",
        "failed_count",
        "id",
        "kind",
        "total",
    )

    def __init__(self, service: JobService, kind: str, total: int | None) -> None:
        """Make the handle of a batch of ``kind`` with ``total`` items (None: unknown)."""
        self.id = ""
        self.kind = kind
        self.total = total
        self.done_count = 0
        self.failed_count = 0
        self._service = weakref.ref(service)
        self._state = JobState.RUNNING
        self._outcome: object = None
        # One QObject a batch (not a job): owned by the service, deleted at the end.
        self._events: _BatchEvents | None = _BatchEvents(service)
        service._handle_listens(True)

    def __repr__(self) -> str:
        return (
            f"Batch({self.id!r}, kind={self.kind!r}, state={self._state.value}, "
            f"done={self.done_count}/{self.total if self.total is not None else '?'})"
        )

    @property
    def state(self) -> JobState:
        """Return where the batch is: running, finished, failed or canceled."""
        return self._state

    @property
    def done(self) -> bool:
        """Return True once the batch has ended, however it ended."""
        return self._state is not JobState.RUNNING

    def summary(self) -> BatchSummary:
        """Return the finished and failed counts of a finished batch.

        Raises:
            JobPending: The batch has not ended yet.
            JobCanceled: The batch was canceled.
            BaseException: The exception the batch's iterable raised, raised again.
        """
        if self._state is JobState.FINISHED:
            return self._outcome  # type: ignore[return-value]
        if self._state is JobState.FAILED:
            raise self._outcome  # type: ignore[misc]
        if self._state is JobState.CANCELED:
            raise JobCanceled()
        raise JobPending(f"Batch {self.id} ({self.kind}) has not ended yet.")

    def cancel(self) -> bool:
        """Stop feeding items and ask those in flight to stop; return at once."""
        service = self._service()
        return service is not None and service.cancel(self.id)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Run the event loop until the batch ends or ``timeout_ms`` passed; True if it ended."""
        return wait_until(lambda: self.done, timeout_ms)

    # --- signals ---------------------------------------------------------------------------

    @property
    def results_delivered(self) -> SignalInstance:
        """Results arrived: a list of ``(index, result)`` pairs."""
        return self._signals().results_delivered

    @property
    def item_failed(self) -> SignalInstance:
        """An item failed: its index and its exception."""
        return self._signals().item_failed

    @property
    def progressed(self) -> SignalInstance:
        """Items ended: a WorkerProgress counting them."""
        return self._signals().progressed

    @property
    def finished(self) -> SignalInstance:
        """Every item ended: a BatchSummary."""
        return self._signals().finished

    @property
    def failed(self) -> SignalInstance:
        """The batch's iterable raised: the exception."""
        return self._signals().failed

    @property
    def canceled(self) -> SignalInstance:
        """The batch was canceled."""
        return self._signals().canceled

    def _signals(self) -> _BatchEvents:
        if self._events is None:
            raise RuntimeError(
                f"Batch {self.id} has ended and its signals are gone; connect while it runs "
                "(or read its state and summary())."
            )
        return self._events

    # --- called by the stack or the service, on the GUI thread ----------------------------

    def _bind(self, batch_id: str) -> None:
        self.id = batch_id

    def _results(self, results: list[tuple[int, Any]]) -> None:
        self.done_count += len(results)
        if self._events is not None:
            self._events.results_delivered.emit(results)

    def _item_failed(self, index: int, error: BaseException) -> None:
        self.done_count += 1
        self.failed_count += 1
        if self._events is not None:
            self._events.item_failed.emit(index, error)

    def _progressed(self, progress: WorkerProgress) -> None:
        if self._events is not None:
            self._events.progressed.emit(progress)

    def _partial(self, payload: object) -> None:
        """Ignore: a batch's items deliver results, not partials."""

    def _end(self, state: JobState, outcome: object) -> None:
        self._state, self._outcome = state, outcome
        events, self._events = self._events, None
        if events is None:
            return
        service = self._service()
        if service is not None:
            service._handle_listens(False)
        if state is JobState.FINISHED:
            events.finished.emit(outcome)
        elif state is JobState.FAILED:
            events.failed.emit(outcome)
        else:
            events.canceled.emit()
        events.deleteLater()
