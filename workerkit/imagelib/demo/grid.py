"""The thumbnail grid: filled chunk by chunk by the current thumbnail job or preview batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from workerkit.imagelib.domain.results import Preview
from workerkit.imagelib.domain.store import ImageRecord

__all__ = ["THUMBNAIL_SIZE", "ThumbnailGrid", "describe_record"]

THUMBNAIL_SIZE = QSize(128, 128)
_CELL = QSize(150, 168)
_ID_ROLE = Qt.ItemDataRole.UserRole
_LAYOUT_BATCH = 200


def describe_record(record: ImageRecord) -> str:
    """Return the tool-tip text of one image: name, size, tags and caption."""
    lines = [record.path.name, f"{record.width} x {record.height} {record.format}"]
    if record.tags:
        lines.append("tags: " + ", ".join(record.tags))
    if record.caption:
        lines.append(f"caption: {record.caption}")
    return "\n".join(lines)


class ThumbnailGrid(QListWidget):
    """Show the thumbnails of one search result, appended as their chunks arrive."""

    filled = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_id: str | None = None
        self.expected = 0
        self._records: dict[int, ImageRecord] = {}
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(THUMBNAIL_SIZE)
        self.setGridSize(_CELL)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        # Lay items out a batch at a time between events: a library of tens of thousands of
        # thumbnails would otherwise be laid out in one go, freezing the window.
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(_LAYOUT_BATCH)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSpacing(4)

    def begin(self, job_id: str, records: Sequence[ImageRecord]) -> None:
        """Clear the grid and accept chunks from ``job_id`` only, for these records."""
        self.clear()
        self.job_id = job_id
        self.expected = len(records)
        self._records = {record.id: record for record in records}
        self.filled.emit(0, self.expected)

    @Slot(str, object)
    def add_chunk(self, job_id: str, chunk: Iterable[tuple[int, QPixmap]]) -> None:
        """Append a chunk of (image id, pixmap); a chunk of a superseded job is dropped."""
        if job_id != self.job_id:
            return
        for image_id, pixmap in chunk:
            self.addItem(self._make_item(image_id, pixmap))
        self.filled.emit(self.count(), self.expected)

    def add_previews(self, batch_id: str, results: Iterable[tuple[int, Any]]) -> None:
        """Append a preview batch's delivery of ``(index, Preview)`` pairs; drop another's.

        The QPixmap is made here, on the GUI thread.
        """
        self.add_chunk(
            batch_id,
            [
                (p.image_id, QPixmap.fromImage(p.image))
                for _, p in results
                if isinstance(p, Preview)
            ],
        )

    def selected_ids(self) -> list[int]:
        """Return the image ids of the selected thumbnails, in grid order."""
        rows = sorted(self.row(item) for item in self.selectedItems())
        return [self.item(row).data(_ID_ROLE) for row in rows]

    def update_records(self, records: Iterable[ImageRecord]) -> None:
        """Refresh the tool tips of the shown images from newer records."""
        fresh = {record.id: record for record in records}
        self._records.update(fresh)
        for row in range(self.count()):
            item = self.item(row)
            record = fresh.get(item.data(_ID_ROLE))
            if record is not None:
                item.setToolTip(describe_record(record))

    def _make_item(self, image_id: int, pixmap: QPixmap) -> QListWidgetItem:
        record = self._records.get(image_id)
        name = record.path.name if record is not None else str(image_id)
        item = QListWidgetItem(QIcon(_centred(pixmap)), name)
        item.setData(_ID_ROLE, image_id)
        if record is not None:
            item.setToolTip(describe_record(record))
        return item


def _centred(pixmap: QPixmap) -> QPixmap:
    """Return ``pixmap`` centred on a transparent THUMBNAIL_SIZE square, so captions line up."""
    square = QPixmap(THUMBNAIL_SIZE)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    try:
        x = (THUMBNAIL_SIZE.width() - pixmap.width()) // 2
        y = (THUMBNAIL_SIZE.height() - pixmap.height()) // 2
        painter.drawPixmap(x, y, pixmap)
    finally:
        painter.end()
    return square
