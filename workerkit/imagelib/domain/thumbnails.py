"""Where a thumbnail comes from, and how to decode one at reduced size off the GUI thread."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader

from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.store import ImageRecord
from workerkit.simplified.token import JobCanceled

__all__ = [
    "INTERRUPTIBLE_PIXELS",
    "best_source_path",
    "decode_thumbnail",
]

# Images with more pixels than this take a few tenths of a second or more to decode: they
# go through a reader that can stop midway. Smaller ones keep Qt's own file reader.
INTERRUPTIBLE_PIXELS = 16_000_000


def best_source_path(record: ImageRecord) -> Path | None:
    """Return the file to read a thumbnail from, or None if it is gone."""
    return record.path if record.path.is_file() else None


def decode_thumbnail(
    record: ImageRecord, width: int, height: int, *, canceled: Callable[[], bool] | None = None
) -> QImage:
    """Decode ``record``'s image scaled to fit ``width`` x ``height``; safe on any thread.

    QImage (unlike QPixmap) may be made off the GUI thread. The JPEG reader
    decodes straight at a reduced scale when given a scaled size. An image of more
    than INTERRUPTIBLE_PIXELS stops midway once ``canceled()`` turns true, raising
    JobCanceled.
    """
    source = best_source_path(record)
    if source is None:
        raise ImageError(record.path, "the image file no longer exists")
    buffer = _buffer_if_unnamed(source)  # held to the end: the reader does not own it
    reader = QImageReader(str(source)) if buffer is None else QImageReader(buffer)
    # Upright, like the width and height the store recorded (legacy's QPixmap(path) is not).
    reader.setAutoTransform(True)
    full = reader.size()
    if not full.isValid():
        raise ImageError(source, f"Qt could not read its size ({reader.errorString()})")
    if canceled is None or full.width() * full.height() <= INTERRUPTIBLE_PIXELS:
        return _read_scaled(reader, source, full, width, height)
    device = _CancelableFile(source, canceled)
    try:
        interruptible = QImageReader(device, reader.format())
        interruptible.setAutoTransform(True)
        image = _read_scaled(interruptible, source, full, width, height)
    except ImageError:
        if device.cut_short:
            raise JobCanceled from None
        raise
    finally:
        device.close()
    if device.cut_short:
        # The JPEG decoder fills in what it did not get: the image is only partly there.
        raise JobCanceled
    return image


def _read_scaled(
    reader: QImageReader, source: Path, full: QSize, width: int, height: int
) -> QImage:
    """Read the image of size ``full`` from ``reader``, scaled to fit ``width`` x ``height``."""
    box = QSize(width, height)
    if reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90:
        # The scaled size applies before the rotation: fit the rotated box.
        box = box.transposed()
    reader.setScaledSize(full.scaled(box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        raise ImageError(source, f"Qt could not decode the image ({reader.errorString()})")
    return image


class _CancelableFile(QIODevice):
    """Give a file's bytes to a QImageReader until ``canceled()`` turns true, then none.

    ``cut_short`` tells whether it withheld any: the image read from it is incomplete.
    """

    def __init__(self, source: Path, canceled: Callable[[], bool]) -> None:
        super().__init__()
        # Python opens any name, even one Qt cannot (see _buffer_if_unnamed).
        self._file = source.open("rb")
        self._size = os.fstat(self._file.fileno()).st_size
        self._canceled = canceled
        self.cut_short = False
        self.open(QIODevice.OpenModeFlag.ReadOnly)

    def size(self) -> int:
        """Return the file's size in bytes."""
        return self._size

    def seek(self, pos: int) -> bool:
        """Move to byte ``pos`` of the file."""
        # QIODevice.seek first: it keeps QIODevice's read buffer in step with the file.
        if not super().seek(pos):
            return False
        self._file.seek(pos)
        return True

    def readData(self, maxlen: int) -> bytes:
        """Return the next bytes of the file, up to ``maxlen``; none once canceled."""
        # PySide cannot pass a -1 (error) back to Qt, only the bytes returned: no bytes in
        # mid-image make Qt's decoders stop with a read error (PNG) or an early end (JPEG).
        if self.cut_short or self._canceled():
            self.cut_short = True
            return b""
        return self._file.read(maxlen)

    def writeData(self, data: bytes | bytearray | memoryview, length: int, /) -> int:
        """Refuse to write: the device is read-only."""
        return -1

    def close(self) -> None:
        """Close the device and its file."""
        super().close()
        self._file.close()


def _buffer_if_unnamed(source: Path) -> QBuffer | None:
    """Return the file's bytes in a QBuffer when Qt cannot open it by name, else None."""
    try:
        str(source).encode("utf-8")
    except UnicodeEncodeError:
        # Qt file names are Unicode text; a name that is not valid UTF-8 (a lone
        # surrogate here) cannot reach the file, so Python reads the bytes instead.
        buffer = QBuffer()
        buffer.setData(QByteArray(source.read_bytes()))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        return buffer
    return None
