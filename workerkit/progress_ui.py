"""Keep a QProgressDialog or a status-bar QProgressBar in step with one job of a JobService.

The same binding serves both stacks and every declared kind: it listens to the
service's id-carrying events (``job_progressed``, ``job_finished``, ``job_failed``,
``job_canceled``), so it never needs to know which stack runs the job. A facade that
holds its JobService as ``.jobs`` (the image library's WorkerService) binds the same way. The
legacy stack may send no terminal event for a canceled job (D2), but its
manager always emits ``worker_canceled``, which the service forwards as
``job_canceled``: closing on that event too makes the dialog close on both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QDialog, QProgressBar, QProgressDialog, QWidget

from workerkit._progress import WorkerProgress

if TYPE_CHECKING:
    from workerkit._service import JobService

__all__ = [
    "Outcome",
    "ProgressBinding",
    "bind_progress_bar",
    "bind_progress_dialog",
    "progress_label",
]

Outcome = Literal["finished", "failed", "canceled"]


def progress_label(progress: object) -> str:
    """Return the text a progress widget shows: the message, the current item and the count."""
    if not isinstance(progress, WorkerProgress):
        return f"{_percentage(progress)}%"
    text = progress.status_message
    if progress.current_item and progress.current_item not in text:
        text = f"{text}: {progress.current_item}" if text else progress.current_item
    if progress.total_count > 0:
        text = f"{text} ({progress.processed_count}/{progress.total_count})"
    return text


class ProgressBinding(QObject):
    """Show one job's progress on one widget and tidy up when the job ends.

    The binding is a child of its widget, so it lives as long as the widget
    does; every connection it makes is undone by ``release()``, which runs by
    itself on the job's first terminal event and is safe to call again. A
    long-lived widget (a status-bar bar) gets one binding per job: call
    ``deleteLater()`` on the old one when you bind the next.
    """

    # (percentage 0..100, label) after each progress value of the job.
    updated = Signal(int, str)
    # (outcome: "finished" | "failed" | "canceled", error message or ""), exactly once.
    ended = Signal(str, str)

    def __init__(self, service: Any, job_id: str, widget: QWidget) -> None:
        super().__init__(widget)
        self.service = service
        self.jobs: JobService = getattr(service, "jobs", service)
        self.job_id = job_id
        self.kind = str(self.jobs.app.of_job(job_id).name)
        self.percentage = 0
        self.label = f"{self.kind} started"
        self.outcome: Outcome | None = None
        self.cancel_requested = False
        self._connections: list[tuple[Any, Callable[..., None]]] = []

    @property
    def is_active(self) -> bool:
        """Return True until the job's first terminal event (or ``release()``)."""
        return bool(self._connections)

    def cancel(self) -> bool:
        """Ask the service to cancel the job; return False once the binding has ended."""
        if not self.is_active:
            return False
        self.cancel_requested = True
        # The legacy stack blocks here until its thread stops and emits job_canceled
        # before returning, so _end() may already have run when this call returns.
        return self.jobs.cancel(self.job_id)

    def release(self) -> None:
        """Disconnect from the service and the widget; safe to call any number of times."""
        connections, self._connections = self._connections, []
        if not shiboken6.isValid(self):
            # Deleted with its widget: Qt has already dropped every connection to it.
            return
        for signal, slot in connections:
            # The service or the widget may already be destroyed: nothing left to undo then.
            with contextlib.suppress(RuntimeError):
                signal.disconnect(slot)

    def _connect(self, signal: Any, slot: Callable[..., None]) -> None:
        signal.connect(slot)
        self._connections.append((signal, slot))

    def _attach(self) -> None:
        jobs = self.jobs
        self._connect(jobs.job_progressed, self._on_progress)
        self._connect(jobs.job_finished, self._on_finished)
        self._connect(jobs.job_failed, self._on_failed)
        self._connect(jobs.job_canceled, self._on_canceled)

    @Slot(str, str, object)
    def _on_progress(self, _kind: str, job_id: str, progress: object) -> None:
        if job_id != self.job_id:
            return
        self.percentage = max(0, min(100, _percentage(progress)))
        self.label = progress_label(progress)
        self._show(self.percentage, self.label)
        self.updated.emit(self.percentage, self.label)

    @Slot(str, str, object)
    def _on_finished(self, _kind: str, job_id: str, _result: object) -> None:
        if job_id == self.job_id:
            self._end("finished", "")

    @Slot(str, str, object)
    def _on_failed(self, _kind: str, job_id: str, error: object) -> None:
        if job_id == self.job_id:
            self._end("failed", str(error))

    @Slot(str, str)
    def _on_canceled(self, _kind: str, job_id: str) -> None:
        if job_id == self.job_id:
            self._end("canceled", "")

    def _end(self, outcome: Outcome, message: str) -> None:
        # Legacy cancels send job_canceled and then, later, job_failed: only the first counts.
        if self.outcome is not None:
            return
        self.outcome = outcome
        if outcome == "finished":
            # Not every job reports a last 100 % (simplified annotation stops at 95).
            self.percentage = 100
        self.release()
        self._close(outcome, message)
        self.ended.emit(outcome, message)

    def _show(self, percentage: int, label: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _show().")

    def _close(self, outcome: Outcome, message: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _close().")


class _DialogBinding(ProgressBinding):
    """Drive a QProgressDialog: label, value, Cancel, and one close at the end."""

    def __init__(self, service: Any, job_id: str, dialog: QProgressDialog) -> None:
        super().__init__(service, job_id, dialog)
        self.dialog = dialog

    def _attach(self) -> None:
        dialog = self.dialog
        # At the maximum an auto-reset dialog resets (and an auto-close one hides) before
        # the job has ended; the binding closes it on the terminal event instead.
        dialog.setAutoReset(False)
        dialog.setAutoClose(False)
        dialog.setRange(0, 100)
        dialog.setLabelText(self.label)
        # Value 0 (the minimum) starts the dialog's minimumDuration timer that shows it.
        dialog.setValue(0)
        super()._attach()
        self._connect(dialog.canceled, self._on_dialog_canceled)

    @Slot()
    def _on_dialog_canceled(self) -> None:
        self.cancel()

    def _show(self, percentage: int, label: str) -> None:
        # The dialog hid itself on Cancel; setValue() would show it again while the job stops.
        if self.cancel_requested or self.dialog.wasCanceled():
            return
        self.dialog.setLabelText(label)
        self.dialog.setValue(percentage)

    def _close(self, outcome: Outcome, message: str) -> None:
        dialog = self.dialog
        # reset() stops the timer that would show the dialog again after minimumDuration;
        # done() hides it without a close event, so QProgressDialog emits no canceled().
        dialog.reset()
        code = QDialog.DialogCode.Accepted if outcome == "finished" else QDialog.DialogCode.Rejected
        dialog.done(int(code.value))


class _BarBinding(ProgressBinding):
    """Drive a QProgressBar: value, text and tool tip; the final state stays visible."""

    def __init__(self, service: Any, job_id: str, bar: QProgressBar) -> None:
        super().__init__(service, job_id, bar)
        self.bar = bar

    def _attach(self) -> None:
        self.bar.setRange(0, 100)
        self._show(0, self.label)
        super()._attach()

    def _show(self, percentage: int, label: str) -> None:
        self.bar.setValue(percentage)
        self.bar.setFormat(f"{_literal_format(label)}  %p%")
        self.bar.setToolTip(label)

    def _close(self, outcome: Outcome, message: str) -> None:
        if outcome == "finished":
            self.bar.setValue(100)
        text = f"{self.kind} {outcome}" + (f": {message}" if message else "")
        self.bar.setFormat(_literal_format(text))
        self.bar.setToolTip(text)


def _percentage(progress: object) -> int:
    # WorkerProgress carries .percentage; an app's own legacy signal may carry a bare int.
    value = getattr(progress, "percentage", progress)
    return int(value) if isinstance(value, int | float) else 0


def _literal_format(text: str) -> str:
    # QProgressBar replaces %p, %v and %m in its format and has no escape for "%":
    # a zero-width space after each "%" keeps file names such as "50%pale.jpg" literal.
    return text.replace("%", "%\u200b")


def bind_progress_dialog(service: Any, job_id: str, dialog: QProgressDialog) -> ProgressBinding:
    """Show job ``job_id`` in ``dialog``; its Cancel cancels the job; close it when the job ends.

    Bind right after ``start_*()`` returns, before control goes back to the event
    loop, so no event of the job is missed. The service cannot tell whether a job
    id is still coming: a fast legacy job leaves ``is_worker_active()`` before its
    events reach the GUI thread, because the legacy manager updates its table in
    the worker thread. Use a non-modal dialog: a modal QProgressDialog runs the event loop inside
    setValue(), so the job's later events would be handled re-entrantly.
    """
    binding = _DialogBinding(service, job_id, dialog)
    binding._attach()
    return binding


def bind_progress_bar(service: Any, job_id: str, bar: QProgressBar) -> ProgressBinding:
    """Show job ``job_id`` in ``bar`` until the job ends; the bar then shows how it ended.

    Bind right after ``start_*()`` returns, as for ``bind_progress_dialog``.
    """
    binding = _BarBinding(service, job_id, bar)
    binding._attach()
    return binding
