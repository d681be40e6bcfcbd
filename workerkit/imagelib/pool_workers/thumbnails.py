"""Thumbnails on the pool: reduced-size QImage decoding on all pool threads, sent in chunks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtGui import QImage

from workerkit import JobCanceled, JobControl
from workerkit.imagelib.domain.results import FileFailure
from workerkit.imagelib.domain.store import ImageRecord
from workerkit.imagelib.domain.thumbnails import decode_thumbnail

__all__ = ["CHUNK_INTERVAL_S", "ThumbnailSummary", "load_thumbnails"]

CHUNK_INTERVAL_S = 0.05
CHUNK_MAX = 32


@dataclass(frozen=True, slots=True)
class ThumbnailSummary:
    """Say how the job went; the images themselves went to the GUI thread in chunks."""

    failed_count: int
    total_count: int
    processing_time: float
    failures: list[FileFailure]


def load_thumbnails(
    control: JobControl, records: Sequence[ImageRecord], width: int, height: int
) -> ThumbnailSummary:
    """Decode every record's thumbnail; send (image id, QImage) chunks as they complete."""
    started = time.perf_counter()
    total = len(records)

    def decode(record: ImageRecord) -> QImage:
        return decode_thumbnail(record, width, height, canceled=lambda: control.is_canceled)

    chunk: list[tuple[int, QImage]] = []
    failures: list[FileFailure] = []
    last_sent = time.monotonic()
    for index, (record, outcome) in enumerate(control.map(records, decode), start=1):
        if isinstance(outcome, JobCanceled):
            raise outcome
        if isinstance(outcome, Exception):
            failures.append(FileFailure(record.path, str(outcome)))
        else:
            chunk.append((record.id, outcome))
        if chunk and (len(chunk) >= CHUNK_MAX or time.monotonic() - last_sent >= CHUNK_INTERVAL_S):
            control.partial(chunk)
            chunk, last_sent = [], time.monotonic()
        control.progress(
            5 + 90 * index // total, f"loaded {record.path.name}", record.path.name, index, total
        )
    if chunk:
        control.partial(chunk)
    control.progress(100, "thumbnails loaded", "", total, total)
    return ThumbnailSummary(len(failures), total, time.perf_counter() - started, failures)
