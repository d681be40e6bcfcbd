"""Emit 20,000 queued signals from a worker thread and count them on the main thread.

Run by tests/test_pyside_pin.py in a subprocess, because the bug it guards against
(PySide6 6.12.0 on CPython < 3.12, "Fatal Python error: bool_dealloc") aborts the
interpreter instead of raising. Prints ``received N`` and the refcount of True before
and after, and exits 0 only when every signal arrived.
"""

from __future__ import annotations

import gc
import sys
import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal, Slot

TOTAL = 20_000
WATCHDOG_MS = 45_000
EXIT_SHORT = 1
EXIT_STUCK = 2


class Emitter(QObject):
    """Carry the signals the worker thread emits."""

    flagged = Signal(bool)
    numbered = Signal(int, str)
    stopped = Signal(int)


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
    """Run the storm and return the process exit code."""
    app = QCoreApplication(sys.argv[:1])
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

    gc.collect()
    before = sys.getrefcount(True)
    worker = threading.Thread(target=emit_all, args=(emitter,), name="emit-storm")
    worker.start()
    code = app.exec()
    worker.join()
    watchdog.stop()
    gc.collect()
    after = sys.getrefcount(True)

    print(f"received {receiver.received}")
    print(f"trues {receiver.trues}")
    print(f"true_refcount_before {before}")
    print(f"true_refcount_after {after}")
    if code == 0 and receiver.received != TOTAL:
        return EXIT_SHORT
    return code


if __name__ == "__main__":
    sys.exit(main())
