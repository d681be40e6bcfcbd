"""Start a registration on STACK, destroy the service while it runs, then exit (D10).

Usage: destroy_running_service.py STACK LIBRARY DB. Prints "destroyed" once the
service is gone; the exit status tells whether the process survived that.
"""

from __future__ import annotations

import gc
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication

from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService


def main() -> int:
    """Run the scenario and return 0 if Python got to the end."""
    stack, library, db = sys.argv[1:4]
    app = QGuiApplication(sys.argv[:1])
    store = ImageStore(db)
    kinds = ("registration", "search", "thumbnail", "annotation")
    service = WorkerService(store, stacks=dict.fromkeys(kinds, stack))
    loop = QEventLoop()
    service.worker_batch_progress.connect(loop.quit)
    QTimer.singleShot(30_000, loop.quit)
    service.start_batch_registration(library)
    loop.exec()
    del service
    gc.collect()
    print("destroyed", flush=True)
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
