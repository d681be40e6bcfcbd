"""Legacy thumbnail worker: QPixmap loading and scaling inside the worker thread."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap

from workerkit.imagelib.domain.results import FileFailure, ThumbnailResult
from workerkit.imagelib.domain.store import ImageRecord
from workerkit.imagelib.domain.thumbnails import best_source_path
from workerkit.imagelib.legacy_workers.base_worker import LoRAIroWorkerBase

__all__ = ["ThumbnailWorker"]


class ThumbnailWorker(LoRAIroWorkerBase[ThumbnailResult]):
    """Load one scaled QPixmap per record, reporting progress after every image."""

    def __init__(self, records: Sequence[ImageRecord], size: QSize) -> None:
        super().__init__()
        self.records = list(records)
        self.size = QSize(size)

    def execute(self) -> ThumbnailResult:
        """Load and scale each image's pixmap."""
        started = time.perf_counter()
        total = len(self.records)
        loaded: list[tuple[int, QPixmap]] = []
        failures: list[FileFailure] = []
        for index, record in enumerate(self.records, start=1):
            self._check_cancellation()
            pixmap = self._load(record, failures)
            if pixmap is not None:
                loaded.append((record.id, pixmap))
            name = record.path.name
            self._report_progress(5 + 90 * index // total, f"loaded {name}", name, index, total)
        self._report_progress(100, "thumbnails loaded", "", total, total)
        return ThumbnailResult(
            loaded_thumbnails=loaded,
            failed_count=len(failures),
            total_count=total,
            processing_time=time.perf_counter() - started,
            failures=failures,
        )

    def _load(self, record: ImageRecord, failures: list[FileFailure]) -> QPixmap | None:
        source = best_source_path(record)
        if source is None:
            failures.append(FileFailure(record.path, "the image file no longer exists"))
            return None
        # D6: QPixmap is a GUI-thread class; the original made it here anyway.
        pixmap = QPixmap(str(source))
        if pixmap.isNull():
            failures.append(FileFailure(source, "Qt could not decode the image"))
            return None
        return pixmap.scaled(
            self.size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
