"""The floors: the same work with the least plumbing possible, measured in the same run."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore
from workerkit.tools.benchmarks.data import THUMBNAIL_PX, Dataset
from workerkit.tools.benchmarks.harness import WorkloadTimeout, spin
from workerkit.tools.benchmarks.plan import CHILD_TIMEOUT_SHARE
from workerkit.tools.benchmarks.workloads import WARMUP_JOBS, Metrics, latency_metrics

__all__ = ["annotation_floor_s", "roundtrip_floor", "thumbnail_floor"]


class _Responder(QObject):
    """Live on one long-lived QThread and answer each request with the same no-op search."""

    answered = Signal(object)

    def __init__(self, store: ImageStore) -> None:
        super().__init__()
        self._store = store
        self._conditions = SearchConditions(limit=1)

    @Slot()
    def answer(self) -> None:
        self.answered.emit(self._store.search(self._conditions))


class _Asker(QObject):
    """Send requests from the GUI thread and time each answer's arrival there."""

    asked = Signal()

    def __init__(self, total: int) -> None:
        super().__init__()
        self.left = total
        self.sent = 0.0
        self.latencies: list[float] = []

    def ask(self) -> None:
        self.sent = time.perf_counter()
        self.asked.emit()

    @Slot(object)
    def on_answer(self, _rows: object) -> None:
        self.latencies.append((time.perf_counter() - self.sent) * 1000)
        self.left -= 1
        if self.left > 0:
            QTimer.singleShot(0, self, self.ask)


def roundtrip_floor(data: Dataset, work: Path, cleanup: ExitStack) -> Metrics:
    """Time the same no-op search on a long-lived QThread answering a queued signal."""
    total = data.sizes.roundtrip_jobs
    with ImageStore(data.tiny_db) as store:
        thread = QThread()
        responder = _Responder(store)
        responder.moveToThread(thread)
        asker = _Asker(WARMUP_JOBS + total)
        # Both connections cross threads, so both are queued: the cheapest real round trip.
        asker.asked.connect(responder.answer)
        responder.answered.connect(asker.on_answer)
        thread.start()
        try:
            asker.ask()
            deadline = time.monotonic() + data.sizes.watchdog_s * CHILD_TIMEOUT_SHARE
            while asker.left > 0:
                if time.monotonic() > deadline:
                    raise WorkloadTimeout("The long-lived QThread floor stopped answering.")
                spin(0.05, asker)
        finally:
            thread.quit()
            thread.wait()
    return {**latency_metrics(asker.latencies[WARMUP_JOBS:]), "jobs": total}


def thumbnail_floor(data: Dataset, work: Path, cleanup: ExitStack) -> Metrics:
    """Decode the thumbnail JPEGs with Pillow's reduced-size decode on every core."""
    with ImageStore(data.thumbnail_db) as store:
        paths = [record.path for record in store.get_many(data.thumbnail_ids)]
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as executor:
        list(executor.map(_decode, paths[:workers]))  # start the threads, warm the cache
        started = time.perf_counter()
        sizes = list(executor.map(_decode, paths))
        wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "images_per_s": len(paths) / wall,
        "images": len(paths),
        "loaded": sum(1 for size in sizes if max(size) <= THUMBNAIL_PX),
        "threads": workers,
    }


def annotation_floor_s(images: int, latency_s: float, concurrency: int) -> float:
    """Return the least time ``images`` requests of ``latency_s`` take, ``concurrency`` at once."""
    return images * latency_s / concurrency


def _decode(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        # draft() makes the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding.
        image.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        return image.size
