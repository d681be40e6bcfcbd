"""Where a thumbnail comes from: the best readable source file of an image record."""

from __future__ import annotations

from pathlib import Path

from workerkit.store import ImageRecord

__all__ = ["best_source_path"]


def best_source_path(record: ImageRecord) -> Path | None:
    """Return the file to read a thumbnail from, or None if it is gone."""
    return record.path if record.path.is_file() else None
