"""Open one image file, check it decodes completely, and describe it."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from PIL import ExifTags, Image, ImageOps

from workerkit import JobCanceled
from workerkit.imagelib.domain.hashing import dhash
from workerkit.imagelib.domain.scanner import display_path

__all__ = [
    "SUPPORTED_FORMATS",
    "ImageError",
    "ImageFacts",
    "interruptible_stream",
    "oriented_size",
    "probe_image",
]

# Pillow format ids we open; MPO is what Pillow calls a multi-picture (camera) JPEG.
SUPPORTED_FORMATS: frozenset[str] = frozenset({"BMP", "GIF", "JPEG", "MPO", "PNG", "TIFF", "WEBP"})

# Pillow's JPEG opener returns MPO files itself; MPO has no opener of its own to name.
_OPEN_FORMATS = tuple(sorted(SUPPORTED_FORMATS - {"MPO"}))
# JPEG draft decoding scales by 1/2, 1/4 or 1/8 while staying at least this size, which is
# plenty for a 9x8 hash and much faster than a full decode of a camera image.
_DRAFT_SIZE = (128, 128)
# EXIF orientations that rotate by 90 or 270 degrees, swapping width and height.
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# What Pillow raises for damaged data while identifying or decoding.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What registration needs to know about one image file."""

    width: int
    height: int
    format: str
    bytes: int
    mtime: float
    phash: str


class ImageError(Exception):
    """An image file cannot be read or decoded."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, reason)
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"Cannot read image '{display_path(self.path)}': {self.reason}. "
            "Fix or remove the file; it was skipped."
        )


def probe_image(path: Path, canceled: Callable[[], bool] | None = None) -> ImageFacts:
    """Decode ``path`` completely and return its oriented size, format, file facts and hash.

    With ``canceled``, the decode stops at its next read of the file once ``canceled()``
    turns true, raising JobCanceled.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            info = os.fstat(stream.fileno())
            if info.st_size == 0:
                raise ImageError(path, "the file is empty (0 bytes)")
            source = stream if canceled is None else interruptible_stream(stream, canceled)
            width, height, image_format, phash = _decode(path, source)
    except FileNotFoundError as exc:
        raise ImageError(path, "the file no longer exists (moved or deleted)") from exc
    except PermissionError as exc:
        raise ImageError(path, "permission denied") from exc
    except IsADirectoryError as exc:
        raise ImageError(path, "it is a directory, not a file") from exc
    return ImageFacts(
        width=width,
        height=height,
        format=image_format,
        bytes=info.st_size,
        mtime=info.st_mtime,
        phash=phash,
    )


def _decode(path: Path, stream: BinaryIO) -> tuple[int, int, str, str]:
    """Return oriented width, height, format and hash of the image in ``stream``."""
    try:
        with Image.open(stream, formats=_OPEN_FORMATS) as image:
            _check_pixel_limit(path, image.size)
            width, height = oriented_size(image)
            image_format = image.format or "unknown"
            if image_format in {"JPEG", "MPO"}:
                image.draft(None, _DRAFT_SIZE)
            image.load()
            return width, height, image_format, dhash(ImageOps.exif_transpose(image))
    except Image.UnidentifiedImageError as exc:
        supported = ", ".join(sorted(SUPPORTED_FORMATS))
        raise ImageError(path, f"it is not an image in a supported format ({supported})") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, _pixel_limit_reason()) from exc
    except _DECODE_ERRORS as exc:
        raise ImageError(path, f"the image data is truncated or corrupt ({exc})") from exc


def interruptible_stream(stream: BinaryIO, canceled: Callable[[], bool]) -> BinaryIO:
    """Return ``stream`` for Pillow, its reads raising JobCanceled once ``canceled()``."""
    # Pillow needs only read, seek and tell of its file, which _Interruptible has.
    return cast(BinaryIO, _Interruptible(stream, canceled))


class _Interruptible:
    """A binary file whose reads raise JobCanceled once ``canceled()`` is true.

    Pillow decodes by reading its file in blocks of up to 64 KB, so a cancel stops a
    decode within one block instead of after the whole image.
    """

    def __init__(self, stream: BinaryIO, canceled: Callable[[], bool]) -> None:
        self._stream = stream
        self._canceled = canceled

    def read(self, size: int = -1) -> bytes:
        """Return the next bytes, unless the decode was canceled."""
        if self._canceled():
            raise JobCanceled
        return self._stream.read(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _check_pixel_limit(path: Path, size: tuple[int, int]) -> None:
    """Raise ImageError when ``size`` exceeds Pillow's decompression-bomb limit."""
    # Pillow only warns between one and two times the limit; we refuse without touching the
    # process-wide warning filters, which are not thread-safe.
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise ImageError(path, _pixel_limit_reason())


def _pixel_limit_reason() -> str:
    """Return the reason text for an image larger than Pillow's pixel limit."""
    return (
        f"it exceeds Pillow's pixel limit of {Image.MAX_IMAGE_PIXELS} pixels "
        "(raise PIL.Image.MAX_IMAGE_PIXELS only for files you trust)"
    )


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """Return the full-resolution size of ``image`` after its EXIF orientation is applied."""
    width, height = image.size
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    return (height, width) if orientation in _SWAPPING_ORIENTATIONS else (width, height)
