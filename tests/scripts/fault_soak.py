"""Run the four kinds of job in a loop on STACK and sample threads and memory after every round.

Usage: fault_soak.py STACK ROUNDS LIBRARY DB. Round 0 samples before any job; each
round registers LIBRARY, searches everything, loads every thumbnail and annotates
up to 16 images with "local", one job after another. After each round (results
dropped, garbage collected, legacy threads given time to end) it prints one JSON
line: round, os_threads, qthreads, rss_mb and the events of the round; then "DONE".
"""

from __future__ import annotations

import gc
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil
from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication
from script_support import qthreads_alive, settle

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import SearchResult
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService
from workerkit.imagelib.waiting import wait_for_job

KINDS = ("registration", "search", "thumbnail", "annotation")
ANNOTATED = 16
THUMBNAIL_PX = 256
JOB_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 10.0


def main() -> int:
    """Run the rounds and print one sample per round."""
    stack, rounds, library, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    app = QGuiApplication(sys.argv[:1])
    store = ImageStore(db)
    service = WorkerService(store, stacks=dict.fromkeys(KINDS, stack))
    process = psutil.Process()
    print(json.dumps(_sample(process, 0, [])), flush=True)
    for number in range(1, rounds + 1):
        events = _round(service, library)
        gc.collect()
        settle(app, lambda: qthreads_alive() == 0, SETTLE_TIMEOUT_S)
        print(json.dumps(_sample(process, number, events)), flush=True)
    service.shutdown(timeout_ms=5000)
    settle(app, lambda: qthreads_alive() == 0, SETTLE_TIMEOUT_S)
    print("DONE", flush=True)
    return 0


def _sample(process: psutil.Process, number: int, events: list[str]) -> dict[str, object]:
    return {
        "round": number,
        "os_threads": process.num_threads(),
        "qthreads": qthreads_alive(),
        "rss_mb": round(process.memory_info().rss / 2**20, 2),
        "events": events,
    }


def _round(service: WorkerService, library: str) -> list[str]:
    """Run one job of each kind to its end; return how each ended."""
    registration = wait_for_job(service, service.start_batch_registration(library), JOB_TIMEOUT_S)
    search = wait_for_job(service, service.start_search(SearchConditions()), JOB_TIMEOUT_S)
    assert isinstance(search.payload, SearchResult), search
    records = search.payload.image_metadata
    thumbnails = wait_for_job(
        service,
        service.start_thumbnail_loading(records, QSize(THUMBNAIL_PX, THUMBNAIL_PX)),
        JOB_TIMEOUT_S,
    )
    ids = [record.id for record in records[:ANNOTATED]]
    annotation = wait_for_job(service, service.start_annotation(ids, ["local"]), JOB_TIMEOUT_S)
    return [outcome.event for outcome in (registration, search, thumbnails, annotation)]


if __name__ == "__main__":
    sys.exit(main())
