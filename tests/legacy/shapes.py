"""QThread-era workers in the shapes real apps write, and an app declaring each as a kind.

Each worker waits on a ``threading.Event`` it is given (``gate``) where a test needs a job
held inside its work; a gate that is already set lets the job run straight through.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workerkit import App, LegacyWorker, WorkerKind
from workerkit._kind import INTERRUPT

# The longest a held worker waits for its gate before it gives up on the test.
GATE_S = 30.0


def _open_gate() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate


class ResultWorker(QObject):
    """The classic shape: ``finished(object)`` with the result, ``error_occurred(str)``."""

    finished = Signal(object)
    error_occurred = Signal(str)
    progress_updated = Signal(int)
    partial_ready = Signal(object)
    # A weak reference to every worker made, for the leak test.
    made: ClassVar[list[weakref.ref[ResultWorker]]] = []

    def __init__(
        self,
        value: Any,
        gate: threading.Event | None = None,
        done: threading.Event | None = None,
    ) -> None:
        super().__init__()
        ResultWorker.made.append(weakref.ref(self))
        self.value = value
        self.gate = gate or _open_gate()
        self.done = done or threading.Event()
        self.stop = threading.Event()

    def cancel(self) -> None:
        """Ask the loop to stop."""
        self.stop.set()

    @Slot()
    def run(self) -> None:
        """Report 50 %, a partial, wait for the gate, then send the value or the failure.

        Sets ``done`` once its last signal is sent.
        """
        self.progress_updated.emit(50)
        self.partial_ready.emit(f"partial of {self.value}")
        self.gate.wait(GATE_S)
        if self.stop.is_set():
            self.error_occurred.emit("stopped on request")
        elif isinstance(self.value, Exception):
            self.error_occurred.emit(f"failed: {self.value}")
        else:
            self.progress_updated.emit(100)
            self.finished.emit(self.value)
        self.done.set()


class CanceledSignalWorker(QObject):
    """A worker with a ``canceled`` signal of its own, and ``status_changed`` beside it."""

    finished = Signal(object)
    canceled = Signal()
    status_changed = Signal(str)

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.gate = gate or _open_gate()
        self.stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the worker to stop; it says so with ``canceled``."""
        self.stop.set()
        self.gate.set()

    @Slot()
    def run(self) -> None:
        """Wait for the gate; send ``canceled`` if asked to stop, else ``finished``."""
        self.status_changed.emit("running")
        self.gate.wait(GATE_S)
        if self.stop.is_set():
            self.status_changed.emit("canceled")
            self.canceled.emit()
        else:
            self.finished.emit("done")


class ErrorInResultWorker(QObject):
    """LoRAIro 2025-07's BaseWorker: ``finished(object)`` carries the result or an Exception."""

    finished = Signal(object)

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    @Slot()
    def run(self) -> None:
        """Send the value, or a ValueError in its place when the value is negative."""
        self.finished.emit(ValueError(f"negative: {self.value}") if self.value < 0 else self.value)


class ErrorTextWorker(QThread):
    """A QThread subclass that folds errors into its result string."""

    result_ready = Signal(str)

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def run(self) -> None:
        """Send "Error: ..." for an empty text, else the text upper-cased."""
        self.result_ready.emit("Error: empty input" if not self.text else self.text.upper())


class ResultThenFinishedWorker(QObject):
    """A worker whose result travels on its own signal, before a no-argument ``finished``."""

    result_ready = Signal(object)
    finished = Signal()

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    @Slot()
    def process(self) -> None:
        """The run slot under another name: send the result, then finished()."""
        self.result_ready.emit(self.value * 2)
        self.finished.emit()


class InterruptibleWorker(QObject):
    """A worker with no cancel method: it polls ``QThread.isInterruptionRequested()``."""

    finished = Signal(object)

    def __init__(self, started: threading.Event | None = None) -> None:
        super().__init__()
        self.started = started or threading.Event()

    @Slot()
    def run(self) -> None:
        """Count until the thread is asked to stop (or a long time has passed)."""
        thread = QThread.currentThread()
        self.started.set()
        count = 0
        pause = threading.Event()
        while not thread.isInterruptionRequested() and count < 30_000:
            count += 1
            pause.wait(0.001)
        self.finished.emit(count)


class RaisingWorker(QObject):
    """A worker whose run slot raises instead of sending an error signal."""

    finished = Signal(object)

    @Slot()
    def run(self) -> None:
        """Raise a KeyError."""
        raise KeyError("missing")


class ReturningWorker(QObject):
    """A worker whose named run method returns its result (LoRAIro's ``execute``)."""

    finished = Signal(object)

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = value

    def execute(self) -> int:
        """Return the value squared."""
        return self.value * self.value


class SilentWorker(QObject):
    """A worker that stops on cancel without any signal (LoRAIro's 2025 base on a cancel)."""

    finished = Signal(object)

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate
        self.stop = threading.Event()

    def cancel(self) -> None:
        """Set the flag; the worker returns without a signal."""
        self.stop.set()

    @Slot()
    def run(self) -> None:
        """Wait for the gate, then send a result unless canceled."""
        self.gate.wait(GATE_S)
        if not self.stop.is_set():
            self.finished.emit("done")


def _negative_error(result: Any) -> BaseException | None:
    return result if isinstance(result, Exception) else None


def _error_text(result: str) -> str | None:
    return result if result.startswith("Error:") else None


def _unused(control: Any, *args: Any) -> None:
    """The simplified side, which these tests do not run."""


result_kind = WorkerKind(
    name="result",
    legacy=LegacyWorker(
        ResultWorker, progress="progress_updated", partial="partial_ready", cancel="cancel"
    ),
    simplified=_unused,
)
canceled_kind = WorkerKind(
    name="own_canceled",
    legacy=LegacyWorker(
        CanceledSignalWorker, error=None, canceled="canceled", cancel="request_stop"
    ),
    simplified=_unused,
)
error_in_result_kind = WorkerKind(
    name="error_in_result",
    legacy=LegacyWorker(
        ErrorInResultWorker, error=None, cancel=None, error_of_result=_negative_error
    ),
    simplified=_unused,
)
error_text_kind = WorkerKind(
    name="error_text",
    legacy=LegacyWorker(
        ErrorTextWorker,
        finished="result_ready",
        error=None,
        cancel=None,
        error_of_result=_error_text,
    ),
    simplified=_unused,
)
result_signal_kind = WorkerKind(
    name="two_signals",
    legacy=LegacyWorker(
        ResultThenFinishedWorker,
        run="process",
        result="result_ready",
        error=None,
        cancel=None,
    ),
    simplified=_unused,
)
interrupt_kind = WorkerKind(
    name="interrupt",
    legacy=LegacyWorker(InterruptibleWorker, error=None, cancel=INTERRUPT),
    simplified=_unused,
)
raising_kind = WorkerKind(
    name="raising",
    legacy=LegacyWorker(RaisingWorker, error=None, cancel=None),
    simplified=_unused,
)
returning_kind = WorkerKind(
    name="returning",
    legacy=LegacyWorker(ReturningWorker, run="execute", error=None, cancel=None),
    simplified=_unused,
)
silent_kind = WorkerKind(
    name="silent",
    legacy=LegacyWorker(SilentWorker, error=None),
    simplified=_unused,
)
latest_kind = WorkerKind(
    name="latest",
    legacy=LegacyWorker(ResultWorker, partial="partial_ready"),
    simplified=_unused,
    latest_wins=True,
)
writing_kind = WorkerKind(
    name="writing",
    legacy=LegacyWorker(ResultWorker, progress="progress_updated"),
    simplified=_unused,
    writes=True,
)

app = App(
    "worker shapes",
    [
        result_kind,
        canceled_kind,
        error_in_result_kind,
        error_text_kind,
        result_signal_kind,
        interrupt_kind,
        raising_kind,
        returning_kind,
        silent_kind,
        writing_kind,
        latest_kind,
    ],
)
