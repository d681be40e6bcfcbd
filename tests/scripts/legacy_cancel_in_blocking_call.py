"""Cancel a legacy annotation stuck in a slow HTTP call and measure the GUI block (D3, D4).

Usage: legacy_cancel_in_blocking_call.py DB LATENCY_S. Prints one JSON line:
{"blocked_s": ..., "terminated": ...}; whatever happens after terminate() is
the exit status the caller reports.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication

from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> int:
    """Run the scenario; print the measurement."""
    db, latency = sys.argv[1], float(sys.argv[2])
    recorder = _Recorder()
    logging.getLogger("workerkit.imagelib.legacy_workers").addHandler(recorder)
    logging.getLogger("workerkit.imagelib.legacy_workers").setLevel(logging.INFO)
    app = QGuiApplication(sys.argv[:1])
    with FakeVisionServer(latency=latency, required_key="k") as server:
        os.environ.update(WORKERKIT_API_BASE=server.base_url, WORKERKIT_API_KEY="k")
        store = ImageStore(db)
        service = WorkerService(store, stacks={"annotation": "legacy"})
        image_id = store.get_many([1])[0].id
        job_id = service.start_annotation([image_id], ["http"])
        _spin_until(lambda: server.requests >= 1)
        started = time.perf_counter()
        service.cancel_annotation(job_id)
        blocked = time.perf_counter() - started
        terminated = any("terminating" in m for m in recorder.messages)
        print(json.dumps({"blocked_s": blocked, "terminated": terminated}), flush=True)
    del app
    return 0


def _spin_until(condition: object) -> None:
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: condition() and loop.quit())  # type: ignore[operator]
    poll.start(5)
    QTimer.singleShot(20_000, loop.quit)
    loop.exec()
    poll.stop()


if __name__ == "__main__":
    sys.exit(main())
