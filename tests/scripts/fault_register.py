"""Register LIBRARY into DB on STACK through WorkerService and print how it went as one JSON line.

Usage: fault_register.py STACK LIBRARY DB [BUSY_TIMEOUT_MS]. The fault suite runs it
where the parent process cannot reproduce a fault itself, e.g. without
CAP_DAC_OVERRIDE so that file modes hold for root. The JSON line has "event"
("finished", "failed", "canceled" or "open_failed"), "message", "registered",
"errors" (pairs of path and reason) and "count" (images in DB afterwards, or null).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop
from PySide6.QtGui import QGuiApplication
from script_support import qthreads_alive

from workerkit.imagelib.domain.results import RegistrationResult
from workerkit.imagelib.domain.scanner import display_path
from workerkit.imagelib.domain.store import ImageStore, StoreError
from workerkit.imagelib.service import WorkerService
from workerkit.imagelib.waiting import wait_for_job


def main() -> int:
    """Run one registration and print its outcome."""
    stack, library, db = sys.argv[1:4]
    busy_timeout_ms = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    app = QGuiApplication(sys.argv[:1])
    try:
        store = ImageStore(db, busy_timeout_ms=busy_timeout_ms)
    except StoreError as exc:
        print(json.dumps({"event": "open_failed", "message": str(exc), "count": None}), flush=True)
        return 0
    service = WorkerService(store, stacks={"registration": stack})
    outcome = wait_for_job(service, service.start_batch_registration(library), 60)
    service.shutdown(timeout_ms=5000)
    _let_qthreads_end(app)
    print(json.dumps(_report(outcome.event, outcome.payload, store)), flush=True)
    store.close()
    del service, app
    return 0


def _let_qthreads_end(app: QGuiApplication, timeout_s: float = 10.0) -> None:
    # A legacy job's QThread quits through a signal queued to this thread: deliver it, or the
    # interpreter's exit destroys a running QThread and aborts.
    deadline = time.monotonic() + timeout_s
    while qthreads_alive() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def _report(event: str, payload: object, store: ImageStore) -> dict[str, Any]:
    report: dict[str, Any] = {"event": event, "message": None, "registered": 0, "errors": []}
    if isinstance(payload, RegistrationResult):
        report["registered"] = payload.registered_count
        report["errors"] = [[display_path(f.path), f.reason] for f in payload.errors]
    else:
        report["message"] = str(payload)
    try:
        report["count"] = store.count_images()
    except StoreError as exc:
        report["count"] = None
        report["count_error"] = str(exc)
    return report


if __name__ == "__main__":
    sys.exit(main())
