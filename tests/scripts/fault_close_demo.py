"""Open the demo window on STACK, get all four kinds running, then close the window.

Usage: fault_close_demo.py STACK LIBRARY DB. DB must hold a registered library. The
window registers LIBRARY again and searches (which loads every thumbnail); the
script also starts an "http" annotation of every image against an in-process fake
API that takes API_LATENCY_S per request. Once the thumbnails are
loading and the other jobs have made progress, the window is closed (its
closeEvent shuts the service down), then the window and the service are
deleted. QThread.terminate() calls are counted. Every Qt message (but the offscreen
plugin's own) is printed to stderr as "QTMSG <type>: <text>". Prints
one JSON line, then "closed"; the exit status tells whether the process survived.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import (
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication
from script_support import count_terminations, qt_message_recorder, qthreads_alive, settle

from workerkit.imagelib.demo.window import DemoWindow
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

KINDS = ("registration", "search", "thumbnail", "annotation")
# The offscreen platform plugin says this whenever a top-level window is shown; it is about
# the headless platform, not about the window or the workers, so it is not reported.
OFFSCREEN_NOISE = frozenset({"This plugin does not support propagateSizeHints()"})
RUNNING_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = 10.0
# Each annotation request takes this long, so the annotation is always mid-call when the
# service is torn down (192 images: ~100 s one after another on legacy, ~12 s 8-wide). At
# 0.25 s the 8-wide annotation on a loaded CI machine ended before the registration first
# reported progress, and was no longer active at the close.
API_LATENCY_S = 0.5
API_KEY = "fault-suite"


def main() -> int:
    """Run the scenario and print what happened."""
    stack, library, db = sys.argv[1:4]
    qt_messages: list[str] = []
    qInstallMessageHandler(qt_message_recorder(qt_messages, OFFSCREEN_NOISE))
    terminated = count_terminations()
    app = QApplication(sys.argv[:1])
    store = ImageStore(db)
    with FakeVisionServer(latency=API_LATENCY_S, required_key=API_KEY) as server:
        os.environ.update(WORKERKIT_API_BASE=server.base_url, WORKERKIT_API_KEY=API_KEY)
        report = _run(app, store, stack, Path(library))
    report["terminated_threads"] = len(terminated)
    report["qt_messages"] = qt_messages
    print(json.dumps(report), flush=True)
    print("closed", flush=True)
    store.close()
    return 0


def _run(app: QApplication, store: ImageStore, stack: str, library: Path) -> dict[str, object]:
    """Open the window, start the four jobs, close the window and describe how it went."""
    service = WorkerService(store, stacks=dict.fromkeys(KINDS, stack), max_threads=4)
    window = DemoWindow(service, library)
    window.show()
    report: dict[str, object] = {"active_at_close": _start_all(app, window, service)}
    started = time.perf_counter()
    report["closed"] = window.close()
    report["close_s"] = round(time.perf_counter() - started, 3)
    report["threads_ended"] = settle(app, lambda: qthreads_alive() == 0, SETTLE_TIMEOUT_S)
    window = service = None  # type: ignore[assignment]  # Qt deletes both here
    gc.collect()
    settle(app, lambda: False, timeout_s=0.3)
    return report


def _start_all(app: QApplication, window: DemoWindow, service: WorkerService) -> list[str]:
    """Get all four kinds going through the window; return the kinds active at that point."""
    progressed: set[str] = set()
    thumbnails: list[str] = []
    service.worker_progress_updated.connect(lambda job_id, _p: progressed.add(job_id))
    service.thumbnail_started.connect(thumbnails.append)
    registration = window.register_folder(window.library)
    window.search(SearchConditions())
    ids = [record.id for record in service.store.search(SearchConditions())]
    annotation = service.start_annotation(ids, ["http"])
    settle(
        app,
        lambda: bool(thumbnails) and {registration, annotation, *thumbnails} <= progressed,
        RUNNING_TIMEOUT_S,
    )
    return sorted(job_id.split("_")[0] for job_id in service.get_active_worker_ids())


if __name__ == "__main__":
    sys.exit(main())
