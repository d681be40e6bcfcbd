"""Start all four kinds of job on STACK, then destroy or shut down the service while they run.

Usage: fault_busy_service.py STACK LIBRARY DB MODE [TIMEOUT_MS]. DB must hold a
registered library. The annotation uses "http" against an in-process fake API that
takes API_LATENCY_S per request, so it is always inside a call at the end. MODE
"destroy" deletes the service without a shutdown; MODE "shutdown" calls
shutdown(TIMEOUT_MS) and times it, then deletes the service. QThread.terminate()
calls are counted. Every Qt message is printed to stderr as "QTMSG <type>: <text>".
Prints one JSON line and then "destroyed"; the exit status tells whether the
process survived.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import (
    QSize,
    qInstallMessageHandler,
)
from PySide6.QtGui import QGuiApplication
from script_support import count_terminations, qt_message_recorder, qthreads_alive, settle

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

KINDS = ("registration", "search", "thumbnail", "annotation")
RUNNING_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = 10.0
# Each annotation request takes this long, so the annotation is always mid-call when the
# service is torn down (192 images: ~50 s one after another on legacy, ~6 s 8-wide).
API_LATENCY_S = 0.25
API_KEY = "fault-suite"


def main() -> int:
    """Run the scenario and print what happened."""
    stack, library, db, mode = sys.argv[1:5]
    timeout_ms = int(sys.argv[5]) if len(sys.argv) > 5 else 3000
    qt_messages: list[str] = []
    qInstallMessageHandler(qt_message_recorder(qt_messages))
    terminated = count_terminations()
    app = QGuiApplication(sys.argv[:1])
    store = ImageStore(db)
    with FakeVisionServer(latency=API_LATENCY_S, required_key=API_KEY) as server:
        os.environ.update(WORKERKIT_API_BASE=server.base_url, WORKERKIT_API_KEY=API_KEY)
        report = _run(app, store, stack, library, mode, timeout_ms)
    report["terminated_threads"] = len(terminated)
    report["qt_messages"] = qt_messages
    print(json.dumps(report), flush=True)
    print("destroyed", flush=True)
    store.close()
    return 0


def _run(
    app: QGuiApplication, store: ImageStore, stack: str, library: str, mode: str, timeout_ms: int
) -> dict[str, object]:
    """Start the four jobs, end the service as ``mode`` says, and describe how it went."""
    # Four pool threads, so that on the simplified stack all four jobs run at once, not queued.
    service = WorkerService(store, stacks=dict.fromkeys(KINDS, stack), max_threads=4)
    report: dict[str, object] = {"active_at_end": _start_all(app, service, store, library)}
    if mode == "shutdown":
        started = time.perf_counter()
        report["shutdown_ok"] = service.shutdown(timeout_ms=timeout_ms)
        report["shutdown_s"] = round(time.perf_counter() - started, 3)
        report["threads_ended"] = settle(app, lambda: qthreads_alive() == 0, SETTLE_TIMEOUT_S)
    started = time.perf_counter()
    service = None  # type: ignore[assignment]  # the last reference: Qt deletes the service here
    gc.collect()
    report["destroy_s"] = round(time.perf_counter() - started, 3)
    settle(app, lambda: False, timeout_s=0.3)
    return report


def _start_all(
    app: QGuiApplication, service: WorkerService, store: ImageStore, library: str
) -> list[str]:
    """Start one job of each kind; return the kinds active once the first ones reported."""
    progressed: set[str] = set()
    service.worker_progress_updated.connect(lambda job_id, _progress: progressed.add(job_id))
    records = store.search(SearchConditions())
    # The annotation and the registration start first: on a pool of two threads they run
    # while the thumbnails (every record twenty times over) and the search wait in the
    # queue, so all four are still active when the wait below ends.
    annotation = service.start_annotation([record.id for record in records], ["http"])
    registration = service.start_batch_registration(library)
    service.start_thumbnail_loading(records * 20, QSize(256, 256))
    service.start_search(SearchConditions())
    # Both report at their very start; waiting for more lets the quick jobs end first.
    settle(app, lambda: {registration, annotation} <= progressed, RUNNING_TIMEOUT_S)
    return sorted(job_id.split("_")[0] for job_id in service.get_active_worker_ids())


if __name__ == "__main__":
    sys.exit(main())
