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
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal, SignalInstance

from workerkit._job import JobState, _Handle, emit_end

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


class Batch(_Handle, Generic[R]):
    """Items of one kind submitted as one call: counts, state, ``cancel()`` and signals.

    ``results_delivered`` carries a list of ``(index, result)`` pairs (index: the item's
    position in the iterable), one list per delivery; ``item_failed`` an item's index
    and exception; ``progressed`` a WorkerProgress of items done out of the total (when
    the iterable has a length); exactly one of ``finished`` (a BatchSummary), ``failed``
    (the exception the iterable raised) and ``canceled`` ends it. ``cancel()`` stops
    feeding items and asks those in flight to stop, at once. The batch keeps no
    result: connect ``results_delivered`` before control returns to the event loop.
    """

    __slots__ = ("_events", "done_count", "failed_count", "total")

    def __init__(self, service: JobService, kind: str, total: int | None) -> None:
        """Make the handle of a batch of ``kind`` with ``total`` items (None: unknown)."""
        super().__init__(service, "", kind)  # its id once a stack or the service made one
        self.total = total
        self.done_count = 0
        self.failed_count = 0
        # One QObject a batch (not a job): owned by the service, deleted at the end.
        self._events: _BatchEvents | None = _BatchEvents(service)
        service._handle_listens(True)

    def __repr__(self) -> str:
        return (
            f"Batch({self.id!r}, kind={self.kind!r}, state={self._state.value}, "
            f"done={self.done_count}/{self.total if self.total is not None else '?'})"
        )

    def summary(self) -> BatchSummary:
        """Return the finished and failed counts of a finished batch.

        Raises:
            JobPending: The batch has not ended yet.
            JobCanceled: The batch was canceled.
            BaseException: The exception the batch's iterable raised, raised again.
        """
        pending = f"Batch {self.id} ({self.kind}) has not ended yet."
        return self._finished_outcome(pending)  # type: ignore[return-value]

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
        emit_end(events, state, outcome)
        events.deleteLater()
