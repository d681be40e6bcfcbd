"""What the subprocess scenario scripts share: settling the event loop, counting legacy threads."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QMessageLogContext, QThread, QtMsgType

from workerkit.tools.benchmarks.probes import qthreads_alive

__all__ = ["count_terminations", "qt_message_recorder", "qthreads_alive", "settle"]


def settle(app: QCoreApplication, done: Callable[[], bool], timeout_s: float) -> bool:
    """Process events until ``done()`` or ``timeout_s`` passed; return ``done()``."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return done()


def qt_message_recorder(
    messages: list[str], ignore: frozenset[str] = frozenset()
) -> Callable[[QtMsgType, QMessageLogContext, str], None]:
    """Return a Qt message handler that keeps and echoes each message not in ``ignore``."""

    def record(kind: QtMsgType, _context: QMessageLogContext, text: str) -> None:
        if text in ignore:
            return
        messages.append(f"{kind.name}: {text}")
        print(f"QTMSG {kind.name}: {text}", file=sys.stderr, flush=True)

    return record


def count_terminations() -> list[str]:
    """Record every QThread.terminate() call from here on; return the record."""
    calls: list[str] = []
    original = QThread.terminate

    def terminate(thread: QThread) -> None:
        calls.append(thread.objectName())
        original(thread)

    QThread.terminate = terminate  # type: ignore[method-assign]
    return calls
