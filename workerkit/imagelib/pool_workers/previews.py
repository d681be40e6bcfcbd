"""One image's preview on the pool: the item of a bulk preview batch (``JobService.map``)."""

from __future__ import annotations

from workerkit import JobControl
from workerkit.imagelib.domain.results import Preview
from workerkit.imagelib.domain.store import ImageRecord
from workerkit.imagelib.domain.thumbnails import decode_thumbnail

__all__ = ["load_preview"]


def load_preview(control: JobControl, record: ImageRecord, width: int, height: int) -> Preview:
    """Decode ``record``'s image scaled to fit ``width`` x ``height``.

    Raises:
        ImageError: The file is gone or Qt cannot decode it (that item fails, the batch
            goes on).
        JobCanceled: The batch was canceled while a large image was being decoded.
    """
    image = decode_thumbnail(record, width, height, canceled=lambda: control.is_canceled)
    return Preview(record.id, image)
