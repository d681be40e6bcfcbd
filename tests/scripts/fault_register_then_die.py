"""Register LIBRARY into DB on STACK and announce the first committed images, to be SIGKILLed.

Usage: fault_register_then_die.py STACK LIBRARY DB. A progress handler on the GUI
thread prints "COMMITTED <n>" as soon as the database holds images; the parent
kills the process then. "DONE <registered>" means the run finished before the kill.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication

from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

WATCHDOG_MS = 60_000


def main() -> int:
    """Run the registration until it ends or the parent kills this process."""
    stack, library, db = sys.argv[1:4]
    app = QGuiApplication(sys.argv[:1])
    store = ImageStore(db)
    service = WorkerService(store, stacks={"registration": stack})
    loop = QEventLoop()
    announced: list[int] = []

    def announce(_job: str, _current: int, _total: int, _name: str) -> None:
        if not announced and (committed := store.count_images()) > 0:
            announced.append(committed)
            print(f"COMMITTED {committed}", flush=True)

    service.worker_batch_progress.connect(announce)
    service.batch_registration_finished.connect(
        lambda result: print(f"DONE {result.registered_count}", flush=True)
    )
    service.batch_registration_finished.connect(loop.quit)
    service.batch_registration_error.connect(lambda message: print(f"FAILED {message}"))
    service.batch_registration_error.connect(loop.quit)
    QTimer.singleShot(WATCHDOG_MS, loop.quit)
    service.start_batch_registration(library)
    loop.exec()
    service.shutdown(timeout_ms=5000)
    del service, app
    return 0


if __name__ == "__main__":
    sys.exit(main())
