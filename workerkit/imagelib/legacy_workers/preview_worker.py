"""Legacy preview worker: one image per job, on LoRAIro's 2025 base class.

LoRAIro itself loads a whole list per thumbnail job (``ThumbnailWorker``); this is the
per-image worker its team would have written on the same base class, so the library's
bulk preview batch has a legacy side to fall back to (one QThread per image).
"""

from __future__ import annotations

from PySide6.QtCore import QSize

from workerkit.imagelib.domain.results import Preview
from workerkit.imagelib.domain.store import ImageRecord
from workerkit.imagelib.domain.thumbnails import decode_thumbnail
from workerkit.imagelib.legacy_workers.base_worker import LoRAIroWorkerBase

__all__ = ["PreviewWorker"]


class PreviewWorker(LoRAIroWorkerBase[Preview]):
    """Load one record's thumbnail as a QImage."""

    def __init__(self, record: ImageRecord, size: QSize) -> None:
        super().__init__()
        self.record = record
        self.size = QSize(size)

    def execute(self) -> Preview:
        """Decode the image scaled to the size; a failure raises ImageError (error signal)."""
        self._check_cancellation()
        image = decode_thumbnail(self.record, self.size.width(), self.size.height())
        self._report_progress(100, f"loaded {self.record.path.name}", self.record.path.name, 1, 1)
        return Preview(self.record.id, image)
