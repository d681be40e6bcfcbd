"""Run the demo: open the library's store and service, show the window, clean up in order."""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtWidgets import QApplication

from workerkit.flags import Flag
from workerkit.imagelib.demo.window import DemoWindow
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

__all__ = ["run_demo"]


def run_demo(
    library: Path, database: Path, flags: Mapping[str, Flag], *, per_image: bool = False
) -> int:
    """Show the demo window on ``library`` (stored in ``database``) until it is closed.

    ``per_image`` starts the window loading thumbnails as preview batches.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    store = ImageStore(database)
    try:
        service = WorkerService(
            store, flags=flags, shadow_log=database.with_name(f"{database.stem}-shadow.jsonl")
        )
        window = DemoWindow(service, library, per_image=per_image)
        # Python runs a signal handler only between bytecodes; the window's 50 ms heartbeat
        # timer runs Python often enough for Ctrl+C to close the window (and shut down) cleanly.
        previous = signal.signal(signal.SIGINT, lambda _signum, _frame: window.close())
        try:
            window.show()
            window.start()
            status = app.exec()
        finally:
            signal.signal(signal.SIGINT, previous)
        # closeEvent already shut the service down; this covers a quit without one.
        if not service.is_shut_down:
            service.shutdown()
    finally:
        store.close()
    return status
