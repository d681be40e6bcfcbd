"""Where a thumbnail comes from, and how to decode one at reduced size off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader

from workerkit.imagelib.domain.imaging import ImageError, interruptible_stream, oriented_size
from workerkit.imagelib.domain.store import ImageRecord

__all__ = [
    "INTERRUPTIBLE_PIXELS",
    "best_source_path",
    "decode_thumbnail",
]

# Images with more pixels than this take a few tenths of a second or more to decode: they
# go through a reader that can stop midway. Smaller ones keep Qt's own file reader.
INTERRUPTIBLE_PIXELS = 16_000_000
_RGBA = QImage.Format.Format_RGBA8888


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
    return _decode_interruptibly(source, width, height, canceled)


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


def _decode_interruptibly(
    source: Path, width: int, height: int, canceled: Callable[[], bool]
) -> QImage:
    """Decode ``source`` with Pillow, whose reads raise JobCanceled once ``canceled()``.

    Not Qt's reader on a Python QIODevice: Qt picks an image plugin under one
    process-wide mutex and calls the device's (Python) methods while holding it, so a
    thread that waits for that mutex holding the GIL (any QImage or QPixmap load)
    deadlocks with it.
    """
    try:
        with (
            open(source, "rb") as stream,
            Image.open(interruptible_stream(stream, canceled)) as image,
        ):
            fitted = QSize(*oriented_size(image))
            box = fitted.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio)
            size = (box.width(), box.height())
            image.draft("RGB", size)  # JPEG: decode at 1/2..1/8 scale
            # Decodes the file only to rotate it; an upright one is decoded below.
            ImageOps.exif_transpose(image, in_place=True)
            color = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
            scaled = color.resize(size, Image.Resampling.BOX).convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageError(source, f"Pillow could not decode the image ({error})") from error
    # copy(): the QImage must own its pixels, not borrow the bytes object's.
    return QImage(scaled.tobytes(), *size, 4 * box.width(), _RGBA).copy()


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
