"""Where a thumbnail comes from, and how to decode one at reduced size off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader

from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.store import ImageRecord

__all__ = ["best_source_path", "decode_thumbnail"]


def best_source_path(record: ImageRecord) -> Path | None:
    """Return the file to read a thumbnail from, or None if it is gone."""
    return record.path if record.path.is_file() else None


def decode_thumbnail(record: ImageRecord, width: int, height: int) -> QImage:
    """Decode ``record``'s image scaled to fit ``width`` x ``height``; safe on any thread.

    QImage (unlike QPixmap) may be made off the GUI thread. The JPEG reader
    decodes straight at a reduced scale when given a scaled size.
    """
    source = best_source_path(record)
    if source is None:
        raise ImageError(record.path, "the image file no longer exists")
    buffer = _buffer_if_unnamed(source)
    reader = QImageReader(str(source)) if buffer is None else QImageReader(buffer)
    # Upright, like the width and height the store recorded (legacy's QPixmap(path) is not).
    reader.setAutoTransform(True)
    full = reader.size()
    if not full.isValid():
        raise ImageError(source, f"Qt could not read its size ({reader.errorString()})")
    box = QSize(width, height)
    if reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90:
        # The scaled size applies before the rotation: fit the rotated box.
        box = box.transposed()
    reader.setScaledSize(full.scaled(box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    del buffer  # held until here: the reader does not own it
    if image.isNull():
        raise ImageError(source, f"Qt could not decode the image ({reader.errorString()})")
    return image


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
