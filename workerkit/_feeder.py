"""A batch on a stack without a bulk path: one job per item, a window at a time."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Slot

from workerkit._batch import Batch, BatchSummary
from workerkit._job import JobState
from workerkit._progress import WorkerProgress

if TYPE_CHECKING:
    from workerkit._kind import WorkerKind
    from workerkit._service import JobService

__all__ = ["Feeder"]

# One turn of refilling stops after this long and goes on in the next turn, so a stack that
# refuses every start (each refusal is an item failure) cannot hold the GUI thread.
TURN_BUDGET_S = 0.008


class Feeder(QObject):
    """Start a batch's items as jobs through the service, ``window`` in flight at most.

    This is what an app writes by hand on its legacy stack: start a few, start the next
    as each one ends. The items are read as jobs end, so memory holds the window and the
    results of the current event-loop turn; results are delivered once per turn.
    """

    def __init__(
        self,
        service: JobService,
        kind: WorkerKind[Any, Any],
        items: Iterable[tuple[Any, ...]],
        batch: Batch[Any],
        window: int,
    ) -> None:
        super().__init__(service)
        self._service = service
        self._kind = kind
        self._items: Iterator[tuple[int, tuple[Any, ...]]] = enumerate(items)
        self._batch = batch
        self._window = max(1, window)
        self._running: dict[str, int] = {}
        self._results: list[tuple[int, Any]] = []
        self._exhausted = False
        self._canceled = False
        self._error: BaseException | None = None
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._flushed)
        service.job_finished.connect(self._on_finished)
        service.job_failed.connect(self._on_failed)
        service.job_canceled.connect(self._on_canceled)

    def begin(self) -> None:
        """Start feeding in the next event-loop turn (map() itself starts nothing)."""
        self._flush.start()

    def cancel(self) -> bool:
        """Start no more items and ask the running ones to stop; False once over."""
        if self._canceled or self._batch.done:
            return False
        self._canceled = True
        self._results.clear()
        for job_id in list(self._running):
            self._service.cancel(job_id)
        self._flush.start()
        return True

    # --- items ending (service-wide signals, GUI thread) ----------------------------------

    @Slot(str, str, object)
    def _on_finished(self, _kind: str, job_id: str, result: object) -> None:
        index = self._running.pop(job_id, None)
        if index is not None and not self._canceled:  # nothing arrives after cancel()
            self._results.append((index, result))
        if index is not None:
            self._flush.start()

    @Slot(str, str, object)
    def _on_failed(self, _kind: str, job_id: str, error: object) -> None:
        index = self._running.pop(job_id, None)
        if index is not None and not self._canceled:
            self._deliver()  # results before this failure keep their order
            self._batch._item_failed(index, error)  # type: ignore[arg-type]
        if index is not None:
            self._flush.start()

    @Slot(str, str)
    def _on_canceled(self, _kind: str, job_id: str) -> None:
        if self._running.pop(job_id, None) is not None:
            self._flush.start()

    # --- one turn: deliver, refill, maybe end ----------------------------------------------

    @Slot()
    def _flushed(self) -> None:
        self._deliver()
        self._refill()
        if not self._running and (self._exhausted or self._canceled):
            self._end()

    def _deliver(self) -> None:
        """Deliver the results gathered so far (never ends the batch: a failure may follow)."""
        results, self._results = self._results, []
        if results:
            self._batch._results(results)
            self._report_progress()

    def _refill(self) -> None:
        deadline = time.perf_counter() + TURN_BUDGET_S
        while not (self._canceled or self._exhausted) and len(self._running) < self._window:
            if time.perf_counter() > deadline:
                self._flush.start()  # go on in the next turn, after other events
                return
            try:
                index, args = next(self._items)
            except StopIteration:
                self._exhausted = True
            except Exception as exc:  # the caller's iterable raised: the batch fails with it
                self._error, self._exhausted = exc, True
            else:
                self._start(index, args)

    def _start(self, index: int, args: tuple[Any, ...]) -> None:
        try:
            job = self._service.start(self._kind, *args)
        except Exception as exc:  # the stack refused this item (e.g. legacy D5): its failure
            self._batch._item_failed(index, exc)
            return
        if not job.done:
            self._running[job.id] = index
        elif job.state is JobState.FINISHED:  # ended inside start(): its signals have gone by
            self._results.append((index, job.result()))
        elif job.state is JobState.FAILED:
            self._batch._item_failed(index, job.error)  # type: ignore[arg-type]

    def _report_progress(self) -> None:
        batch = self._batch
        total = batch.total or 0
        percentage = 100 * batch.done_count // total if total else 0
        progress = WorkerProgress(
            percentage, f"{batch.done_count} done", "", batch.done_count, total
        )
        self._service._on_progressed(str(self._kind.name), batch.id, progress)

    def _end(self) -> None:
        service, batch, name = self._service, self._batch, str(self._kind.name)
        for signal, slot in (
            (service.job_finished, self._on_finished),
            (service.job_failed, self._on_failed),
            (service.job_canceled, self._on_canceled),
        ):
            signal.disconnect(slot)
        if self._canceled:
            service._on_canceled(name, batch.id)
        elif self._error is not None:
            service._on_failed(name, batch.id, self._error)
        else:
            summary = BatchSummary(batch.done_count - batch.failed_count, batch.failed_count)
            service._on_finished(name, batch.id, summary)
        self.deleteLater()
