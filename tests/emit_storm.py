"""Measure True's refcount across plain emits, then run a storm of 20,000 queued signals.

Run by tests/test_pyside_pin.py in a subprocess, because the bug it guards against
aborts the interpreter instead of raising: PySide6 6.12.0 on CPython 3.11 drops one
reference of True on every Python-side ``emit()``, whatever the signal carries and
whether or not anything is connected, until "Fatal Python error: bool_dealloc".

Prints JSON lines, flushed as they are made so that they survive a later abort:

* ``{"pyside6": ..., "python": ...}``: the versions this interpreter runs;
* ``{"shape": ..., "emits": N, "before": ..., "after": ...}``: True's refcount before
  and after N emits on the main thread, one line per shape: a signal with no argument
  and no receiver, an int to a connected slot, True to a connected slot. Each shape
  takes fewer emits than True has references, so a bad build reports all three;
* ``{"received": ..., "trues": ..., "true_refcount_before": ..., ...}``: the storm, with
  half of its 20,000 signals bools, emitted from a worker thread and counted on the main
  thread.

Exits 0 only when every storm signal arrived. On CPython 3.12+ True is immortal and its
refcount never moves, so only a 3.11 run can show the drop.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
from collections.abc import Callable
from typing import Any

import PySide6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal, Slot

TOTAL = 20_000
SHAPE_EMITS = 100
WATCHDOG_MS = 45_000
EXIT_SHORT = 1
EXIT_STUCK = 2


class Emitter(QObject):
    """Carry the signals the worker thread emits."""

    flagged = Signal(bool)
    numbered = Signal(int, str)
    stopped = Signal(int)


class Shapes(QObject):
    """Carry one signal of each shape the refcount measurement emits."""

    bare = Signal()
    number = Signal(int)
    flag = Signal(bool)


class Sink(QObject):
    """Receive the measured signals on the main thread (direct connections)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    @Slot(int)
    def on_number(self, value: int) -> None:
        """Add an int."""
        self.total += value

    @Slot(bool)
    def on_flag(self, value: bool) -> None:
        """Count a bool."""
        self.total += value


class Receiver(QObject):
    """Count signals on the main thread and end the event loop when all arrived."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__()
        self.app = app
        self.received = 0
        self.trues = 0

    @Slot(bool)
    def on_flagged(self, value: bool) -> None:
        """Count a bool signal."""
        self.trues += value is True
        self.count()

    @Slot(int, str)
    def on_numbered(self, number: int, text: str) -> None:
        """Count an (int, str) signal after checking its payload survived the queue."""
        if text != str(number):
            print(f"payload mismatch: {number} != {text!r}", file=sys.stderr)
            self.app.exit(EXIT_SHORT)
        self.count()

    @Slot(int)
    def on_stopped(self, sent: int) -> None:
        """Fail fast when the worker ended before sending everything."""
        # Queued events keep their order, so every earlier emit has been counted by now.
        if self.received < TOTAL:
            print(f"worker stopped after {sent} emits; {self.received} received", file=sys.stderr)
            self.app.exit(EXIT_SHORT)

    def count(self) -> None:
        """Add one and quit once all signals arrived."""
        self.received += 1
        if self.received == TOTAL:
            self.app.quit()

    @Slot()
    def on_watchdog(self) -> None:
        """Give up when the signals stop arriving."""
        print(f"watchdog: only {self.received} of {TOTAL} received", file=sys.stderr)
        self.app.exit(EXIT_STUCK)


def report(**fields: Any) -> None:
    """Print one JSON line and flush it, so it reaches the parent even if we abort next."""
    print(json.dumps(fields), flush=True)


def true_refcount() -> int:
    """Return True's refcount after a collection."""
    gc.collect()
    return sys.getrefcount(True)


def measure_shapes() -> None:
    """Report True's refcount around SHAPE_EMITS emits of each signal shape."""
    shapes = Shapes()
    sink = Sink()
    shapes.number.connect(sink.on_number)
    shapes.flag.connect(sink.on_flag)
    emits: dict[str, Callable[[], None]] = {
        "no argument, no receiver": lambda: shapes.bare.emit(),
        "int to a connected slot": lambda: shapes.number.emit(7),
        "True to a connected slot": lambda: shapes.flag.emit(True),
    }
    for shape, emit in emits.items():
        before = true_refcount()
        for _ in range(SHAPE_EMITS):
            emit()
        report(shape=shape, emits=SHAPE_EMITS, before=before, after=true_refcount())


def emit_all(emitter: Emitter) -> None:
    """Emit TOTAL signals, half of them bools, then report how many were sent."""
    sent = 0
    try:
        for i in range(TOTAL // 2):
            emitter.flagged.emit(i % 2 == 0)
            emitter.numbered.emit(i, str(i))
            sent += 2
    finally:
        emitter.stopped.emit(sent)


def main() -> int:
    """Measure, run the storm and return the process exit code."""
    app = QCoreApplication(sys.argv[:1])
    report(pyside6=PySide6.__version__, python=sys.version.split()[0])
    measure_shapes()

    receiver = Receiver(app)
    emitter = Emitter()
    queued = Qt.ConnectionType.QueuedConnection
    emitter.flagged.connect(receiver.on_flagged, queued)
    emitter.numbered.connect(receiver.on_numbered, queued)
    emitter.stopped.connect(receiver.on_stopped, queued)
    watchdog = QTimer(receiver)
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(receiver.on_watchdog)
    watchdog.start(WATCHDOG_MS)

    before = true_refcount()
    worker = threading.Thread(target=emit_all, args=(emitter,), name="emit-storm")
    worker.start()
    code = app.exec()
    worker.join()
    watchdog.stop()
    report(
        received=receiver.received,
        trues=receiver.trues,
        true_refcount_before=before,
        true_refcount_after=true_refcount(),
    )
    if code == 0 and receiver.received != TOTAL:
        return EXIT_SHORT
    return code


if __name__ == "__main__":
    sys.exit(main())
