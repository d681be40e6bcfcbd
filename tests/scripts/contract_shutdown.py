"""Shut a service down while one job of every kind is active, and time the call (contract 8).

Usage: contract_shutdown.py STACK CONFIG_JSON. CONFIG_JSON names "library" (a folder to
register), "db" (a writable copy of the search library), "caption" and "registered_after"
(a search that takes a while) and "timeout_ms". Prints one JSON line with the measurement
once shutdown() returned, then "exited" once the service is gone; a crash after the
measurement shows as the exit status and on stderr.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSize, QTimer
from PySide6.QtGui import QGuiApplication

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

KINDS = ("registration", "search", "thumbnail", "annotation")
API_KEY = "contract-key"
# Under the legacy stack's 2 s cancel wait: a terminate() (D4) could hang this process.
API_LATENCY_S = 1.5
WAIT_MS = 30_000


def spin_until(condition: Any, timeout_ms: int) -> bool:
    """Run the event loop until ``condition()`` holds or ``timeout_ms`` passed."""
    loop = QEventLoop()
    poll = QTimer(loop)
    poll.timeout.connect(lambda: condition() and loop.quit())
    poll.start(5)
    QTimer.singleShot(timeout_ms, loop, loop.quit)
    loop.exec()
    poll.stop()
    return bool(condition())


def start_every_kind(service: WorkerService, store: ImageStore, config: dict[str, Any]) -> None:
    """Start one job of each kind on its slow input, the annotation and the search first.

    A pool of two threads runs the first two while the others wait in its queue.
    """
    records = store.search(SearchConditions(limit=192))
    search = SearchConditions(
        caption=config["caption"],
        registered_after=datetime.fromisoformat(config["registered_after"])
        if config["registered_after"]
        else None,
    )
    service.start_annotation([records[0].id], ["http"])
    service.start_search(search)
    service.start_batch_registration(config["library"])
    service.start_thumbnail_loading(records, QSize(256, 256))


def main() -> int:
    """Run the scenario; print the measurement, then "exited"."""
    stack = sys.argv[1]
    config = json.loads(Path(sys.argv[2]).read_text())
    app = QGuiApplication(sys.argv[:1])
    with FakeVisionServer(latency=API_LATENCY_S, required_key=API_KEY) as server:
        os.environ.update(WORKERKIT_API_BASE=server.base_url, WORKERKIT_API_KEY=API_KEY)
        store = ImageStore(config["db"])
        service = WorkerService(store, stacks=dict.fromkeys(KINDS, stack))
        progressed: set[str] = set()
        ended: list[str] = []
        service.worker_progress_updated.connect(lambda job_id, _p: progressed.add(job_id))
        service.job_finished.connect(lambda job_id, _result: ended.append(f"{job_id} finished"))
        service.job_failed.connect(lambda job_id, message: ended.append(f"{job_id}: {message}"))
        service.job_canceled.connect(lambda job_id: ended.append(f"{job_id} canceled"))
        start_every_kind(service, store, config)
        # The annotation is inside its HTTP call and at least one more job is working.
        working = spin_until(lambda: server.requests >= 1 and len(progressed) >= 2, WAIT_MS)
        active_before = service.get_active_worker_count()
        started = time.perf_counter()
        returned = service.shutdown(config["timeout_ms"])
        elapsed = time.perf_counter() - started
        measured = {
            "stack": stack,
            "all_active": working and active_before == len(KINDS),
            "active_before": active_before,
            "ended_by_return": list(ended),
            "timeout_ms": config["timeout_ms"],
            "elapsed_s": round(elapsed, 3),
            "returned": returned,
            "active_after": service.get_active_worker_count(),
        }
        print(json.dumps(measured), flush=True)
        del service
        gc.collect()
        app.processEvents()
        store.close()
    print("exited", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
