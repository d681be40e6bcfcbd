"""Start and at once cancel PAIRS searches on STACK, then report how every job ended.

Usage: fault_start_cancel_storm.py STACK PAIRS DB. Events are processed once per
pair, as a GUI does between clicks. Legacy ids get one second each (a ticking
clock) so that D5 (ids colliding within a second) does not end the storm at the
second pair and the storm can show what happens next. Prints "PAIR <n>" every
100 pairs (so a hang shows where it happened) and one JSON line at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from itertools import count
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QGuiApplication
from script_support import qthreads_alive, settle

import workerkit.imagelib.legacy_workers.stack
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

SETTLE_TIMEOUT_S = 5.0


def main() -> int:
    """Run the storm and print the outcome."""
    stack, pairs, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = count(1_000_000)
    workerkit.imagelib.legacy_workers.stack.time = SimpleNamespace(time=lambda: next(seconds))  # type: ignore[assignment]
    app = QGuiApplication(sys.argv[:1])
    service = WorkerService(ImageStore(db), stacks={"search": stack})
    print(json.dumps(_storm(app, service, pairs)), flush=True)
    service.shutdown(timeout_ms=5000)
    settle(app, lambda: qthreads_alive() == 0, SETTLE_TIMEOUT_S)
    return 0


def _storm(app: QGuiApplication, service: WorkerService, pairs: int) -> dict[str, object]:
    ended: Counter[str] = Counter()
    kinds: Counter[str] = Counter()

    def record(kind: str, job_id: str) -> None:
        ended[job_id] += 1
        kinds[kind] += 1

    service.job_finished.connect(lambda job_id, _result: record("finished", job_id))
    service.job_failed.connect(lambda job_id, _message: record("failed", job_id))
    service.job_canceled.connect(lambda job_id: record("canceled", job_id))
    started = time.perf_counter()
    ids: list[str] = []
    most_qthreads = refused = 0
    for pair in range(1, pairs + 1):
        job_id = service.start_search(SearchConditions(min_width=pair % 7))
        ids.append(job_id)
        refused += not service.cancel_search(job_id)
        app.processEvents()
        most_qthreads = max(most_qthreads, qthreads_alive())
        if pair % 100 == 0:
            print(f"PAIR {pair}", flush=True)
    storm_s = time.perf_counter() - started
    settled = settle(
        app,
        lambda: all(ended[j] for j in ids) and not service.get_active_worker_ids(),
        SETTLE_TIMEOUT_S,
    )
    return {
        "pairs": pairs,
        "storm_s": round(storm_s, 3),
        "settled": settled,
        "distinct_ids": len(set(ids)),
        "jobs_without_terminal": sum(not ended[j] for j in ids),
        "jobs_with_several_terminals": sum(ended[j] > 1 for j in ids),
        "events": dict(kinds),
        "cancel_refused": refused,
        "active_after": service.get_active_worker_count(),
        "most_qthreads": most_qthreads,
    }


if __name__ == "__main__":
    sys.exit(main())
